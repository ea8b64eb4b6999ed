"""The exact partial-coherence model (explicit averaging over focal spread and beam convergence)
and the linear (TCC) imaging model of ``jaxem.optics.imaging``, against independent numpy
references: lab-frame tilted-illumination images, dense 2-D tilt integrals, and the analytic
linear image of a weak phase object."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem import physics
from jaxem.grid import Grid
from jaxem.optics import Aberrations, ctf, image_intensity, tilt_nodes
from jaxem.optics.aberrations import chi, chi_cartesian
from jaxem.propagate import waves_from_array

E = 300e3
LAM = physics.wavelength(E)


def _img(arr, grid, ab=None, **kw):
    """The pure image of an exit-wave array on ``grid``."""
    return image_intensity(waves_from_array(arr, grid, E), ab, **kw)


def _phase(rng, grid, kmax=1.8):
    ny, nx = grid.gpts
    k = np.hypot(np.fft.fftfreq(ny, grid.sampling[0])[:, None], np.fft.fftfreq(nx, grid.sampling[1])[None])
    spec = (rng.normal(size=(ny, nx)) + 1j * rng.normal(size=(ny, nx))) * (k < kmax)
    phi = np.fft.ifft2(spec).real
    return phi / np.abs(phi).max()


def _chi_np(ay, ax, defocus, cs):
    """χ(α) [rad] for defocus and Cs at angles α [rad] (Kirkland eq. 3.42, written independently)."""
    a2 = ay**2 + ax**2
    return np.pi / LAM * (0.5 * cs * a2**2 - defocus * a2)


def _freqs(grid):
    return np.fft.fftfreq(grid.gpts[0], grid.sampling[0])[:, None], np.fft.fftfreq(grid.gpts[1], grid.sampling[1])[None]


def test_chi_cartesian_equals_polar_chi(rng):
    ab = Aberrations.create(defocus=50.0, Cs=1e4, C12=30, phi12=0.3, C21=500, phi21=1.1, C23=200, phi23=-0.4,
                            C32=1e3, phi32=0.2, C34=2e3, phi34=0.7, C41=1e4, phi41=0.1, C43=3e4, phi43=0.5,
                            C45=1e4, phi45=0.9, C50=1e6, C52=1e5, phi52=0.3, C54=2e5, phi54=0.1, C56=3e5, phi56=0.2)
    ay, ax = 0.02 * rng.normal(size=(2, 200))
    np.testing.assert_allclose(chi_cartesian(ab, ay, ax, LAM), chi(ab, np.hypot(ay, ax), np.arctan2(ay, ax), LAM),
                               rtol=1e-12, atol=1e-10)
    # finite gradient at α = 0 (the polar form has arctan2 there)
    g = jax.grad(lambda t: chi_cartesian(ab, t * 0.3, t * 0.7, LAM))(0.0)
    assert np.isfinite(g)


def test_tilt_nodes_integrate_gaussian_moments():
    u, w = tilt_nodes(4)
    assert u.shape == (16, 2) and np.sum(w) == 1.0
    # p(β) ∝ exp(−|β|²/θ²): <β_x²> = θ²/2, <β_x⁴> = 3θ⁴/4, <β_x² β_y²> = θ⁴/4 (θ = 1)
    assert np.sum(w * u[:, 1] ** 2) == pytest.approx(0.5, rel=1e-12)
    assert np.sum(w * u[:, 1] ** 4) == pytest.approx(0.75, rel=1e-12)
    assert np.sum(w * u[:, 0] ** 2 * u[:, 1] ** 2) == pytest.approx(0.25, rel=1e-12)
    assert np.allclose(tilt_nodes(3)[0][4], 0.0)
    with pytest.raises(ValueError, match="n_tilt"):
        tilt_nodes(0)


def test_explicit_without_spread_is_the_coherent_image(rng):
    g = Grid((32, 32), (0.1, 0.1))
    wave = jnp.asarray(np.exp(1j * 1.2 * _phase(rng, g)))
    ab = Aberrations.create(defocus=200.0, Cs=5e5, C12=20.0, phi12=0.2)
    kw = dict(objective_aperture=25.0)
    coh = _img(wave, g, ab, method="coherent", **kw)
    np.testing.assert_allclose(_img(wave, g, ab, method="explicit", n_tilt=3, n_focal=3, **kw), coh,
                               atol=1e-12)
    # with focal spread but no convergence: the Gauss–Hermite focal average, node for node
    fa = _img(wave, g, ab, method="focal_average", focal_spread=30.0, n_focal=7, **kw)
    np.testing.assert_allclose(_img(wave, g, ab, method="explicit", focal_spread=30.0, n_focal=7, **kw), fa,
                               atol=1e-12)


def test_explicit_equals_lab_frame_tilted_illumination(rng):
    """n_tilt = 2 puts the four tilts at θ(±1, ±1)/√2; θ is chosen so they fall on grid frequencies.
    Reference: the tilted object ψ(r)·exp(2πi K·r) imaged by the untilted lens (numpy)."""
    g = Grid((32, 32), (0.1, 0.1))
    dk = 1 / 3.2
    theta = np.sqrt(2) * LAM * dk  # [rad]: each tilt component = λ·dk
    wave = np.exp(1j * 0.9 * _phase(rng, g)) * (1 - 0.3 * np.abs(_phase(rng, g)))
    defocus, cs = 150.0, 2e5
    ky, kx = _freqs(g)
    wave = np.fft.ifft2(np.fft.fft2(wave) * (np.hypot(ky, kx) < 4.0))  # no wrap-around when shifted by K
    y, x = np.meshgrid(np.arange(32) * 0.1, np.arange(32) * 0.1, indexing="ij")
    ref = 0.0
    for sy in (-1, 1):
        for sx in (-1, 1):
            lab = wave * np.exp(2j * np.pi * dk * (sy * y + sx * x))
            ref = ref + 0.25 * np.abs(np.fft.ifft2(np.fft.fft2(lab) * np.exp(-1j * _chi_np(LAM * ky, LAM * kx,
                                                                                           defocus, cs)))) ** 2
    got = _img(jnp.asarray(wave), g, Aberrations.create(defocus=defocus, Cs=cs), source_angle=1e3 * theta,
                      method="explicit", n_tilt=2, n_focal=1)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-11)
    # and with one exit wave per tilt node (here all equal) the result is the same
    per = _img(jnp.asarray(np.stack([wave] * 4)), g, Aberrations.create(defocus=defocus, Cs=cs),
                      source_angle=1e3 * theta, method="explicit", n_tilt=2, n_focal=1, tilted_exit_waves=True)
    np.testing.assert_allclose(per, got, atol=1e-12)


def test_explicit_converges_to_dense_tilt_integral(rng):
    """Strong object: Gauss–Hermite tilt average vs a dense 2-D trapezoid over p(β) ∝ exp(−|β|²/θ²)."""
    g = Grid((32, 32), (0.1, 0.1))
    wave = np.exp(1j * 1.5 * _phase(rng, g)) * (1 - 0.2 * np.abs(_phase(rng, g)))
    defocus, cs, theta = 300.0, -1.5e5, 0.5e-3  # θ = 0.5 mrad (1/e)
    ky, kx = _freqs(g)
    psi = np.fft.fft2(wave) * (np.hypot(ky, kx) < 1.5)  # band-limited (plays the objective aperture)
    wave = np.fft.ifft2(psi)
    b = np.linspace(-4.5 * theta, 4.5 * theta, 91)
    db = b[1] - b[0]
    ref = 0.0
    for by in b:
        for bx in b:
            p = np.exp(-(by**2 + bx**2) / theta**2) / (np.pi * theta**2) * db * db
            if p < 1e-14:
                continue
            x = _chi_np(LAM * ky + by, LAM * kx + bx, defocus, cs) - _chi_np(by, bx, defocus, cs)
            ref = ref + p * np.abs(np.fft.ifft2(psi * np.exp(-1j * x))) ** 2
    ab = Aberrations.create(defocus=defocus, Cs=cs)
    errs = []
    for n in (2, 3, 5, 8):
        got = np.asarray(_img(jnp.asarray(wave), g, ab, source_angle=1e3 * theta,
                                     method="explicit", n_tilt=n, n_focal=1))
        errs.append(np.linalg.norm(got - ref) / np.linalg.norm(ref - ref.mean()))
    print("explicit vs dense tilt integral, n_tilt = 2, 3, 5, 8:", errs)
    assert errs[-1] < 1e-4 and errs[0] > errs[1] > errs[2] > errs[3]


def test_explicit_converges_to_envelope_for_weak_object_and_small_convergence(rng):
    g = Grid((64, 64), (0.1, 0.1))
    wave = jnp.asarray(np.exp(1j * 1e-3 * _phase(rng, g)))
    ab = Aberrations.create(defocus=-300.0, Cs=-1.5e5)
    diffs = []
    for theta in (0.8, 0.4, 0.2, 0.1):
        kw = dict(objective_aperture=30.0, source_angle=theta)
        env = np.asarray(_img(wave, g, ab, method="envelope", **kw))
        ex = np.asarray(_img(wave, g, ab, method="explicit", n_tilt=7, n_focal=1, **kw))
        diffs.append(np.linalg.norm(env - ex) / np.linalg.norm(ex - 1))
    print("envelope vs explicit (weak object), θ = 0.8, 0.4, 0.2, 0.1 mrad:", diffs)
    assert diffs[-1] < 1e-3 and diffs[1] > diffs[2] > diffs[3] and diffs[0] > 0.03


def test_linear_image_of_weak_phase_object_is_analytic(rng):
    """ψ = 1 + iεφ (mean-free real φ): the linear image is exactly 1 + F⁻¹[2εΦ A sin χ E_t E_s] for any ε."""
    g = Grid((64, 64), (0.1, 0.1))
    phi = _phase(rng, g)
    phi = phi - phi.mean()
    eps = 0.3
    ky, kx = _freqs(g)
    defocus, cs, spread, theta = 420.0, 1.0e7, 25.0, 0.2
    x = _chi_np(LAM * ky, LAM * kx, defocus, cs)
    k2 = ky**2 + kx**2
    e_t = np.exp(-0.5 * (np.pi * LAM * spread * k2) ** 2)
    grad = 2 * np.pi / LAM * (-defocus * LAM * np.sqrt(k2) + cs * (LAM * np.sqrt(k2)) ** 3)
    e_s = np.exp(-0.25 * (theta * 1e-3) ** 2 * grad**2)
    aperture = (LAM * np.sqrt(k2) <= 0.025)
    ref = 1 + np.fft.ifft2(2 * eps * np.fft.fft2(phi) * aperture * np.sin(x) * e_t * e_s).real
    img = _img(jnp.asarray(1 + 1j * eps * phi), g, Aberrations.create(defocus=defocus, Cs=cs),
                      objective_aperture=25.0, focal_spread=spread, source_angle=theta, method="linear")
    np.testing.assert_allclose(img, ref, atol=1e-10)


def test_linear_plus_nonlinear_term_is_envelope_and_departs_for_strong_objects(rng):
    g = Grid((64, 64), (0.1, 0.1))
    phi = _phase(rng, g)
    ab = Aberrations.create(defocus=-300.0, Cs=-1.5e5)
    kw = dict(objective_aperture=30.0, focal_spread=30.0, source_angle=0.2)
    rel = {}
    for eps in (0.04, 0.02, 0.01, 1.5):
        wave = jnp.asarray(np.exp(1j * eps * phi))
        lin = np.asarray(_img(wave, g, ab, method="linear", **kw))
        env = np.asarray(_img(wave, g, ab, method="envelope", **kw))
        ex = np.asarray(_img(wave, g, ab, method="explicit", n_tilt=4, n_focal=12, **kw))
        rel[eps] = (np.linalg.norm(lin - env) / np.linalg.norm(env - env.mean()),
                    np.linalg.norm(lin - ex) / np.linalg.norm(ex - ex.mean()))
        # the difference to the quasi-coherent image is exactly the scattered-beam self-interference
        h = np.asarray(ctf(g, E, ab, 30.0, 30.0, 0.2, precision="float64"))
        wk = np.fft.fft2(np.asarray(wave))
        wk[0, 0] = 0
        np.testing.assert_allclose(lin + np.abs(np.fft.ifft2(wk * h)) ** 2, env, atol=1e-12)
    print("linear vs envelope / vs explicit, relative to the image contrast:", rel)
    # first order: halving the phase halves the relative difference; strong objects depart
    assert rel[0.01][0] < 0.01 and 0.4 < rel[0.01][0] / rel[0.02][0] < 0.6
    assert rel[0.01][1] < 0.02
    assert rel[1.5][1] > 0.2


def test_explicit_gradients_float64(rng):
    g = Grid((12, 12), (0.2, 0.2))
    wave = jnp.asarray(np.exp(1j * 0.8 * _phase(rng, g, kmax=1.5)))
    target = _img(wave, g, Aberrations.create(defocus=100.0, Cs=5e5), focal_spread=20.0, source_angle=0.3)

    def loss(defocus, spread, theta):
        img = _img(wave, g, Aberrations.create(defocus=defocus, Cs=5e5), objective_aperture=40.0,
                          focal_spread=spread, source_angle=theta, method="explicit", n_tilt=3, n_focal=3)
        return jnp.sum((img - target) ** 2)

    check_grads(jax.jit(loss), (jnp.float64(120.0), jnp.float64(25.0), jnp.float64(0.4)), order=1,
                modes=["fwd", "rev"], eps=1e-4)
    # at zero convergence (all tilt nodes at 0) the gradient is finite
    assert np.isfinite(float(jax.grad(loss, argnums=2)(120.0, 25.0, 0.0)))


def test_bad_explicit_input():
    w = np.ones((16, 16), np.complex64)
    g = Grid((16, 16), (0.2, 0.2))
    with pytest.raises(ValueError, match="n_tilt"):
        _img(w, g, method="explicit", n_tilt=0)
    with pytest.raises(ValueError, match="tilted_exit_waves=True needs"):
        _img(np.ones((9, 16, 16)), g, method="envelope", tilted_exit_waves=True)
    with pytest.raises(ValueError, match=r"n_tilt² = 9"):
        _img(np.ones((4, 16, 16)), g, method="explicit", n_tilt=3, tilted_exit_waves=True)
