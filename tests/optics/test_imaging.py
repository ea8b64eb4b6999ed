import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from jaxem import Beam, physics
from jaxem.accel import PRECISION_ALIASES, resolve_precision
from jaxem.grid import Grid
from jaxem.measurement import Measurement
from jaxem.optics import Aberrations, Aperture, DetectorMTF, blur_intensity, hrtem_image, image_intensity
from jaxem.propagate import Waves, waves_from_array

E = 300e3
LAM = physics.wavelength(E)
GRID = Grid((64, 64), (0.1, 0.1))


def _img(arr, grid, ab=None, beam=E, **kw):
    """The pure image of an exit-wave array on ``grid``."""
    return image_intensity(waves_from_array(arr, grid, beam), ab, **kw)


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
    img = _img(jnp.ones((2, 48, 40), dtype), g, ab, objective_aperture=Aperture.create(20.0, 2.0),
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
        img = np.asarray(_img(wave, GRID, ab, objective_aperture=25.0, method=method, **kw))
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
    got = _img(jnp.asarray(wave), g, Aberrations.create(defocus=defocus, Cs=cs), objective_aperture=25.0,
                      focal_spread=spread, method="focal_average")  # default n_focal = 16
    assert got.dtype == jnp.float64
    assert np.allclose(got, ref, rtol=1e-5, atol=1e-5 * ref.max())
    # and the coherent image is the same independent formula
    coh = _img(jnp.asarray(wave), g, Aberrations.create(defocus=defocus, Cs=cs), objective_aperture=25.0,
                      method="coherent")
    assert np.allclose(coh, _coherent_np(wave, defocus, cs, aperture), atol=1e-12)


def test_envelope_equals_focal_average_to_first_order(rng):
    phi = _phase(rng)
    ab = Aberrations.create(defocus=-300.0, Cs=-1.5e5)
    diffs = []
    for eps in (0.04, 0.02, 0.01):
        wave = jnp.asarray(np.exp(1j * eps * phi))
        kw = dict(objective_aperture=30.0, focal_spread=40.0)
        env = np.asarray(_img(wave, GRID, ab, method="envelope", **kw))
        avg = np.asarray(_img(wave, GRID, ab, method="focal_average", n_focal=24, **kw))
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
    img = _img(wave, g, Aberrations.create(defocus=defocus, Cs=1e6), objective_aperture=30.0,
                      focal_spread=spread, source_angle=theta, image_spread=image_spread, method=method, n_focal=5)
    assert float(img.min()) >= -1e-8 * float(img.max())


def test_blur_and_mtf_act_on_intensity(rng):
    wave = jnp.asarray(np.exp(1j * 0.5 * _phase(rng)))
    ab = Aberrations.create(defocus=200.0, Cs=1e6)
    mtf = DetectorMTF.create(b=0.4, c=0.05, d=2.5)
    plain = _img(wave, GRID, ab, objective_aperture=25.0, focal_spread=20.0)
    blurred = _img(wave, GRID, ab, objective_aperture=25.0, focal_spread=20.0, image_spread=0.3, mtf=mtf)
    assert np.allclose(blurred, blur_intensity(plain, GRID, 0.3, mtf), atol=1e-12)
    assert float(blurred.std()) < float(plain.std())


def test_batch_and_precision(rng):
    waves = np.stack([np.exp(1j * 0.3 * _phase(rng)) for _ in range(3)])
    ab = Aberrations.create(defocus=100.0, Cs=1e6)
    batch = _img(jnp.asarray(waves), GRID, ab, focal_spread=20.0, method="focal_average", n_focal=6,
                        memory_budget=3 * 4 * 64 * 64 * 16)  # forces batches of 3 nodes
    for i in range(3):
        one = _img(jnp.asarray(waves[i]), GRID, ab, focal_spread=20.0, method="focal_average", n_focal=6)
        assert np.allclose(batch[i], one, atol=1e-12)
    f32 = _img(jnp.asarray(waves), GRID, ab, focal_spread=20.0, precision="float32")
    assert f32.dtype == jnp.float32
    assert np.allclose(f32, _img(jnp.asarray(waves), GRID, ab, focal_spread=20.0), atol=2e-5)


def test_gradients_float64(rng):
    g = Grid((16, 16), (0.15, 0.15))
    wave = jnp.asarray(np.exp(1j * 0.8 * _phase(rng, g)))
    target = _img(wave, g, Aberrations.create(defocus=150.0, Cs=5e5), objective_aperture=25.0,
                         focal_spread=25.0, source_angle=0.2)

    def loss(ab, spread, method):
        img = _img(wave, g, ab, objective_aperture=Aperture(25.0, 2.0), focal_spread=spread,
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
    waves = waves_from_array(jnp.asarray(np.exp(1j * 0.3 * _phase(rng))), GRID, E)
    f = jax.jit(image_intensity, static_argnames=("method", "n_focal"))
    ab = Aberrations(C10=-100.0, C30=1e6)
    kw = dict(objective_aperture=20.0, focal_spread=20.0, method="focal_average", n_focal=4)
    assert np.allclose(f(waves, ab, **kw), image_intensity(waves, ab, **kw), atol=1e-12)
    # the waves are a pytree: their array may be traced (e.g. an exit wave computed inside the jitted function)
    g = jax.jit(lambda a: image_intensity(Waves(a, GRID, Beam(E), 1.0), ab, **kw))
    assert np.allclose(g(waves.array), image_intensity(waves, ab, **kw), atol=1e-12)


@pytest.mark.parametrize("precision", PRECISION_ALIASES)
def test_image_intensity_honours_every_precision_alias(precision):
    waves = waves_from_array(np.ones((8, 8), np.complex64), Grid((8, 8), (0.2, 0.2)), E)
    img = image_intensity(waves, Aberrations(C10=-20.0), focal_spread=10.0, n_focal=2, precision=precision)
    assert img.dtype == (jnp.float64 if resolve_precision(precision) == "float64" else jnp.float32)


def test_hrtem_image_is_a_measurement_with_units(rng):
    waves = waves_from_array(np.exp(1j * 0.3 * _phase(rng))[None], GRID, Beam("300 kV"))
    ab = Aberrations(C10=-50.0, C30=-1e4)
    m = hrtem_image(waves, ab, focal_spread=30, objective_aperture=25, batch_axes=["defocus"])
    assert isinstance(m, Measurement) and m.shape == (1, 64, 64)
    assert [a.name for a in m.axes] == ["defocus", "y", "x"] and m.axes[-1].units == "Å"
    assert m.axes[-1].sampling == pytest.approx(0.1)
    meta = m.metadata
    assert meta["beam"]["energy"] == {"value": 300e3, "units": "eV"}
    assert meta["aberrations"] == {"C10": {"value": -50.0, "units": "Å"}, "C30": {"value": -1e4, "units": "Å"}}
    assert meta["objective_aperture"]["semi_angle"] == {"value": 25.0, "units": "mrad"}
    assert meta["focal_spread"] == {"value": 30.0, "units": "Å"} and meta["method"] == "focal_average"
    np.testing.assert_allclose(m.array, image_intensity(waves, ab, focal_spread=30, objective_aperture=25))
    import json

    json.dumps(meta)  # every value serialisable
    with pytest.raises(TypeError, match="exit_wave must be jaxem Waves"):
        hrtem_image(np.ones((64, 64)), ab)


def test_focal_average_without_spread_is_the_coherent_image(rng):
    waves = waves_from_array(np.exp(1j * 0.7 * _phase(rng)), GRID, E)
    ab = Aberrations(C10=-80.0, C30=2e5)
    np.testing.assert_allclose(image_intensity(waves, ab, objective_aperture=25.0),
                               image_intensity(waves, ab, objective_aperture=25.0, method="coherent"), atol=1e-12)


def test_tilted_beam_evaluates_the_lens_at_k_plus_K(rng):
    """A beam tilted by one grid frequency K: the image of the tilted-frame exit wave equals the lab-frame
    wave ψ·exp(2πiK·r) imaged by the untilted lens (coherent, and each focal node)."""
    g = Grid((32, 32), (0.1, 0.1))
    dk = 1 / 3.2
    tilt = (0.0, 1e3 * LAM * dk)  # [mrad]
    wave = np.fft.ifft2(np.fft.fft2(np.exp(1j * 0.8 * _phase(rng, g))) * (np.hypot(*np.meshgrid(
        np.fft.fftfreq(32, 0.1), np.fft.fftfreq(32, 0.1), indexing="ij")) < 3.5))
    x = np.arange(32) * 0.1
    lab = wave * np.exp(2j * np.pi * dk * x)[None, :]
    ab = Aberrations(C10=-120.0, C30=3e5, C12=20.0, phi12=0.4)
    kw = dict(objective_aperture=Aperture(22.0, 1.0))
    for method, extra in (("coherent", {}), ("focal_average", dict(focal_spread=25.0, n_focal=6)),
                          ("explicit", dict(focal_spread=25.0, n_focal=6, n_tilt=1))):
        tilted = _img(wave, g, ab, beam=Beam(E, tilt=tilt), method=method, **kw, **extra)
        ref = _img(lab, g, ab, method=method if method != "explicit" else "focal_average", **kw,
                   **{k: v for k, v in extra.items() if k != "n_tilt"})
        np.testing.assert_allclose(tilted, ref, atol=1e-10)
    for method, extra in (("envelope", {}), ("linear", {}), ("focal_average", dict(source_angle=0.2))):
        with pytest.raises(ValueError, match=f"method='{method}'.* assumes an untilted beam"):
            _img(wave, g, ab, beam=Beam(E, tilt=tilt), method=method, **extra)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(focal_spread=-5.0), ValueError, "focal_spread must be ≥ 0"),
    (dict(focal_spread=float("nan")), ValueError, "focal_spread must be finite"),
    (dict(source_angle=-0.1), ValueError, "source_angle must be ≥ 0"),
    (dict(image_spread=-0.1), ValueError, "image_spread must be ≥ 0"),
    (dict(image_spread=(0.1, 0.2, 0.3)), ValueError, "image_spread must be"),
    (dict(objective_aperture=0.0), ValueError, "objective_aperture"),
    (dict(objective_aperture=1000.0), ValueError, "objective_aperture of 1000 mrad exceeds the limit"),
    (dict(objective_aperture=Aperture(50.0, 0.0, 60.0, 0.0)), ValueError, "objective_aperture of 110 mrad exceeds"),
    (dict(method="partial"), ValueError, "method must be one of"),
    (dict(method="focal_averag"), ValueError, "did you mean 'focal_average'"),
    (dict(n_focal=0), ValueError, r"n_focal \(Gauss–Hermite nodes\) must be in \[1, 256\], got 0"),
    (dict(mtf="K2"), TypeError, "mtf must be"),
    (dict(aberrations=Aberrations(C10=float("inf"))), ValueError, "aberration C10 must be finite"),
    (dict(aberrations={"C10": 1.0}), TypeError, "aberrations must be a jaxem.optics.Aberrations"),
    (dict(waves=np.ones((64, 64))), TypeError, "waves must be jaxem Waves"),
    (dict(waves=Waves(jnp.full((64, 64), jnp.nan, jnp.complex64), GRID, Beam(E), 1.0)), ValueError,
     r"waves.array holds 4096 NaN/inf value\(s\) \(first at index \(0, 0\)\)"),
])
def test_bad_input(kwargs, exc, match):
    args = dict(waves=waves_from_array(np.ones((64, 64), np.complex64), GRID, E))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        image_intensity(**args)


def test_hrtem_image_batch_axes_and_traced_waves_need_a_norm():
    waves = waves_from_array(np.ones((2, 64, 64), np.complex64), GRID, E)
    with pytest.raises(ValueError, match="batch_axes must name the 1 leading axes"):
        hrtem_image(waves, batch_axes=["a", "b"])
    with pytest.raises(ValueError, match="norm must be given for a traced array"):
        jax.jit(lambda a: waves_from_array(a, GRID, E).array)(jnp.ones((64, 64), jnp.complex64))
    out = jax.jit(lambda a: waves_from_array(a, GRID, E, norm=4096.0).array)(jnp.ones((64, 64), jnp.complex64))
    assert out.shape == (64, 64)
