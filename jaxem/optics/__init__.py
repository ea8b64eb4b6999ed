"""Electron optics: aberration function, apertures, probes, CTF and envelopes, image formation.

Conventions (tested in ``tests/optics``): χ in Krivanek polar notation with C10 = −Δf; a probe is
ψ(k) = A(k)·exp(−iχ(k)); an image wave is ψ_exit(k)·A(k)·exp(−iχ(k)); angles in mrad at the public
boundary (rad inside χ), lengths in Å, energies in eV.
"""
from .aberrations import ABERRATION_ORDERS, Aberrations, chi, chi_cartesian, chi_from_frequencies, polar_frequencies
from .apertures import Aperture, aperture_function, aperture_on_grid
from .ctf import (chi_gradient, ctf, ctf_profile, focal_spread_from_instabilities, spatial_envelope,
                  temporal_envelope, transfer_function)
from .detector import DetectorMTF, blur_intensity, detector_mtf, image_spread_envelope
from .imaging import gauss_hermite, hrtem_image, tilt_nodes
from .probes import probe, probe_transfer

__all__ = [
    "ABERRATION_ORDERS", "Aberrations", "chi", "chi_cartesian", "chi_from_frequencies", "polar_frequencies",
    "Aperture", "aperture_function", "aperture_on_grid",
    "chi_gradient", "ctf", "ctf_profile", "focal_spread_from_instabilities", "spatial_envelope",
    "temporal_envelope", "transfer_function",
    "DetectorMTF", "blur_intensity", "detector_mtf", "image_spread_envelope",
    "gauss_hermite", "hrtem_image", "tilt_nodes",
    "probe", "probe_transfer",
]
