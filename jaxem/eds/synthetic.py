"""Synthetic EDS data from the ζ-factor forward model (for tests, demos and method comparison).

Expected net counts of line A in a parallel-sided film (inverse of :mod:`jaxem.eds.zeta`):

    λ_A = C_A · ρt · N_e / ζ_A · f_A(C, ρt),     f_A = (1 − e^{−χ_A})/χ_A,

with ρt [kg/m²] = 10 × ρt [g/cm²], dose N_e [electrons], ζ [kg/m²] and χ_A the absorption
exponent of :mod:`jaxem.eds.absorption`. Counts are drawn as Poisson(λ) with a JAX PRNG key.
:func:`wedge` builds the classic wedge line profile t(x) from 0 to ``t_max`` [nm].
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .absorption import absorption_chi, transmitted_fraction
from .data import mac_mixture


def expected_counts(weight_fractions, mass_thickness, dose, zeta_factors, mac=None, take_off_deg=None):
    """Expected net counts λ (..., n) of a homogeneous film.

    Args:
        weight_fractions: (n,) or (..., n) true weight fractions.
        mass_thickness: (...) ρt [g/cm²].
        dose: electrons per pixel N_e (scalar or (...)).
        zeta_factors: (n,) ζ [kg/m²].
        mac: (n, n) μ/ρ matrix [cm²/g] or ``None`` (no absorption).
        take_off_deg: take-off angle [deg].
    """
    rt = jnp.asarray(mass_thickness, jnp.float64 if jnp.asarray(mass_thickness).dtype == jnp.float64
                     else jnp.float32)
    dt = rt.dtype
    if mac is None:
        mac, take_off_deg = np.zeros((len(zeta_factors),) * 2), 90.0
    elif take_off_deg is None:
        raise ValueError("take_off_deg [deg] is required with mac")
    return _expected(jnp.asarray(weight_fractions, dt), rt, jnp.asarray(dose, dt),
                     jnp.asarray(zeta_factors, dt), jnp.asarray(mac, dt), jnp.asarray(take_off_deg, dt))


@jax.jit
def _expected(weight_fractions, rt, dose, zeta_factors, mac, take_off_deg):
    w = jnp.broadcast_to(weight_fractions, rt.shape + zeta_factors.shape)
    lam = w * (10.0 * rt * dose)[..., None] / zeta_factors
    return lam * transmitted_fraction(absorption_chi(mac_mixture(w, mac), rt, take_off_deg))


@jax.jit
def poisson_counts(key, expected):
    """Poisson draws (float array, same dtype as ``expected``) with a JAX PRNG key."""
    lam = jnp.asarray(expected)
    return jax.random.poisson(key, lam, shape=lam.shape).astype(lam.dtype)


def wedge(n_points: int = 61, t_max_nm: float = 300.0, t_min_nm: float = 0.0) -> np.ndarray:
    """Thicknesses [nm] along a wedge line profile, linear from ``t_min_nm`` to ``t_max_nm``."""
    if n_points < 2 or not t_max_nm > t_min_nm >= 0:
        raise ValueError(f"need n_points ≥ 2 and 0 ≤ t_min_nm < t_max_nm, got {n_points}, "
                         f"{t_min_nm}, {t_max_nm}")
    return np.linspace(t_min_nm, t_max_nm, n_points)
