"""Quantitative STEM-EDS: X-ray data, geometry, Cliff–Lorimer, ζ-factor and absorption correction.

Analysis package (no simulation imports). Arrays: the last axis runs over X-ray lines (one per
element), leading axes are navigation axes of any shape; every method is jit-compiled and
vectorised over all pixels, with per-pixel status flags instead of NaN; bad pixels of a map (NaN/inf
input) are masked, flagged ``BAD_INPUT`` and listed in the result's ``bad_pixels``. Iterative methods
are ``<method>_init`` / ``<method>_step`` pairs of pure functions on a pytree state (``zeta_*``,
``cliff_lorimer_*``) with the driver outside. Units: X-ray energies
[keV], μ/ρ [cm²/g], mass thickness [g/cm²], thickness [nm], ζ [kg/m²], dose [electrons], beam
energy [eV], angles [deg] where named ``_deg``.

Typical use::

    from jaxem import eds
    lines, els = ["O_Ka", "Zn_Ka"], ["O", "Zn"]
    mac = eds.mac_matrix(lines, els)
    toa = eds.take_off_angle_deg(elevation_deg=18.0, tilt_alpha_deg=4.0)
    res = eds.zeta_factor(intensities, zeta_factors, eds.electron_dose(1.0, 0.5),
                          eds.atomic_weights(els), mac=mac, take_off_deg=toa)
    res.atomic_fractions, res.thickness_nm(eds.phase_density("ZnO")), res.status
"""
from .absorption import absorption_chi, absorption_correction, absorption_factor, transmitted_fraction
from .cliff_lorimer import (CliffLorimerResult, CliffLorimerState, cliff_lorimer_init, cliff_lorimer_quantification,
                            cliff_lorimer_step, fit_k_factors)
from .composition import (BAD_INPUT, NEGATIVE, NO_SIGNAL, NOT_CONVERGED, OK, STATUS, atomic_to_weight,
                          fraction_uncertainty, weight_to_atomic)
from .cross_section import (ionization_cross_section, theoretical_k_factors, theoretical_zeta_factors,
                            xray_production_cross_section)
from .data import (atomic_weight, atomic_weights, formula_weight_fractions, line_energy, mac_matrix,
                   mac_mixture, mass_attenuation, phase_density, provenance)
from .geometry import detector_efficiency, solid_angle, take_off_angle_deg
from .readers import EDSData, from_hyperspy, read_eds, to_hyperspy
from .spectrum import fit_intensities, fwhm_ev, window_intensities
from .synthetic import expected_counts, poisson_counts
from .zeta import (ZetaResult, ZetaState, cross_section_quantification, cross_section_to_zeta, electron_dose,
                   thickness_nm, zeta_factor, zeta_from_standard, zeta_init, zeta_step,
                   zeta_to_cross_section)

__all__ = [
    "absorption_chi", "absorption_correction", "absorption_factor", "transmitted_fraction",
    "CliffLorimerResult", "CliffLorimerState", "cliff_lorimer_init", "cliff_lorimer_quantification",
    "cliff_lorimer_step", "fit_k_factors",
    "BAD_INPUT", "NEGATIVE", "NO_SIGNAL", "NOT_CONVERGED", "OK", "STATUS", "atomic_to_weight", "fraction_uncertainty",
    "weight_to_atomic",
    "ionization_cross_section", "theoretical_k_factors", "theoretical_zeta_factors",
    "xray_production_cross_section",
    "atomic_weight", "atomic_weights", "formula_weight_fractions", "line_energy", "mac_matrix",
    "mac_mixture", "mass_attenuation", "phase_density", "provenance",
    "detector_efficiency", "solid_angle", "take_off_angle_deg",
    "EDSData", "from_hyperspy", "read_eds", "to_hyperspy",
    "fit_intensities", "fwhm_ev", "window_intensities",
    "expected_counts", "poisson_counts",
    "ZetaResult", "ZetaState", "cross_section_quantification", "cross_section_to_zeta", "electron_dose",
    "thickness_nm", "zeta_factor", "zeta_from_standard", "zeta_init", "zeta_step",
    "zeta_to_cross_section",
]
