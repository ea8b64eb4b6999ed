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
"""
from __future__ import annotations

import jax.numpy as jnp

from .data import mac_mixture


def absorption_chi(mac_specimen, mass_thickness, take_off_deg):
    """χ = (μ/ρ)·ρt / sin α (dimensionless).

    Args:
        mac_specimen: (..., n_lines) specimen μ/ρ at each line [cm²/g].
        mass_thickness: (...) mass thickness ρt [g/cm²].
        take_off_deg: take-off angle α [deg] (scalar or broadcastable).
    """
    mac = jnp.asarray(mac_specimen)
    rt = jnp.asarray(mass_thickness, mac.dtype)[..., None]
    return mac * rt / jnp.sin(jnp.deg2rad(jnp.asarray(take_off_deg, mac.dtype)))


def absorption_factor(chi):
    """ACF = χ / (1 − e^{−χ}) (≥ 1), exact 1 at χ = 0, series for tiny χ."""
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
        weight_fractions: (..., n_elements) weight fractions.
        mass_thickness: (...) ρt [g/cm²].
        mac: (n_lines, n_elements) μ/ρ matrix [cm²/g] (:func:`jaxem.eds.data.mac_matrix`).
        take_off_deg: take-off angle [deg].

    Returns:
        (..., n_lines) absorption correction factors (multiply the measured intensities).
    """
    return absorption_factor(absorption_chi(mac_mixture(weight_fractions, mac), mass_thickness,
                                            take_off_deg))
