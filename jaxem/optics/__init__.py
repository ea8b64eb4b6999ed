"""Electron optics: aberration function, apertures, probes, CTF and envelopes, image formation."""
from .aberrations import ABERRATION_ORDERS, Aberrations, chi, chi_from_frequencies, polar_frequencies

__all__ = ["ABERRATION_ORDERS", "Aberrations", "chi", "chi_from_frequencies", "polar_frequencies"]
