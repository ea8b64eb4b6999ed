"""Tests of the absorptive (TDS) form factors and complex absorptive slices.

Independent reference: the Weickenmeier–Kohl (W–K) closed form. W–K write the electron scattering
factor as f(q) = Σ_i A_i (1 − exp(−b_i q²))/q² (q = 2s [1/Å], b_i = B_i/4 with their tabulated B_i
[Å²]; A_i = 4·Z/(3(1 + V))/(8π²a0) for i = 1…3 and V times that for i = 4…6). Using
(1 − e^{−b q²})/q² = ∫_0^b e^{−β q²} dβ and ∫ d²q e^{−a q² − a′|q − g|²} = π/(a + a′)·e^{−a a′ g²/(a + a′)},
the small-angle Hall–Hirsch integral becomes, per pair (i, j) (derived here, not copied),

    ∫_0^{b_i} dβ ∫_{lo}^{hi} dβ′ π/(a + a′) e^{−a a′ g²/(a + a′)}
      = ∫_0^{b_i} dβ π e^{−a g²} [Ei(a²g²/(a + lo)) − Ei(a²g²/(a + hi))]   (g > 0)
      = ∫_0^{b_i} dβ π ln((a + hi)/(a + lo))                                (g = 0)

with a = β (elastic term: lo = 0, hi = b_j) or a = β + m, lo = m, hi = b_j + m (thermal term,
m = B/4), leaving one smooth 1-D integral for scipy's ``quad``. f′ = (γλ/2)·Σ_ij A_i A_j
[D(g)·I_ij(0) − I_ij(m)].

W–K coefficients (V, B1…B6 [Å²]) re-keyed from Weickenmeier & Kohl, Acta Cryst. A47 (1991) 590,
Table 1, as tabulated identically in EMsoft (others.f90) and Dr. Probe (common/wekoscatt.f90).
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads
from scipy.integrate import quad
from scipy.special import expi

from jaxem import physics
from jaxem.potential import (absorptive_form_factor, absorptive_potential, absorptive_potential_builder,
                             absorptive_table, aperture_absorptive_form_factor, elastic_form_factor,
                             get_parametrization, mean_absorption_coefficient, potential, tds_cross_section)
from jaxem.propagate import multislice, plane_wave
from jaxem.structure import Structure

WK_TABLE = {  # Z: (V, (B1, …, B6) [Å²])
    6: (0.5, (0.23925, 4.93515, 18.11895, 15.69698, 15.81922, 40.24150)),
    8: (0.5, (0.21800, 6.76987, 7.05056, 6.67484, 12.38148, 28.08398)),
    14: (0.5, (1.73656, 3.04329, 30.57191, 0.05070, 0.99181, 86.18340)),
    22: (0.5, (0.12782, 1.45591, 12.09738, 4.61747, 11.96791, 105.00546)),
    28: (0.5, (0.11069, 1.61889, 6.00325, 5.97496, 6.06049, 59.41419)),
    38: (0.3, (0.36052, 2.12757, 12.45815, 0.01526, 2.10824, 133.17088)),
}
# B [Å²] near room temperature: Si, Ni, C from Peng et al., Acta Cryst. A52 (1996) 456; SrTiO3 sites
# from the muSTEM SrTiO3 tutorial crystal (see /shared/reference/multislice.md §3.3)
B_ROOM = {14: 0.4632, 38: 0.621, 22: 0.440, 8: 0.732, 6: 0.142, 28: 0.340}


def wk_coefficients(z):
    v, bs = WK_TABLE[z]
    a1 = 4 * z / (3 * (1 + v)) / (8 * math.pi**2 * physics.BOHR_RADIUS)
    return np.array([a1] * 3 + [v * a1] * 3), np.array(bs) / 4.0


class WKParametrization:
    """f(q) = Σ A_i (1 − exp(−b_i q²))/q² [Å] (duck-typed parametrization for the quadrature)."""

    def scattering_factor(self, numbers, k):
        k2 = jnp.asarray(k) ** 2
        out = []
        for z in numbers:
            a, b = wk_coefficients(int(z))
            safe = jnp.where(k2 > 0, k2, 1.0)
            out.append(sum(ai * jnp.where(bi * k2 > 1e-8, -jnp.expm1(-bi * k2) / safe, bi * (1 - 0.5 * bi * k2))
                           for ai, bi in zip(a, b)))
        return jnp.stack(out)


def _exp_ei(w):
    """exp(−w)·Ei(w)."""
    return math.exp(-w) * expi(w) if w < 600 else (1 + 1 / w + 2 / w**2 + 6 / w**3) / w


def _pair_inner(a, lo, hi, g):
    if g == 0:
        return math.pi * math.log((a + hi) / (a + lo))
    w1, w2 = a * a * g * g / (a + lo), a * a * g * g / (a + hi)
    return math.pi * (math.exp(w1 - a * g * g) * _exp_ei(w1) - math.exp(w2 - a * g * g) * _exp_ei(w2))


def wk_absorptive(z, B, energy, g):
    """Weickenmeier–Kohl small-angle absorptive form factor f′(g) [Å] (semi-closed form)."""
    lam, gamma = physics.wavelength(energy), physics.relativistic_gamma(energy)
    a, b = wk_coefficients(z)
    m = B / 4
    total = 0.0
    for i in range(6):
        for j in range(6):
            t1 = quad(lambda be: _pair_inner(be, 0.0, b[j], g), 0, b[i], limit=200)[0]
            t2 = quad(lambda be: _pair_inner(be + m, m, b[j] + m, g), 0, b[i], limit=200)[0]
            total += a[i] * a[j] * (math.exp(-m * g * g) * t1 - t2)
    return gamma * lam / 2 * total


# ---------------------------------------------------------------------------------------------


def srtio3(nx=1, ny=1, nz=1, B=True):
    a = 3.905
    kw = {"B": {"Sr": 0.62, "Ti": 0.41, "O": 0.72}} if B else {}
    s = Structure.create([[0, 0, 0], [a / 2, a / 2, a / 2], [a / 2, a / 2, 0], [a / 2, 0, a / 2], [0, a / 2, a / 2]],
                         ["Sr", "Ti", "O", "O", "O"], [a, a, a], **kw)
    return s.repeat(nx, ny, nz)


def test_real_part_is_dw_potential_and_mean_absorption_is_optical_theorem():
    cell = srtio3(2, 2, 1)
    p = absorptive_potential(cell, 300e3, sampling=0.1, slice_thickness=3.905 / 2, precision="float64")
    real = potential(cell, sampling=0.1, slice_thickness=3.905 / 2, debye_waller=True, precision="float64")
    assert p.array.dtype == jnp.complex128 and p.energy == 300e3
    assert np.array_equal(np.asarray(p.array.real), np.asarray(real.array))
    sigma = physics.interaction_constant(300e3)
    mu_slices = 2 * sigma * float(jnp.mean(p.full().imag.sum(0))) / p.thickness
    assert mu_slices == pytest.approx(mean_absorption_coefficient(cell, 300e3), rel=1e-9)
    # v′ is positive up to small ringing from f′ < 0 at large g and the finite grid
    assert float(jnp.min(p.array.imag)) > -2e-3 * float(jnp.max(p.array.imag))


@pytest.mark.parametrize("slice_thickness", [3.905, 3.905 / 2])
def test_wave_norm_decays_at_mean_absorption_rate(slice_thickness):
    """Thin crystal: N(z) = exp(−μz) to first order in σv′, μ = Σσ_TDS/V_cell = 2σ⟨v′⟩/Δz.

    One SrTiO3 cell: the measured rate −ln(N_abs/N_elastic)/z is within 3% of μ (measured −2.2% with
    one slice, −1.6% with two: the second-order Jensen term ⟨e^{−2σv′}⟩ > e^{−2σ⟨v′⟩} lowers it,
    channelling onto the columns raises it). In the first-order limit (v′ scaled by 1/50) a single
    slice, where the plane wave is still uniform, gives μ within 0.1%.
    """
    energy = 300e3
    cell = srtio3(2, 2, 1)
    p = absorptive_potential(cell, energy, sampling=0.1, slice_thickness=slice_thickness, precision="float64")
    mu = mean_absorption_coefficient(cell, energy)
    w0 = plane_wave(p.grid, energy, precision="float64")

    def norm(pot):
        return float(jnp.sum(jnp.abs(multislice(w0, pot).array) ** 2)) / w0.norm

    elastic = norm(p.replace(array=p.array.real.astype(p.array.dtype)))
    rate = -math.log(norm(p) / elastic) / p.thickness
    assert rate == pytest.approx(mu, rel=0.03)
    if p.n_slices == 1:
        weak = p.replace(array=p.array.real + 1j * p.array.imag / 50)
        rate_weak = -math.log(norm(weak) / elastic) / p.thickness * 50
        assert rate_weak == pytest.approx(mu, rel=1e-3)


def test_without_absorption_complex_path_equals_real_path_exactly():
    cell = srtio3(2, 2, 3)
    kw = dict(sampling=0.2, slice_thickness=3.905 / 2)
    comp = absorptive_potential(cell, 200e3, model="fraction", fraction=0.0, debye_waller=True, **kw)
    real = potential(cell, debye_waller=True, **kw)
    assert float(jnp.max(jnp.abs(comp.array.imag))) == 0.0
    w = plane_wave(real.grid, 200e3)
    a, b = multislice(w, comp).array, multislice(w, real).array
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_fraction_and_aperture_models():
    cell = srtio3(2, 2, 1)
    kw = dict(sampling=0.1, slice_thickness=3.905 / 2, precision="float64")
    default = absorptive_potential(cell, 300e3, model="fraction", sampling=0.2, slice_thickness=3.905)
    assert default.array.dtype == jnp.complex64
    frac = absorptive_potential(cell, 300e3, model="fraction", fraction=0.08, **kw)
    assert np.allclose(frac.array.imag, 0.08 * frac.array.real, rtol=1e-12)
    ap = absorptive_potential(cell, 300e3, model="aperture", **kw)
    g = ap.grid
    f0 = [aperture_absorptive_form_factor(z, 300e3, np.zeros(1), g.antialias_cutoff, g.antialias_taper)[0]
          for z in ("Sr", "Ti", "O")]
    want = physics.KAPPA * (f0[0] + f0[1] + 3 * f0[2]) * 4 / g.area  # 2×2 cells
    assert float(jnp.mean(ap.full().imag.sum(0))) == pytest.approx(want, rel=1e-6)
    narrow = absorptive_potential(cell, 300e3, model="aperture", cutoff=2.0, **kw)  # hard edge at 2 Å⁻¹
    f0n = aperture_absorptive_form_factor("Sr", 300e3, np.zeros(1), 2.0)[0]
    assert f0n > 2 * f0[0] and float(jnp.mean(narrow.array.imag)) > 2 * float(jnp.mean(ap.array.imag))


def test_bad_input():
    with pytest.raises(ValueError, match="B must be finite and > 0"):
        absorptive_form_factor("Si", 0.0, 200e3, np.zeros(1))
    with pytest.raises(ValueError, match="B must be finite and > 0"):
        absorptive_form_factor("Si", -0.3, 200e3, np.zeros(1))
    with pytest.raises(ValueError, match="energy"):
        absorptive_form_factor("Si", 0.4, -1.0, np.zeros(1))
    with pytest.raises(ValueError, match="geometry"):
        absorptive_form_factor("Si", 0.4, 200e3, np.zeros(1), geometry="cone")
    with pytest.raises(TypeError, match="parametrization"):
        absorptive_form_factor("Si", 0.4, 200e3, np.zeros(1), parametrization=3)
    with pytest.raises(ValueError, match=r"missing \(B ≤ 0\) for species \['O', 'Sr', 'Ti'\]"):
        absorptive_potential(srtio3(B=False), 300e3, sampling=0.2)
    partial_b = Structure.create([[0, 0, 0], [1, 1, 1]], ["Sr", "O"], [3, 3, 3], B=[0.6, 0.0])
    with pytest.raises(ValueError, match=r"species \['O'\]"):
        absorptive_potential(partial_b, 300e3, sampling=0.2)
    with pytest.raises(ValueError, match="debye_waller=False"):
        absorptive_potential(srtio3(), 300e3, sampling=0.2, debye_waller=False)
    with pytest.raises(ValueError, match="model"):
        absorptive_potential(srtio3(), 300e3, sampling=0.2, model="mustem")
    with pytest.raises(ValueError, match="fraction"):
        absorptive_potential(srtio3(), 300e3, sampling=0.2, model="fraction", fraction=-0.1)
    p = absorptive_potential(srtio3(), 300e3, sampling=0.1, model="fraction")
    with pytest.raises(ValueError, match="300000.0 eV"):
        multislice(plane_wave(p.grid, 200e3), p)


def test_gradients_through_absorptive_slices():
    cell = Structure.create([[1.1, 1.4, 0.5], [2.6, 2.2, 1.5]], ["Sr", "O"], [4.0, 4.0, 2.0], B=[0.6, 0.7])
    build = absorptive_potential_builder(cell, 200e3, gpts=(16, 16), slice_thickness=1.0, precision="float64")
    w0 = plane_wave(build(cell).grid, 200e3, precision="float64")
    weights = jnp.asarray(np.random.default_rng(0).random((16, 16)))

    @jax.jit
    def loss(pos):
        pot = build(cell.with_positions(pos))
        psi = multislice(w0, pot).array
        return jnp.sum(weights * jnp.abs(jnp.fft.fft2(psi)) ** 2) / 16**4

    pos = jnp.asarray(cell.positions, jnp.float64)
    assert float(jnp.linalg.norm(jax.grad(loss)(pos))) > 0
    check_grads(loss, (pos,), order=1, modes=("rev",), atol=1e-6, rtol=1e-4)
