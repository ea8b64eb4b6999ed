"""Assigning atoms to slices along the beam (z), never dropping an atom.

Slice i covers z ∈ [i·dz, (i+1)·dz). Atoms outside [0, L) (e.g. displaced by thermal vibrations, or
exactly at z = L from rounding) go to the first/last slice instead of being lost: the assignment is
``clip(floor(z / dz + ε), 0, n − 1)``, computed in float64 on the host. ε = 1e-4 (in slice units)
puts an atom that lies on a slice boundary — up to the rounding of float32 coordinates ~100 Å from
the origin — consistently into the slice that starts there, whatever the precision of the positions.
"""
from __future__ import annotations

import math

import numpy as np

#: tolerance [slice units] for atoms on slice boundaries and for depths that are whole numbers of slices
BOUNDARY_TOLERANCE = 1e-4


def slice_assignment(z, thickness: float, n_slices: int) -> np.ndarray:
    """Slice index (int32) of each atom at height ``z`` [Å] for ``n_slices`` slices of ``thickness`` [Å]."""
    z = np.asarray(z, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        raise ValueError("atom z positions contain NaN/inf")
    if thickness <= 0 or n_slices < 1:
        raise ValueError(f"need thickness > 0 Å and n_slices ≥ 1, got {thickness}, {n_slices}")
    idx = np.floor(z / thickness + BOUNDARY_TOLERANCE).astype(np.int64)
    return np.clip(idx, 0, n_slices - 1).astype(np.int32)


def slices_for_structure(depth: float, slice_thickness: float) -> tuple[int, float]:
    """(number of slices, actual thickness [Å]) dividing ``depth`` [Å] into slices of at most
    ``slice_thickness`` [Å] of equal thickness."""
    if not (slice_thickness > 0 and math.isfinite(slice_thickness)):
        raise ValueError(f"slice_thickness must be > 0 Å, got {slice_thickness!r}")
    if not depth > 0:
        raise ValueError(f"structure depth along z must be > 0 Å, got {depth!r}")
    n = max(1, int(math.ceil(depth / slice_thickness - BOUNDARY_TOLERANCE)))
    return n, depth / n
