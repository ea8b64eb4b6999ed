"""Electron optics: aberration function, apertures, probes, CTF and envelopes, image formation,
and the one Fourier shift.

Conventions (tested in ``tests/optics``): χ in Krivanek polar notation with C10 = −Δf; a probe is
ψ(k) = A(k)·exp(−iχ(k)); an image wave is ψ_exit(k)·A(k)·exp(−iχ(k)); angles in mrad at the public
boundary (rad inside χ), lengths in Å, energies in eV. Functions that meet a grid take a
:class:`~jaxem.beam.Beam` (or an energy, through ``beam.as_beam``) and check every angle against the
grid (:meth:`~jaxem.beam.Beam.check_angle`).
"""
from .aberrations import ABERRATION_ORDERS, Aberrations, chi, chi_cartesian, chi_from_frequencies, polar_frequencies
from .apertures import Aperture, angle_grid, aperture_function, aperture_on_grid
from .ctf import (chi_gradient, ctf, ctf_profile, focal_spread_from_instabilities, spatial_envelope,
                  temporal_envelope, transfer_function)
from .detector import DetectorMTF, blur_intensity, detector_mtf, image_spread_envelope
from .imaging import METHODS, gauss_hermite, hrtem_image, image_intensity, tilt_nodes
from .probes import probe, probe_transfer
from .shift import fourier_shift, phase_ramp

__all__ = [
    "ABERRATION_ORDERS", "Aberrations", "chi", "chi_cartesian", "chi_from_frequencies", "polar_frequencies",
    "Aperture", "angle_grid", "aperture_function", "aperture_on_grid",
    "chi_gradient", "ctf", "ctf_profile", "focal_spread_from_instabilities", "spatial_envelope",
    "temporal_envelope", "transfer_function",
    "DetectorMTF", "blur_intensity", "detector_mtf", "image_spread_envelope",
    "METHODS", "gauss_hermite", "hrtem_image", "image_intensity", "tilt_nodes",
    "probe", "probe_transfer",
    "fourier_shift", "phase_ramp",
]
