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
