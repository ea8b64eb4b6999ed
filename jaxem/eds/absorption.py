"""Thin-film X-ray absorption correction.

For a parallel-sided film with X-ray generation uniform in depth, the X-rays of line A leaving
towards the detector at take-off angle α travel on average through a path whose attenuation is
described by

    χ_A = (μ/ρ)_A^spec · ρt · cosec α,      (μ/ρ)_A^spec = Σ_j w_j (μ/ρ)_j(E_A),

the transmitted fraction is f_A = (1 − e^{−χ_A})/χ_A and the absorption correction factor (ACF)
that multiplies the measured intensity is ACF_A = 1/f_A = χ_A / (1 − e^{−χ_A})
(Goldstein, Costley, Lorimer & Reed, Scanning Electron Microscopy 1, 315 (1977); Watanabe &
Williams, J. Microsc. 221, 89 (2006), eq. 6). Units: μ/ρ [cm²/g], ρt [g/cm²], α [deg].

ACF → 1 + χ/2 for χ → 0 and is evaluated with ``expm1`` so that it is exact (= 1) at zero
absorption and never NaN.

The functions are pure and jit-compatible; called with concrete values they check their inputs
(ρt ≥ 0, μ/ρ ≥ 0, α in (0, 90) deg, χ ≥ 0, all finite); traced values pass unchecked.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import validate
from .composition import float_dtype
from .data import mac_mixture


def _check(value, name, units, *, angle=False):
    if validate.is_traced(value):
        return
    if angle:
        if np.ndim(value) == 0:
            validate.scalar(value, name, units, lo=0.0, hi=90.0, lo_open=True, hi_open=True)
            return
        validate.array(value, name, kind="real", units=units)
        v = np.asarray(value)
        if np.any((v <= 0) | (v >= 90)):
            raise validate.InputError(f"{name} must be in (0, 90) {units}, got values from {v.min():g} to {v.max():g}")
        return
    if np.ndim(value) == 0 and not hasattr(value, "shape"):
        validate.scalar(value, name, units, nonnegative=True)
    else:
        validate.array(value, name, kind="real", units=units, nonnegative=True)


def absorption_chi(mac_specimen, mass_thickness, take_off_deg):
    """χ = (μ/ρ)·ρt / sin α (dimensionless).

    Args:
        mac_specimen: (..., n_lines) specimen μ/ρ at each line [cm²/g].
        mass_thickness: (...) mass thickness ρt [g/cm²].
        take_off_deg: take-off angle α [deg] in (0, 90) (scalar or broadcastable).
    """
    _check(mac_specimen, "mac_specimen", "cm²/g")
    _check(mass_thickness, "mass_thickness", "g/cm²")
    _check(take_off_deg, "take_off_deg", "deg", angle=True)
    mac = jnp.asarray(mac_specimen)
    if not jnp.issubdtype(mac.dtype, jnp.floating):
        mac = mac.astype(float_dtype(mac))
    rt = jnp.asarray(mass_thickness, mac.dtype)[..., None]
    return mac * rt / jnp.sin(jnp.deg2rad(jnp.asarray(take_off_deg, mac.dtype)))


def absorption_factor(chi):
    """ACF = χ / (1 − e^{−χ}) (≥ 1), exact 1 at χ = 0, series for tiny χ (χ ≥ 0, dimensionless)."""
    _check(chi, "chi", "")
    chi = jnp.asarray(chi)
    small = chi < 1e-4
    safe = jnp.where(small, 1.0, chi)
    full = safe / -jnp.expm1(-safe)
    series = 1 + chi / 2 + chi**2 / 12
    return jnp.where(small, series, full)


def transmitted_fraction(chi):
    """f = (1 − e^{−χ})/χ = 1/ACF (≤ 1)."""
    return 1.0 / absorption_factor(chi)


def absorption_correction(weight_fractions, mass_thickness, mac, take_off_deg):
    """ACF per pixel and line from a composition estimate and a mass thickness.

    Args:
        weight_fractions: (..., n_elements) weight fractions (≥ 0).
        mass_thickness: (...) ρt [g/cm²] (≥ 0).
        mac: (n_lines, n_elements) μ/ρ matrix [cm²/g] (:func:`jaxem.eds.data.mac_matrix`).
        take_off_deg: take-off angle [deg] in (0, 90).

    Returns:
        (..., n_lines) absorption correction factors (multiply the measured intensities).
    """
    _check(weight_fractions, "weight_fractions", "")
    _check(mac, "mac", "cm²/g")
    return absorption_factor(absorption_chi(mac_mixture(weight_fractions, mac), mass_thickness,
                                            take_off_deg))
