"""Atom-probe tomography: file formats, mass spectra, ranging, reconstruction (conventional and
TEM-guided), tip-profile extraction, composition analysis and a synthetic-truth tip generator.

Analysis package: imports nothing from the simulation packages. Specimen coordinates are in [nm],
detector coordinates in [mm], mass-to-charge in [Da], times of flight in [ns], voltages in [V],
k·F in [V/nm], angles in [rad] unless a name ends in ``_deg``.

Parameters and results are :func:`jaxem.pytree.dataclass` pytrees; the two calibrations are
``init``/``step`` pairs of pure functions (:func:`mass_calibration_init` /
:func:`mass_calibration_step`, :func:`guided_calibration_init` / :func:`guided_calibration_step`)
driven by :func:`fit_calibration` and :func:`calibrate`. Every public function checks its inputs
(NaN/inf rejected with the count and the first index).
"""
from .aptfile import AptFile, AptSection, read_apt, write_apt
from .isotopes import atomic_weight, element_isotopes, isotope_pattern
from .maps import (density_map, density_profile, interface_position, plane_spacing, sdm_z,
                   spacing_along_z)
from .posfile import EPOS_DTYPE, POS_DTYPE, multi_hit_events, read_epos, read_pos, write_epos, write_pos
from .profiles import composition_profile, concentration_grid, proxigram, roi_coordinates
from .rangefile import RangeTable, format_rrng, ion_name, read_rng, read_rrng, write_rrng
from .ranging import (auto_ranges, composition, deconvolve_overlaps, identify_peaks, overlap_matrix,
                      range_counts)
from .reconstruct import ReconParams, detector_angles, max_angle, radius_and_apex, reconstruct_bas
from .spectrum import (MassCalibration, MassCalibrationState, fit_background, fit_calibration, mass_calibration_init,
                       mass_calibration_params, mass_calibration_step, mass_spectrum, mass_to_tof, plot_spectrum,
                       tof_to_mass)
from .synthetic import SyntheticRun, SyntheticTip, generate, render_tip_image
from .tem_guided import (CalibrationData, CalibrationResult, GuidedCalibrationProblem, GuidedCalibrationState,
                         GuidedTables, calibrate, calibration_data, calibration_loss, guided_calibration_init,
                         guided_calibration_result, guided_calibration_step, guided_tables, reconstruct_tem,
                         stitch_runs)
from .tip_image import ExtractedProfile, extract_profile
from .tipshape import TipProfiles, cap_tables, cap_tables_conic, conic_r_of_psi, conic_sag, tip_profiles

__all__ = [
    "AptFile", "AptSection", "read_apt", "write_apt",
    "atomic_weight", "element_isotopes", "isotope_pattern",
    "density_map", "density_profile", "interface_position", "plane_spacing", "sdm_z", "spacing_along_z",
    "EPOS_DTYPE", "POS_DTYPE", "multi_hit_events", "read_epos", "read_pos", "write_epos", "write_pos",
    "composition_profile", "concentration_grid", "proxigram", "roi_coordinates",
    "RangeTable", "format_rrng", "ion_name", "read_rng", "read_rrng", "write_rrng",
    "auto_ranges", "composition", "deconvolve_overlaps", "identify_peaks", "overlap_matrix", "range_counts",
    "ReconParams", "detector_angles", "max_angle", "radius_and_apex", "reconstruct_bas",
    "MassCalibration", "MassCalibrationState", "fit_background", "fit_calibration", "mass_calibration_init",
    "mass_calibration_params", "mass_calibration_step", "mass_spectrum", "mass_to_tof", "plot_spectrum",
    "tof_to_mass",
    "SyntheticRun", "SyntheticTip", "generate", "render_tip_image",
    "CalibrationData", "CalibrationResult", "GuidedCalibrationProblem", "GuidedCalibrationState", "GuidedTables",
    "calibrate", "calibration_data", "calibration_loss", "guided_calibration_init", "guided_calibration_result",
    "guided_calibration_step", "guided_tables", "reconstruct_tem", "stitch_runs",
    "ExtractedProfile", "extract_profile",
    "TipProfiles", "cap_tables", "cap_tables_conic", "conic_r_of_psi", "conic_sag", "tip_profiles",
]
