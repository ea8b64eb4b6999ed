"""Assigning atoms to slices along the beam (z), never dropping an atom.

Slice i covers z ∈ [i·dz, (i+1)·dz). Atoms outside [0, L) (e.g. displaced by thermal vibrations, or
exactly at z = L from rounding) go to the first/last slice instead of being lost: the assignment is
``clip(floor(z / dz), 0, n − 1)``, computed in float64 on the host.
"""
from __future__ import annotations

import math

import numpy as np


def slice_assignment(z, thickness: float, n_slices: int) -> np.ndarray:
    """Slice index (int32) of each atom at height ``z`` [Å] for ``n_slices`` slices of ``thickness`` [Å]."""
    z = np.asarray(z, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        raise ValueError("atom z positions contain NaN/inf")
    if thickness <= 0 or n_slices < 1:
        raise ValueError(f"need thickness > 0 Å and n_slices ≥ 1, got {thickness}, {n_slices}")
    idx = np.floor(z / thickness + 1e-9).astype(np.int64)
    return np.clip(idx, 0, n_slices - 1).astype(np.int32)


def slices_for_structure(depth: float, slice_thickness: float) -> tuple[int, float]:
    """(number of slices, actual thickness [Å]) dividing ``depth`` [Å] into slices of at most
    ``slice_thickness`` [Å] of equal thickness."""
    if not (slice_thickness > 0 and math.isfinite(slice_thickness)):
        raise ValueError(f"slice_thickness must be > 0 Å, got {slice_thickness!r}")
    if not depth > 0:
        raise ValueError(f"structure depth along z must be > 0 Å, got {depth!r}")
    n = max(1, int(math.ceil(depth / slice_thickness - 1e-9)))
    return n, depth / n
