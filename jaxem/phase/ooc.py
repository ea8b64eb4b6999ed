"""Out-of-core WDD: data larger than memory through an on-disk (zarr) transpose.

WDD needs, at every scan frequency q, the whole detector G(q, K), while the data arrive as whole
frames (every K at one scan position). Both are complete chunks of two transposes, which are
written to a temporary zarr store so that every write fills whole chunks (no read-modify-write):

1. **frames → pixels**: scan-row blocks of the data (the source's own chunks) are moved into an array
   (ny, nx, Sy, Sx) chunked (detector-row block, nx, scan-row block, Sx);
2. **pixels → spectrum**: for each detector-row block, all its scan positions are read back, masked
   (non-finite values → the pixel's exact mean over the scan, :mod:`jaxem.phase.masking`),
   Fourier-transformed over the scan (the half plane q_x ≥ 0 inside the band |q| ≤ 2k_probe + edge
   that WDD evaluates, :func:`jaxem.phase.wdd.half_plane_frequencies`) and written to an array
   (n_q, ny, nx) chunked (q block, detector-row block, nx);
3. **spectrum → object**: q blocks of G are read and deconvolved by the same compiled kernel as the
   in-memory :func:`jaxem.phase.wdd.wdd` (``_wdd_pairs``), so the result is the same.

Every block is sized from the memory budget (:func:`jaxem.accel.memory_budget`), so the peak
memory is the budget plus the interpreter and the compiled kernels, independent of the data size.
The disk holds the float32 data once more plus the band spectrum (about the same again); the
temporary store is removed afterwards. The report gives the block sizes, the bytes written and the
masked non-finite values.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from . import geometry, masking
from .dataset import Dataset4D
from .wdd import _wdd_pairs, wdd_setup


def _zarr_array(path, shape, chunks, dtype):
    import zarr

    return zarr.create_array(store=str(path), shape=shape, chunks=chunks, dtype=dtype, compressors=None,
                             fill_value=0, overwrite=True)


@jax.jit
def _band_spectrum(block, sel):
    """rfft over the scan of a (r, nx, Sy, Sx) pixel block → the band rows ``sel`` as (n_q, r, nx)."""
    r, nx, sy, sx = block.shape
    spec = jnp.fft.rfftn(block, axes=(2, 3)).reshape(r, nx, -1)
    return jnp.moveaxis(jnp.take(spec, sel, axis=2), 2, 0)


def wdd_out_of_core(ds: Dataset4D, aberrations=None, rotation=None, epsilon: float = 1e-2, edge=None,
                    memory_budget=None, tmp_dir=None, return_complex: bool = False, precision=None):
    """WDD of a dataset of any size under the memory budget (module docstring).

    Args:
        ds: calibrated dataset; its array may be lazy (Dask, e.g. :func:`jaxem.phase.read_zarr`) or
            in memory.
        aberrations, rotation, epsilon, edge, return_complex, precision: as :func:`jaxem.phase.wdd`.
        memory_budget: bytes (or '2G') for every block (default: accel policy).
        tmp_dir: directory of the temporary transposed store (default: the system's temporary
            directory); it needs about twice the float32 size of the data.
    Returns:
        (phase [rad] (Sy, Sx) or the complex object, report dict).
    """
    epsilon, ab, rdt, edge, ky, kx, (half, qs, full, neg) = wdd_setup(ds, aberrations, rotation, epsilon, edge,
                                                                     precision)
    budget = accel.memory_budget(memory_budget)
    if tmp_dir is not None:
        tmp_dir = validate.path(tmp_dir, "tmp_dir", kind="dir")
    _, cdt = accel.dtypes(rdt)
    rsize, csize = np.dtype(rdt).itemsize, np.dtype(cdt).itemsize
    sy, sx, ny, nx = ds.shape
    n_q = half.size
    # block sizes from the budget (each step holds one block and its transforms)
    frame = ny * nx * rsize
    scan_rows = int(max(1, min(sy, budget // (3 * sx * frame))))
    if ds.is_lazy:  # align the scan-row blocks with the source chunks (whole chunks are read)
        c0 = ds.array.chunks[0][0]
        scan_rows = max(c0, scan_rows // c0 * c0) if scan_rows >= c0 else scan_rows
    per_det_row = nx * sy * sx * (2 * rsize + 3 * csize)
    det_rows = int(max(1, min(ny, budget // per_det_row)))
    per_q = ny * nx * csize * 4
    q_block = int(max(1, min(n_q, budget // per_q)))
    b = accel.batch_size(40 * ny * nx * csize, q_block, budget)
    report = {"memory_budget": int(budget), "scan_rows_per_block": scan_rows, "detector_rows_per_block": det_rows,
              "frequencies_per_block": q_block, "n_frequencies": int(n_q)}
    tmp = Path(tempfile.mkdtemp(prefix="jaxem_wdd_", dir=tmp_dir))
    try:
        pix = _zarr_array(tmp / "pixels.zarr", (ny, nx, sy, sx), (det_rows, nx, scan_rows, sx), np.dtype(rdt))
        for r0 in range(0, sy, scan_rows):  # I/O loop over blocks of the store
            blk = ds.array[r0:r0 + scan_rows]
            blk = np.asarray(blk.compute() if hasattr(blk, "compute") else blk, np.dtype(rdt))
            pix[:, :, r0:r0 + blk.shape[0], :] = np.moveaxis(blk, (0, 1), (2, 3))
            del blk
        spec = _zarr_array(tmp / "spectrum.zarr", (n_q, ny, nx), (q_block, det_rows, nx), np.dtype(cdt))
        sel = jnp.asarray(half)
        check = masking.can_hold_bad(ds.array)
        frame_bad, pixel_bad = np.zeros((sy, sx), np.int64), np.zeros((ny, nx), np.int64)
        for d0 in range(0, ny, det_rows):
            blk = np.asarray(pix[d0:d0 + det_rows])  # (r, nx, Sy, Sx): every scan position of these pixels
            if check and not np.all(np.isfinite(blk)):
                good = np.isfinite(blk)
                frame_bad += (~good).sum((0, 1))
                n_good = good.sum((2, 3))
                pixel_bad[d0:d0 + det_rows] = sy * sx - n_good
                means = np.where(n_good > 0, np.where(good, blk, 0).sum((2, 3)) / np.maximum(n_good, 1), 0.0)
                blk = np.where(good, blk, means[:, :, None, None].astype(blk.dtype))
            spec[:, d0:d0 + blk.shape[0], :] = np.asarray(_band_spectrum(jax.device_put(blk), sel))
            del blk
        bad = masking.BadData.from_counts(frame_bad, pixel_bad, sy * sx - pixel_bad)
        o_p = np.empty(n_q, np.dtype(cdt))
        o_m = np.empty(n_q, np.dtype(cdt))
        qs_j = jnp.asarray(qs, rdt)
        eps = jnp.asarray(epsilon, rdt)
        orders = geometry.active_orders(ab)
        for q0 in range(0, n_q, q_block):
            q1 = min(n_q, q0 + q_block)
            s0 = max(0, q1 - q_block)  # the last block is moved back: one program shape
            g = jax.device_put(np.asarray(spec[s0:q1]))
            p, m = _wdd_pairs(g, jnp.arange(q1 - s0), qs_j[s0:q1], ky, kx, ab, eps, b=b, wavelength=ds.wavelength,
                              cutoff=ds.probe_cutoff, edge=edge, orders=orders)
            o_p[q0:q1] = np.asarray(p)[q0 - s0:]
            o_m[q0:q1] = np.asarray(m)[q0 - s0:]
        report["bytes_on_disk"] = int(sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["bad_data"] = bad.to_dict()
    O = np.zeros(sy * sx, np.dtype(cdt))
    O[neg] = o_m
    O[full] = o_p
    O = O.reshape(sy, sx)
    obj = jnp.fft.ifft2(jnp.asarray(O / O[0, 0])) * (sy * sx)
    if return_complex:
        return obj, report
    ph = jnp.angle(obj)
    return ph - jnp.mean(ph), report
