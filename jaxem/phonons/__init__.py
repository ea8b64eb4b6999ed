"""Phonons: harmonic lattice dynamics (force constants, dispersion, DOS, eigenvectors, thermal
mean-square displacements and B factors), mode projection u ↔ Q, v ↔ P, and harmonic-ensemble
snapshots for frozen-phonon multislice (classical or quantum amplitudes).

Public API: :func:`harmonic_phonons`, :class:`Harmonic`, :func:`mean_square_displacements`,
:func:`mode_amplitudes`, :func:`morse_energy`,
:func:`hessian_force_constants`, :class:`ModeProjector`, :func:`mode_projector`,
:func:`harmonic_snapshots`.
"""
from .harmonic import Harmonic, harmonic_phonons, mean_square_displacements, mode_amplitudes
from .modes import ModeProjector, mode_projector
from .pair import hessian_force_constants, morse_energy
from .snapshots import harmonic_displacements, harmonic_snapshots, mode_selection

__all__ = [
    "Harmonic", "harmonic_phonons", "mean_square_displacements", "mode_amplitudes",
    "hessian_force_constants", "morse_energy", "ModeProjector", "mode_projector", "harmonic_displacements",
    "harmonic_snapshots", "mode_selection",
]
