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

from .. import noise, validate
from .absorption import absorption_chi, transmitted_fraction
from .composition import check_factors, check_mac, float_dtype, nav_parameter, take_off
from .data import mac_mixture


def expected_counts(weight_fractions, mass_thickness, dose, zeta_factors, mac=None, take_off_deg=None,
                    precision=None):
    """Expected net counts λ (..., n) of a homogeneous film.

    Args:
        weight_fractions: (n,) or (..., n) true weight fractions (finite, ≥ 0).
        mass_thickness: (...) ρt [g/cm²] (finite, ≥ 0).
        dose: electrons per pixel N_e (scalar or (...)), > 0.
        zeta_factors: (n,) ζ [kg/m²], > 0.
        mac: (n, n) μ/ρ matrix [cm²/g] or ``None`` (no absorption).
        take_off_deg: take-off angle [deg] in (0, 90) (required with ``mac``).
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (default: follows ``mass_thickness``).
    """
    validate.array(weight_fractions, "weight_fractions", min_ndim=1, kind="real", nonnegative=True)
    n = np.shape(weight_fractions)[-1]
    z = check_factors(zeta_factors, n, "zeta_factors", "kg/m²")
    rt = nav_parameter(mass_thickness, "mass_thickness", np.shape(mass_thickness), "g/cm²", nonnegative=True)
    d = nav_parameter(dose, "dose", np.shape(dose), "electrons", positive=True)
    if mac is None:
        mac, take_off_deg = np.zeros((n, n)), 90.0
    else:
        mac = check_mac(mac, n, n)
        take_off_deg = take_off(take_off_deg)
    dt = float_dtype(mass_thickness, precision)
    return _expected(jnp.asarray(weight_fractions, dt), jnp.asarray(rt, dt), jnp.asarray(d, dt),
                     jnp.asarray(z, dt), jnp.asarray(mac, dt), jnp.asarray(take_off_deg, dt))


@jax.jit
def _expected(weight_fractions, rt, dose, zeta_factors, mac, take_off_deg):
    w = jnp.broadcast_to(weight_fractions, rt.shape + zeta_factors.shape)
    lam = w * (10.0 * rt * dose)[..., None] / zeta_factors
    return lam * transmitted_fraction(absorption_chi(mac_mixture(w, mac), rt, take_off_deg))


def poisson_counts(key, expected):
    """Poisson draws (float array, same dtype as ``expected``) with a JAX PRNG key.

    Args:
        key: a ``jax.random`` key.
        expected: expected counts λ (any shape, finite, ≥ 0).
    """
    validate.array(expected, "expected", kind="real", nonnegative=True)
    lam = jnp.asarray(expected)
    return _poisson(key, lam if jnp.issubdtype(lam.dtype, jnp.floating) else lam.astype(float_dtype(lam)))


@jax.jit
def _poisson(key, lam):
    return noise.poisson(key, lam).astype(lam.dtype)


def wedge(n_points: int = 61, t_max_nm: float = 300.0, t_min_nm: float = 0.0) -> np.ndarray:
    """Thicknesses [nm] along a wedge line profile, linear from ``t_min_nm`` to ``t_max_nm``.

    Args:
        n_points: number of profile points (≥ 2).
        t_max_nm, t_min_nm: end thicknesses [nm], 0 ≤ t_min_nm < t_max_nm.
    """
    n_points = validate.integer(n_points, "n_points", lo=2)
    t_min_nm = validate.scalar(t_min_nm, "t_min_nm", "nm", nonnegative=True)
    t_max_nm = validate.scalar(t_max_nm, "t_max_nm", "nm", lo=t_min_nm, lo_open=True)
    return np.linspace(t_min_nm, t_max_nm, n_points)
