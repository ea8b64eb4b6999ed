"""Descan removal: patterns resampled so that the unscattered beam stays at one detector position.

With imperfect descan the whole pattern moves with the scan position r: the bright-field disk of
position r is centred at c + d(r) [px] instead of c. The centre-of-mass methods remove d(r) from
the CoM field (``descan_order`` of :func:`~jaxem.phase.com_field` / :func:`~jaxem.phase.dpc`), but
the bright-field methods (SSB, OBF, WDD, parallax, Wiener) read fixed detector pixels k as virtual
bright-field images: a disk that moves by a pixel across the scan turns the pixels near its edge into
ramps of the full disk contrast, which swamp the weak-object signal (measured, 48×64 scan, 300 kV,
20 mrad, a ±2 px plane of descan: SSB correlation with the object 0.82 → 0.10, OBF 0.92 → 0.03, WDD
0.94 → 0.13, where py4DSTEM's SSB, which removes the descan in ``preprocess``, keeps 0.79;
``tests/phase/test_peer_diff.py``).

:func:`remove_descan` fits d(r) as a plane in the scan indices to the per-pattern centre of mass
(:func:`~jaxem.phase.fit_descan`, the same fit as the CoM methods) — or takes a given d(r) — and
resamples every pattern at k + d(r) − d̄ (zero outside the detector; d̄ the mean descan, so the
calibrated ``center`` keeps its meaning) with SciPy's splines: bicubic by default, as py4DSTEM's
origin shifts (``shifting_interpolation_order=3``), or bilinear (``order=1``, quantem's default:
no over- or undershoot at the sharp disk edge, but the outermost bright-field pixels, which OBF
weights most, are smoothed). No interpolation restores a sharp disk edge sampled at a fraction of a
pixel: the outer bright-field pixels keep errors that vary with the shift, so
:func:`~jaxem.phase.bright_field_stack` leaves out pixels with aperture amplitude < 0.5 on data that
went through :func:`remove_descan` (measured on the case above, ±2 px of physical descan: SSB / OBF
0.63 / 0.48 with those pixels, 0.80 / 0.88 without, against 0.81 / 0.91 for the same pixels of the
data without descan and py4DSTEM's 0.79 / 0.88 on the descanned data). Frames are resampled in batches from the memory policy on the host (a
preprocessing pass, once per dataset); a Dask array stays lazy (chunk by chunk over the scan).
"""
from __future__ import annotations

import numpy as np

from .. import accel, validate
from .calibration import center_of_mass, fit_descan
from .dataset import Dataset4D


def _resample(block, shifts, order, memory_budget):
    """A (sy, sx, ny, nx) block of patterns sampled at (i + dy, j + dx) for shifts (sy, sx, 2) [px]
    (spline of ``order``, 0 outside the detector). One SciPy call per batch of frames: the frame index
    is an integer coordinate, where the tensor-product spline equals each frame's own 2-D interpolant."""
    from scipy import ndimage

    dt = np.dtype(block.dtype) if np.dtype(block.dtype).kind == "f" else np.dtype(np.float32)
    sy, sx, ny, nx = block.shape
    n = sy * sx
    frames = np.asarray(block).reshape(n, ny, nx)
    sh = np.reshape(shifts, (n, 2))
    out = np.empty((n, ny, nx), dt)
    b = accel.batch_size(8 * 8 * ny * nx, n, memory_budget, cpu_cap=64 * 2**20)
    iy, ix = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    for s0 in range(0, n, b):  # batches of frames (memory policy), not a loop over frames
        f = frames[s0:s0 + b].astype(np.float64)
        m = f.shape[0]
        coords = np.stack([np.broadcast_to(np.arange(m)[:, None, None], f.shape),
                           iy[None] + sh[s0:s0 + m, 0, None, None], ix[None] + sh[s0:s0 + m, 1, None, None]])
        out[s0:s0 + m] = ndimage.map_coordinates(f, coords, order=order, mode="grid-constant", cval=0.0)
    return out.reshape(sy, sx, ny, nx)


@validate.typed
def remove_descan(ds: Dataset4D, descan=None, order: int = 3, memory_budget=None) -> Dataset4D:
    """The dataset with its descan removed: every pattern resampled at k + d(r) − d̄ (module docstring).

    Args:
        ds: a :class:`~jaxem.phase.Dataset4D` (NumPy, JAX or Dask array; ``center`` is used for the
            centre of mass when set, else the detector middle).
        descan: the descan d(r) (Sy, Sx, 2) ordered (y, x) [px] — the displacement of the pattern at
            each scan position; default: a plane fitted to the centre of mass of the patterns.
        order: spline order of the resampling, 1 (bilinear) or 3 (bicubic, the default, as
            py4DSTEM's ``shifting_interpolation_order``).
        memory_budget: bytes (or '2G') for the frame batches (default: accel policy).
    Returns:
        a new Dataset4D (float array; lazy if ``ds`` is) whose ``metadata["descan_removed"]`` holds
        the removed plane's range [px]; every other calibration is unchanged.
    """
    validate.instance(ds, "ds", Dataset4D, "a Dataset4D")
    order = validate.choice(order, "order", (1, 3))
    sy, sx = ds.scan_shape
    if descan is None:
        _, fit = fit_descan(center_of_mass(ds, memory_budget=memory_budget), 1)
    else:
        fit = np.asarray(validate.array(descan, "descan", shape=(sy, sx, 2), kind="real", finite=True, units="px"),
                         np.float64)
    shifts = fit - fit.mean(axis=(0, 1))
    if ds.is_lazy:
        import dask.array as da

        arr = ds.array.rechunk({2: -1, 3: -1})
        dt = np.dtype(arr.dtype) if np.dtype(arr.dtype).kind == "f" else np.dtype(np.float32)

        def block(blk, block_info=None):
            (y0, y1), (x0, x1) = block_info[0]["array-location"][:2]
            return _resample(blk, shifts[y0:y1, x0:x1], order, memory_budget)

        new = arr.map_blocks(block, dtype=dt)
    else:
        new = _resample(np.asarray(ds.array), shifts, order, memory_budget)
    span = float(np.max(np.abs(shifts))) if shifts.size else 0.0
    return ds.replace(array=new, metadata={**ds.metadata, "descan_removed": {"max_shift": span, "units": "px"}})
