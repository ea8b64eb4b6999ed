import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from jaxem import physics
from jaxem.grid import Grid
from jaxem.optics import Aberrations, Aperture, DetectorMTF, blur_intensity, hrtem_image

E = 300e3
LAM = physics.wavelength(E)
GRID = Grid((64, 64), (0.1, 0.1))


def _phase(rng, grid=GRID, kmax=1.8):
    """A real, band-limited random phase map of unit maximum."""
    ny, nx = grid.gpts
    k = np.hypot(np.fft.fftfreq(ny, grid.sampling[0])[:, None], np.fft.fftfreq(nx, grid.sampling[1])[None])
    spec = (rng.normal(size=(ny, nx)) + 1j * rng.normal(size=(ny, nx))) * (k < kmax)
    phi = np.fft.ifft2(spec).real
    return phi / np.abs(phi).max()


def _chi_np(ky, kx, defocus, cs, c12=0.0, phi12=0.0):
    """χ written independently (Kirkland eq. 3.42 plus two-fold astigmatism)."""
    k2 = ky**2 + kx**2
    return np.pi * LAM * k2 * (0.5 * cs * LAM**2 * k2 - defocus + c12 * np.cos(2 * (np.arctan2(ky, kx) - phi12)))


@pytest.mark.parametrize("method", ["coherent", "envelope", "focal_average", "linear", "explicit"])
@pytest.mark.parametrize("dtype", [jnp.complex64, jnp.complex128])
def test_vacuum_gives_exactly_one(method, dtype):
    g = Grid((48, 40), (0.1, 0.13))
    ab = Aberrations.create(defocus=100.0, Cs=1e4, C12=30.0, C21=500.0)
    img = hrtem_image(jnp.ones((2, 48, 40), dtype), g, E, ab, objective_aperture=Aperture.create(20.0, 2.0),
                      focal_spread=30.0, source_angle=0.3, image_spread=(0.3, 0.2), mtf=DetectorMTF.create(),
                      method=method, n_focal=9)
    assert img.shape == (2, 48, 40)
    assert img.dtype == (jnp.float64 if dtype == jnp.complex128 else jnp.float32)
    assert np.all(np.asarray(img) == 1.0)


def test_weak_phase_object_pctf(rng):
    """Weak phase object ψ = exp(iεφ): image spectrum = 2ε Φ(k) A sin χ(k) · envelopes (to O(ε²))."""
    eps = 1e-5
    phi = _phase(rng)
    wave = jnp.asarray(np.exp(1j * eps * phi))
    ky = np.fft.fftfreq(64, 0.1)[:, None]
    kx = np.fft.fftfreq(64, 0.1)[None]
    defocus, cs, c12, phi12 = 420.0, 1.0e7, 15.0, 0.4
    ab = Aberrations.create(defocus=defocus, Cs=cs, C12=c12, phi12=phi12)
    x = _chi_np(ky, kx, defocus, cs, c12, phi12)
    aperture = (LAM * np.hypot(ky, kx) <= 0.025).astype(float)
    big_phi = np.fft.fft2(phi)
    spread, theta = 25.0, 0.2
    k2 = ky**2 + kx**2
    e_t = np.exp(-0.5 * (np.pi * LAM * spread * k2) ** 2)
    # ∇_α χ for defocus + Cs + astigmatism (α = λk), written out by hand
    ay, ax = LAM * ky, LAM * kx
    a2 = ay**2 + ax**2
    gx = 2 * np.pi / LAM * (-defocus * ax + cs * a2 * ax + c12 * (ax * np.cos(2 * phi12) + ay * np.sin(2 * phi12)))
    gy = 2 * np.pi / LAM * (-defocus * ay + cs * a2 * ay + c12 * (ax * np.sin(2 * phi12) - ay * np.cos(2 * phi12)))
    e_s = np.exp(-0.25 * (theta * 1e-3) ** 2 * (gx**2 + gy**2))
    cases = [("coherent", dict(), 1.0), ("envelope", dict(focal_spread=spread, source_angle=theta), e_t * e_s),
             ("focal_average", dict(focal_spread=spread, n_focal=40), e_t)]
    for method, kw, env in cases:
        img = np.asarray(hrtem_image(wave, GRID, E, ab, objective_aperture=25.0, method=method, **kw))
        spec = np.fft.fft2(img - 1.0)
        ref = 2 * eps * big_phi * aperture * np.sin(x) * env
        err = np.linalg.norm(spec - ref) / np.linalg.norm(ref)
        print(method, "relative error of the linear image spectrum", err)
        assert err < 2e-5, (method, err)  # the neglected terms are O(ε) relative


def _coherent_np(wave, defocus, cs, aperture):
    psi = np.fft.fft2(wave)
    ky = np.fft.fftfreq(wave.shape[-2], GRID.sampling[0])[:, None]
    kx = np.fft.fftfreq(wave.shape[-1], GRID.sampling[1])[None]
    return np.abs(np.fft.ifft2(psi * aperture * np.exp(-1j * _chi_np(ky, kx, defocus, cs)))) ** 2


def test_focal_average_vs_dense_trapezoid(rng):
    """Gauss–Hermite focal average vs a dense trapezoid average of coherent images (numpy) for a
    strong phase-and-amplitude object."""
    g = Grid((32, 32), (0.1, 0.1))
    ky = np.fft.fftfreq(32, 0.1)[:, None]
    kx = np.fft.fftfreq(32, 0.1)[None]
    aperture = (LAM * np.hypot(ky, kx) <= 0.025).astype(float)
    wave = np.exp(1j * 1.2 * _phase(rng, g)) * (1 - 0.2 * np.abs(_phase(rng, g)))
    defocus, cs, spread = 300.0, 1.0e7, 40.0
    d = np.linspace(-9 * spread, 9 * spread, 1801)
    p = np.exp(-0.5 * (d / spread) ** 2) / (np.sqrt(2 * np.pi) * spread)
    psi = np.fft.fft2(wave)
    chis = _chi_np(ky[None], kx[None], defocus + d[:, None, None], cs)
    stack = np.abs(np.fft.ifft2(psi[None] * aperture[None] * np.exp(-1j * chis))) ** 2
    ref = np.trapezoid(p[:, None, None] * stack, d, axis=0)
    got = hrtem_image(jnp.asarray(wave), g, E, Aberrations.create(defocus=defocus, Cs=cs), objective_aperture=25.0,
                      focal_spread=spread, method="focal_average")  # default n_focal = 16
    assert got.dtype == jnp.float64
    assert np.allclose(got, ref, rtol=1e-5, atol=1e-5 * ref.max())
    # and the coherent image is the same independent formula
    coh = hrtem_image(jnp.asarray(wave), g, E, Aberrations.create(defocus=defocus, Cs=cs), objective_aperture=25.0,
                      method="coherent")
    assert np.allclose(coh, _coherent_np(wave, defocus, cs, aperture), atol=1e-12)


def test_envelope_equals_focal_average_to_first_order(rng):
    phi = _phase(rng)
    ab = Aberrations.create(defocus=-300.0, Cs=-1.5e5)
    diffs = []
    for eps in (0.04, 0.02, 0.01):
        wave = jnp.asarray(np.exp(1j * eps * phi))
        kw = dict(objective_aperture=30.0, focal_spread=40.0)
        env = np.asarray(hrtem_image(wave, GRID, E, ab, method="envelope", **kw))
        avg = np.asarray(hrtem_image(wave, GRID, E, ab, method="focal_average", n_focal=24, **kw))
        diffs.append(np.linalg.norm(env - avg) / np.linalg.norm(avg - 1))
    print("envelope vs focal_average, relative difference for ε = 0.04, 0.02, 0.01:", diffs)
    assert diffs[0] < 0.05
    # the relative difference is O(ε): halving ε halves it
    assert 0.4 < diffs[1] / diffs[0] < 0.6 and 0.4 < diffs[2] / diffs[1] < 0.6


@given(st.sampled_from(["coherent", "envelope", "focal_average", "explicit"]), st.floats(-500.0, 500.0),
       st.floats(0.0, 60.0), st.floats(0.0, 0.5), st.sampled_from([None, 0.25, (0.3, 0.5)]), st.integers(0, 2**31))
def test_image_non_negative(method, defocus, spread, theta, image_spread, seed):
    r = np.random.default_rng(seed)
    g = Grid((24, 24), (0.1, 0.1))
    wave = jnp.asarray(r.normal(size=(24, 24)) + 1j * r.normal(size=(24, 24)))
    img = hrtem_image(wave, g, E, Aberrations.create(defocus=defocus, Cs=1e6), objective_aperture=30.0,
                      focal_spread=spread, source_angle=theta, image_spread=image_spread, method=method, n_focal=5)
    assert float(img.min()) >= -1e-8 * float(img.max())


def test_blur_and_mtf_act_on_intensity(rng):
    wave = jnp.asarray(np.exp(1j * 0.5 * _phase(rng)))
    ab = Aberrations.create(defocus=200.0, Cs=1e6)
    mtf = DetectorMTF.create(b=0.4, c=0.05, d=2.5)
    plain = hrtem_image(wave, GRID, E, ab, objective_aperture=25.0, focal_spread=20.0)
    blurred = hrtem_image(wave, GRID, E, ab, objective_aperture=25.0, focal_spread=20.0, image_spread=0.3, mtf=mtf)
    assert np.allclose(blurred, blur_intensity(plain, GRID, 0.3, mtf), atol=1e-12)
    assert float(blurred.std()) < float(plain.std())


def test_batch_and_precision(rng):
    waves = np.stack([np.exp(1j * 0.3 * _phase(rng)) for _ in range(3)])
    ab = Aberrations.create(defocus=100.0, Cs=1e6)
    batch = hrtem_image(jnp.asarray(waves), GRID, E, ab, focal_spread=20.0, method="focal_average", n_focal=6,
                        budget=3 * 4 * 64 * 64 * 16)  # forces batches of 3 nodes
    for i in range(3):
        one = hrtem_image(jnp.asarray(waves[i]), GRID, E, ab, focal_spread=20.0, method="focal_average", n_focal=6)
        assert np.allclose(batch[i], one, atol=1e-12)
    f32 = hrtem_image(jnp.asarray(waves), GRID, E, ab, focal_spread=20.0, precision="float32")
    assert f32.dtype == jnp.float32
    assert np.allclose(f32, hrtem_image(jnp.asarray(waves), GRID, E, ab, focal_spread=20.0), atol=2e-5)


def test_gradients_float64(rng):
    g = Grid((16, 16), (0.15, 0.15))
    wave = jnp.asarray(np.exp(1j * 0.8 * _phase(rng, g)))
    target = hrtem_image(wave, g, E, Aberrations.create(defocus=150.0, Cs=5e5), objective_aperture=25.0,
                         focal_spread=25.0, source_angle=0.2)

    def loss(ab, spread, method):
        img = hrtem_image(wave, g, E, ab, objective_aperture=Aperture(25.0, 2.0), focal_spread=spread,
                          source_angle=0.2, image_spread=0.2, method=method, n_focal=5)
        return jnp.sum((img - target) ** 2)

    ab = jax.tree.map(jnp.float64, Aberrations.create(defocus=120.0, Cs=6e5, C12=10.0, phi12=0.3))
    for method in ("envelope", "focal_average"):
        f = jax.jit(lambda a, s, m=method: loss(a, s, m))
        check_grads(f, (ab, jnp.float64(30.0)), order=1, modes=["rev"], eps=1e-4)
    # defocus through the Aberrations.create alias
    f = jax.jit(lambda d: loss(Aberrations.create(defocus=d, Cs=6e5), 30.0, "focal_average"))
    check_grads(f, (jnp.float64(120.0),), order=1, modes=["fwd"], eps=1e-3)


def test_jit_with_static_arguments(rng):
    wave = jnp.asarray(np.exp(1j * 0.3 * _phase(rng)))
    f = jax.jit(hrtem_image, static_argnames=("grid", "energy", "method", "n_focal"))
    ab = Aberrations.create(defocus=100.0, Cs=1e6)
    kw = dict(grid=GRID, energy=E, objective_aperture=20.0, focal_spread=20.0, method="focal_average", n_focal=4)
    assert np.allclose(f(wave, aberrations=ab, **kw), hrtem_image(wave, aberrations=ab, **kw), atol=1e-12)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(energy=0.0), ValueError, "energy must be finite and > 0"),
    (dict(exit_wave=np.ones((32, 64))), ValueError, r"exit_wave must have shape \(..., ny, nx\)"),
    (dict(exit_wave=np.ones(64)), ValueError, "exit_wave must have shape"),
    (dict(exit_wave=np.full((64, 64), np.nan)), ValueError, "exit_wave must be finite"),
    (dict(exit_wave=np.ones((64, 64), bool)), TypeError, "exit_wave must be a complex"),
    (dict(focal_spread=-5.0), ValueError, "focal_spread must be ≥ 0"),
    (dict(source_angle=-0.1), ValueError, "source_angle must be ≥ 0"),
    (dict(image_spread=-0.1), ValueError, "image_spread must be ≥ 0"),
    (dict(image_spread=(0.1, 0.2, 0.3)), ValueError, "image_spread must be"),
    (dict(objective_aperture=0.0), ValueError, "objective_aperture"),
    (dict(method="partial"), ValueError, "method must be one of"),
    (dict(n_focal=0), ValueError, "n_focal must be an integer ≥ 1"),
    (dict(mtf="K2"), TypeError, "mtf must be"),
    (dict(aberrations=Aberrations(C10=float("inf"))), ValueError, "C10 must be finite"),
])
def test_bad_input(kwargs, exc, match):
    args = dict(exit_wave=np.ones((64, 64), np.complex64), grid=GRID, energy=E)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        hrtem_image(**args)
