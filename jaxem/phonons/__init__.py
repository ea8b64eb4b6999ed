"""Vibrational and time-resolved electron scattering from atomic snapshots (floor 3).

* :mod:`.frames` — the one kernel: snapshots → elastic multislice → Ψ(q) per snapshot (and probe),
  batched under the memory policy, optionally on a q region of interest, streamed to zarr.
* :mod:`.tacaw` — TACAW S(q, E) from NVE frames (window power, segments, quantum factor on the FFT
  grid), short-time TACAW and the time–energy resolution of a window.
* :mod:`.frfpms` — frequency-resolved frozen phonons: band-pass-filtered trajectories, the
  loss/gain split, and parity pairs (one-phonon vs elastic + multi-phonon).
"""
from .frames import FrameKernel, FrameWaves, frame_waves, frame_waves_to_zarr, region_indices
from .tacaw import (TacawSpectrum, energy_axis, energy_resolution, quantum_prefactor, resolution_for, stft, tacaw_spectrum,
                    window)

__all__ = ["FrameKernel", "FrameWaves", "frame_waves", "frame_waves_to_zarr", "region_indices", "TacawSpectrum",
           "energy_axis", "energy_resolution", "quantum_prefactor", "resolution_for", "stft", "tacaw_spectrum", "window"]
