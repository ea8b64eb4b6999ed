"""Phonons and vibrational electron scattering (floor 3).

Harmonic lattice dynamics and snapshots:

* :mod:`.harmonic` — force constants (phonopy finite displacements with LAMMPS forces, or a JAX
  energy), dispersion, DOS, eigenvectors, thermal ⟨u²⟩ and B factors (classical or quantum).
* :mod:`.modes` — mode projection u ↔ Q, v ↔ P; :mod:`.snapshots` — harmonic-ensemble snapshots
  (classical or quantum amplitudes, optionally restricted to a set of modes); :mod:`.pair` — a JAX
  pair potential and its Hessian (cross-check route).

Vibrational and time-resolved scattering from snapshots:

* :mod:`.frames` — the one kernel: snapshots → elastic multislice → Ψ(q) per snapshot (and probe),
  batched under the memory policy, optionally on a q region of interest, streamed to zarr.
* :mod:`.tacaw` — TACAW S(q, E) from NVE frames (window power, segments, quantum factor on the FFT
  grid), short-time TACAW and the time–energy resolution of a window.
* :mod:`.spectrum_image` — vibrational STEM spectrum images by TACAW (a probe per scan position,
  a spectrometer collection aperture, probes in chunks from the memory policy).
* :mod:`.frfpms` — frequency-resolved frozen phonons: band-pass-filtered trajectories, the
  loss/gain split, parity pairs (one-phonon vs elastic + multi-phonon), elliptical regions.
* :mod:`.fte` — frozen-trajectory excitation (our mode-space operator): excite (q, ν) and its −q
  partner in a thermal MD state, NVE relaxation, τ with a bootstrap CI, time-resolved ensemble TDS.
* :mod:`.modal` — mode-resolved motion and diffraction: mode sets (branch, acoustic/optic, (q, ν)
  cell, frequency bins), analytic harmonic trajectories, noise-free designed-phase ensembles, the
  kinematic one-phonon weights.
"""
from . import fte, modal
from .frames import FrameKernel, FrameWaves, frame_waves, frame_waves_to_zarr, region_indices
from .harmonic import Harmonic, harmonic_phonons, mean_square_displacements, mode_amplitudes
from .modes import ModeProjector, mode_projector
from .pair import hessian_force_constants, morse_energy
from .snapshots import harmonic_displacements, harmonic_snapshots, mode_selection
from .spectrum_image import collection_mask, tacaw_spectrum_image
from .tacaw import (TacawSpectrum, energy_axis, energy_resolution, quantum_prefactor, resolution_for, stft,
                    tacaw_spectrum, window)

__all__ = [
    "Harmonic", "harmonic_phonons", "mean_square_displacements", "mode_amplitudes",
    "hessian_force_constants", "morse_energy", "ModeProjector", "mode_projector", "harmonic_displacements",
    "harmonic_snapshots", "mode_selection",
    "FrameKernel", "FrameWaves", "frame_waves", "frame_waves_to_zarr", "region_indices", "TacawSpectrum",
    "energy_axis", "energy_resolution", "quantum_prefactor", "resolution_for", "stft", "tacaw_spectrum", "window",
    "collection_mask", "tacaw_spectrum_image",
]
