import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem import Beam, physics
from jaxem.grid import Grid
from jaxem.optics import (Aberrations, Aperture, chi, chi_gradient, ctf, ctf_profile,
                          focal_spread_from_instabilities, spatial_envelope, temporal_envelope,
                          transfer_function)

E = 300e3
LAM = physics.wavelength(E)


def _f64(ab):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), ab)


def _random_aberrations(rng):
    vals = {}
    for name in Aberrations.__dataclass_fields__:
        if name.startswith("phi"):
            vals[name] = rng.uniform(0, 2 * np.pi)
        else:
            order = int(name[1])
            vals[name] = rng.normal() * 10.0 ** (order + 1)  # C1 ~ 1e2 Å … C5 ~ 1e6 Å
    return Aberrations.create(**vals)


def test_chi_gradient_vs_finite_differences(rng):
    ab = _f64(_random_aberrations(rng))
    ay = jnp.asarray(rng.uniform(-0.03, 0.03, 50))
    ax = jnp.asarray(rng.uniform(-0.03, 0.03, 50))

    def chi_xy(y, x):
        return np.asarray(chi(ab, jnp.hypot(y, x), jnp.arctan2(y, x), LAM))

    h = 1e-7
    fd_y = (chi_xy(ay + h, ax) - chi_xy(ay - h, ax)) / (2 * h)
    fd_x = (chi_xy(ay, ax + h) - chi_xy(ay, ax - h)) / (2 * h)
    gy, gx = chi_gradient(ab, ay, ax, LAM)
    scale = np.max(np.abs(np.concatenate([fd_y, fd_x])))
    assert np.allclose(gy, fd_y, atol=1e-6 * scale)
    assert np.allclose(gx, fd_x, atol=1e-6 * scale)
    # and at the optical axis the gradient is zero and finite
    g0 = chi_gradient(ab, jnp.zeros(1), jnp.zeros(1), LAM)
    assert np.allclose(g0, 0.0)


def test_chi_gradient_vs_autodiff(rng):
    ab = _f64(_random_aberrations(rng))
    pts = rng.uniform(-0.02, 0.02, (5, 2))
    f = lambda v: chi(ab, jnp.hypot(v[0], v[1]), jnp.arctan2(v[0], v[1]), LAM)
    for p in pts:
        auto = jax.grad(f)(jnp.asarray(p))
        gy, gx = chi_gradient(ab, p[0], p[1], LAM)
        assert np.allclose([gy, gx], auto, rtol=1e-10, atol=1e-8)


def _chi_round(k, defocus, cs):
    """Kirkland eq. 3.42 (independent of jaxem)."""
    return np.pi * LAM * k**2 * (0.5 * cs * LAM**2 * k**2 - defocus)


def test_temporal_envelope_vs_defocus_integration():
    """⟨exp(−iχ(k; Δf + δ))⟩ over δ ~ N(0, Δ²), by brute-force trapezoid integration."""
    defocus, cs, spread = 400.0, 1.2e7, 35.0
    k = np.linspace(0.0, 1.2, 25)
    d = np.linspace(-12 * spread, 12 * spread, 40001)
    p = np.exp(-0.5 * (d / spread) ** 2) / (np.sqrt(2 * np.pi) * spread)
    ref = np.trapezoid(p[None] * np.exp(-1j * _chi_round(k[:, None], defocus + d[None], cs)), d, axis=1)
    ab = Aberrations.create(defocus=defocus, Cs=cs)
    got = transfer_function(ab, jnp.zeros(25, jnp.float64), jnp.asarray(k), LAM, focal_spread=spread)
    assert got.dtype == jnp.complex128
    assert np.allclose(got, ref, atol=1e-9)
    assert np.allclose(temporal_envelope(jnp.asarray(k), LAM, spread), np.abs(ref), atol=1e-9)


def test_spatial_envelope_exact_for_quadratic_aberrations():
    """For defocus and 2-fold astigmatism χ is quadratic, so the weak-object transfer averaged
    over illumination tilts β, ⟨exp(−i[χ(α+β) − χ(β)])⟩, equals exp(−iχ(α))·E_s exactly."""
    c10, c12, phi12, theta = -250.0, 60.0, 0.4, 0.6e-3
    ab = _f64(Aberrations.create(C10=c10, C12=c12, phi12=phi12))

    def chi_np(ay, ax):
        a2 = ay**2 + ax**2
        return 2 * np.pi / LAM * (0.5 * c10 * a2 + 0.5 * c12 * a2 * np.cos(2 * (np.arctan2(ay, ax) - phi12)))

    b = np.linspace(-6 * theta, 6 * theta, 241)
    by, bx = np.meshgrid(b, b, indexing="ij")
    w = np.exp(-(by**2 + bx**2) / theta**2)
    w /= w.sum()
    alphas = [(0.0, 0.0), (0.004, 0.0), (0.0, 0.007), (-0.005, 0.009), (0.011, -0.002)]
    for ay, ax in alphas:
        ref = np.sum(w * np.exp(-1j * (chi_np(ay + by, ax + bx) - chi_np(by, bx))))
        got = transfer_function(ab, jnp.float64(ay / LAM), jnp.float64(ax / LAM), LAM,
                                source_angle=theta * 1e3)
        assert abs(complex(got) - ref) < 1e-9
        env = spatial_envelope(ab, jnp.float64(ay), jnp.float64(ax), LAM, theta * 1e3)
        assert float(env) == pytest.approx(abs(ref), abs=1e-9)


def test_spatial_envelope_kirkland_round_form():
    """Kirkland (2010) eq. 3.48: E_s = exp[−(πθ/λ)² (C1 λk + C3 λ³k³ + C5 λ⁵k⁵)²]."""
    c1, c3, c5, theta = -500.0, 1.0e7, 3e9, 0.3
    ab = _f64(Aberrations.create(C10=c1, C30=c3, C50=c5))
    k = np.linspace(0, 1.0, 30)
    ref = np.exp(-(np.pi * theta * 1e-3 / LAM) ** 2 * (c1 * LAM * k + c3 * (LAM * k) ** 3 + c5 * (LAM * k) ** 5) ** 2)
    for phi in (0.0, 1.0, 2.5):
        ay, ax = jnp.asarray(LAM * k * np.sin(phi)), jnp.asarray(LAM * k * np.cos(phi))
        assert np.allclose(spatial_envelope(ab, ay, ax, LAM, theta), ref, atol=1e-12)


def test_focal_spread_from_instabilities():
    cc, sig_e, sig_v, sig_i = 1.4e7, 0.6 / 2.3548, 1e-7, 5e-8
    e0 = 510998.95  # m0c² [eV]
    kappa = (1 + E / e0) / (1 + E / (2 * e0))
    ref = cc * np.sqrt((kappa * sig_e / E) ** 2 + (kappa * sig_v) ** 2 + (2 * sig_i) ** 2)
    got = focal_spread_from_instabilities(cc, E, sig_e, sig_v, sig_i)
    assert got == pytest.approx(ref, rel=1e-8)
    assert 10 < got < 40  # a typical 300 kV FEG value [Å]
    nonrel = focal_spread_from_instabilities(cc, E, sig_e, relativistic=False)
    assert nonrel == pytest.approx(cc * sig_e / E, rel=1e-12)
    with pytest.raises(ValueError, match="energy_spread must be ≥ 0"):
        focal_spread_from_instabilities(cc, E, -1.0)
    with pytest.raises(ValueError, match="energy"):
        focal_spread_from_instabilities(cc, 0.0, 1.0)
    assert focal_spread_from_instabilities(cc, Beam("300 kV"), sig_e) == pytest.approx(
        focal_spread_from_instabilities(cc, E, sig_e))
    with pytest.raises(ValueError, match="Cc must be ≥ 0"):
        focal_spread_from_instabilities(-1.0, E)


def test_ctf_grid_and_profile_agree():
    g = Grid((64, 64), (0.05, 0.05))
    ab = Aberrations.create(defocus=500.0, Cs=1.2e7)
    kw = dict(objective_aperture=Aperture.create(25.0, edge_width=1.0), focal_spread=30.0, source_angle=0.2)
    h = ctf(g, E, ab, precision="float64", **kw)
    kx = np.fft.fftfreq(64, 0.05)
    prof = ctf_profile(jnp.asarray(kx), E, ab, azimuth=0.0, precision="float64", **kw)
    assert np.allclose(h[0], prof, atol=1e-12)
    prof90 = ctf_profile(jnp.asarray(kx), E, ab, azimuth=np.pi / 2, precision="float64", **kw)
    assert np.allclose(prof90, prof, atol=1e-12)  # round aberrations: no azimuth dependence
    assert ctf(g, E, ab).dtype == jnp.complex64
    assert abs(complex(h[0, 0]) - 1.0) < 1e-12
    assert np.all(np.abs(h) <= 1 + 1e-12)


def test_ctf_against_abtem():
    """abTEM 1.0.11 CTF on the same grid. Conventions mapped:
    * abTEM's ``focal_spread`` is the 1/e half-width of the defocus distribution (its docstring:
      "use focal_spread = sqrt(2)*sigma"); ours is the standard deviation Δ, so abTEM = √2·Δ.
    * abTEM's ``angular_spread`` [mrad] enters as exp(−(θ/2)²|∇χ|²) — the same formula as ours, so
      although its docstring calls it a standard deviation it equals our 1/e half-width θ_s.
    * abTEM arrays are indexed (x, y) with gpts/sampling given as (x, y): transpose to (y, x).
    * Both use C10 = −defocus and exp(−iχ).
    """
    abtem = pytest.importorskip("abtem")
    abtem.config.set({"precision": "float64"})
    g = Grid((48, 64), (0.1, 0.08))
    kw = dict(C10=-150.0, C12=40.0, phi12=0.7, C21=300.0, phi21=-0.4, C23=500.0, phi23=0.3, C30=2e5,
              C32=1e5, phi32=1.1, C45=1e7, phi45=0.2, C50=1e8)
    spread, theta = 20.0, 0.5
    ref = abtem.CTF(energy=200e3, semiangle_cutoff=np.inf, focal_spread=np.sqrt(2) * spread,
                    angular_spread=theta, **kw)
    ref.gpts, ref.sampling = (64, 48), (0.08, 0.1)
    ref = np.asarray(ref._evaluate_kernel()).T
    got = ctf(g, 200e3, Aberrations.create(**kw), focal_spread=spread, source_angle=theta, precision="float64")
    assert np.max(np.abs(np.asarray(got) - ref)) < 1e-6


def test_ctf_gradients_float64():
    k = jnp.linspace(0.05, 1.0, 9, dtype=jnp.float64)

    def f(ab, spread, theta):
        h = transfer_function(ab, 0.3 * k, k, LAM, Aperture(20.0, 2.0), spread, theta)
        return jnp.sum(h.real**2 - h.imag) + jnp.sum(h.imag * h.real)

    ab = _f64(Aberrations.create(defocus=300.0, Cs=1e6, C12=20.0, phi12=0.3, C21=1e3, phi21=0.5))
    check_grads(jax.jit(f), (ab, jnp.float64(20.0), jnp.float64(0.3)), order=1, modes=["rev", "fwd"], eps=1e-4)


def test_jit():
    g = Grid((32, 32), (0.1, 0.1))
    f = jax.jit(lambda ab, d: ctf(g, E, ab, objective_aperture=20.0, focal_spread=d))
    ab = Aberrations.create(defocus=100.0, Cs=1e6)
    assert np.allclose(f(ab, 10.0), ctf(g, E, ab, objective_aperture=20.0, focal_spread=10.0), atol=1e-6)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(beam=0.0), ValueError, "energy must be > 0"),
    (dict(beam=float("nan")), ValueError, "energy must be finite"),
    (dict(beam="300"), ValueError, "energy given as the string '300' has no unit"),
    (dict(objective_aperture=1000.0), ValueError, "objective_aperture of 1000 mrad exceeds the limit"),
    (dict(focal_spread=-1.0), ValueError, "focal_spread must be ≥ 0"),
    (dict(source_angle=-0.1), ValueError, "source_angle must be ≥ 0"),
    (dict(focal_spread=float("nan")), ValueError, "focal_spread must be finite"),
    (dict(objective_aperture=-5.0), ValueError, "objective_aperture"),
    (dict(aberrations={"C10": 1.0}), TypeError, "Aberrations"),
    (dict(aberrations=Aberrations(C30=float("nan"))), ValueError, "aberration C30 must be finite"),
])
def test_bad_input(kwargs, exc, match):
    g = Grid((16, 16), (0.1, 0.1))
    args = dict(beam=E, aberrations=None)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        ctf(g, **args)


def test_ctf_profile_checks_its_frequencies():
    with pytest.raises(ValueError, match=r"k holds 1 NaN/inf value\(s\) \[1/Å\]"):
        ctf_profile(np.array([0.0, np.nan]), E)
    with pytest.raises(ValueError, match="azimuth must be finite"):
        ctf_profile(np.array([0.0, 0.1]), E, azimuth=np.inf)
