"""Atom-probe tomography: file formats, mass spectra, ranging, reconstruction (conventional and
TEM-guided), tip-profile extraction, composition analysis and a synthetic-truth tip generator.

Analysis package: imports nothing from the simulation packages. Specimen coordinates are in [nm],
detector coordinates in [mm], mass-to-charge in [Da], times of flight in [ns], voltages in [V],
evaporation fields in [V/nm], angles in [rad] unless a name ends in ``_deg``.
"""
from .aptfile import AptFile, AptSection, read_apt, write_apt
from .posfile import EPOS_DTYPE, POS_DTYPE, multi_hit_events, read_epos, read_pos, write_epos, write_pos
from .rangefile import RangeTable, format_rrng, ion_name, read_rng, read_rrng, write_rrng

__all__ = [
    "AptFile", "AptSection", "read_apt", "write_apt",
    "EPOS_DTYPE", "POS_DTYPE", "multi_hit_events", "read_epos", "read_pos", "write_epos", "write_pos",
    "RangeTable", "format_rrng", "ion_name", "read_rng", "read_rrng", "write_rrng",
]
