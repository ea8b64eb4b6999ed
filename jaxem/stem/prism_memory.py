"""PRISM's memory policy: every batch of a PRISM scan from :func:`jaxem.accel.batch_size`.

Four batch axes: plane waves per batch in the S-matrix build (FFT-bound: the slice step), tiles of
probe positions per batch in the reduction (a matrix product, then one FFT per position: BLAS-bound),
tile rows per chunk of the scan (what a chunk holds is its detector signals), and frozen-phonon
configurations per batch (FFT-bound). Each is sized under the budget left after the S-matrix and, on
the CPU without an explicit ``memory_budget``, under a working-set cap, so that the batch shapes do not
follow the free memory there and a repeated call compiles nothing (as multislice's
:func:`jaxem.stem.scanning.scan_batches`). An explicit budget lifts the caps.
"""
from __future__ import annotations

import numpy as np

from .. import accel

__all__ = ["prism_batches", "member_batches", "tile_bytes", "TILE_CAP_FACTOR", "CHUNK_CAP"]

#: complex (n_y, n_x) arrays alive per plane wave in the slice step and the band crop
_WAVE_COPIES = 10


def _wave_batch(grid, band, exits, cdtype, n, budget):
    """Plane waves per batch of the S-matrix build (the slice step: FFT-bound, under the house's working
    set on the CPU without an explicit budget ``budget``)."""
    npix = grid.gpts[0] * grid.gpts[1]
    n_out = 1 if exits is None else len(exits)
    per = np.dtype(cdtype).itemsize * (_WAVE_COPIES * npix + (n_out + 1) * (npix + band[0] * band[1]))
    return accel.batch_size(per, n, budget, cpu_cap=accel.cpu_working_set())


#: CPU cap on one batch of reduction tiles (a matrix product of the tile's plane-wave coefficients with
#: the S-matrix window, then one FFT per position), in units of the house's FFT working set
#: (:func:`jaxem.accel.cpu_working_set`): measured in :func:`prism_batches` (was 4, unmeasured)
TILE_CAP_FACTOR = 1
#: CPU cap [bytes] on one chunk of scan rows: what a chunk holds is its detector signals (device result
#: and host copies, 4 × the signal bytes), no FFT work; see :func:`prism_batches` for the measurement
CHUNK_CAP = 64 * 2**20


def tile_bytes(k, window, extra, t, wgrid_gpts, n_exit, item, signal_bytes) -> int:
    """Working set [bytes] of one tile of t_y·t_x positions in the reduction: the S-matrix cut to the
    enlarged window (K × big), the tile's waves before and after the per-position cut, the patterns
    (FFT in, out, |·|², padded) and the signals."""
    tpos = t[0] * t[1]
    big = (window[0] + extra[0]) * (window[1] + extra[1])
    per = item * n_exit * (k * big + 2 * tpos * big + 4 * tpos * max(window[0] * window[1],
                                                                      wgrid_gpts[0] * wgrid_gpts[1]))
    return int(per + tpos * signal_bytes)


def _capped(per, n, memory_budget, left, cap) -> int:
    """The batch under the budget left after the S-matrix, and (CPU, no explicit budget) under ``cap``."""
    return int(min(accel.batch_size(per, n, left), accel.batch_size(per, n, memory_budget, cpu_cap=cap)))


def prism_batches(per_tile: int, tiles_shape: tuple, row_bytes: int, s_bytes: int, memory_budget=None) -> tuple:
    """(tiles per ``lax.map`` batch, tile rows per chunk) of a PRISM scan.

    A tile holds ``per_tile`` bytes (:func:`tile_bytes`), a row of tiles ``row_bytes`` of detector
    signals in the output chunk; ``tiles_shape`` = (tile rows, tiles per row). Both batches come from
    :func:`jaxem.accel.batch_size` under the budget left after the S-matrix (``s_bytes``; at least a
    quarter of the budget) and, on the CPU without an explicit ``memory_budget``, under a working-set
    cap (tiles: ``TILE_CAP_FACTOR`` × :func:`~jaxem.accel.cpu_working_set`; rows: :data:`CHUNK_CAP`),
    so the chunk shapes do not follow the free memory there and a repeated call compiles nothing.
    A chunk holds at least one batch of tiles.

    Measured (``benchmarks/prism_batches.py``: SrTiO3 4 × 4 cells, 2 nm, f = 2, HAADF + 4D-STEM to
    80 mrad, 32 × 32 positions, 11 tile rows of 5.8 MiB of signals; 2-core CPU at load 8–11; ms per
    position, best / median of interleaved runs; three runs of 5, 7 and 9)::

        chunk [MiB]   tile batch [MiB]   run 1         run 2         run 3
        5.8 (1 row)   61.5               1.55 / 2.66   2.93 / 4.65
        11.6          61.5                             3.32 / 4.72
        23.3          61.5               1.59 / 2.93   3.13 / 4.29
        64.0 (all)    61.5               2.19 / 3.30   2.72 / 4.05   1.92 / 2.09
        64.0          15.4               1.41 / 2.48   2.05 / 3.17   1.04 / 1.83
        64.0          30.8                                           1.20 / 1.96
        64.0          61.5               1.24 / 3.32   2.20 / 4.23   1.95 / 2.20
        64.0          253.8              1.69 / 3.80   2.90 / 4.62

    The chunk's size does not matter beyond the load's noise (it holds signals only): :data:`CHUNK_CAP`
    = 64 MiB bounds the memory and fixes the shape at no cost. Tile batches of ~16 MiB are the fastest in
    every run (medians 13–25 % below 62 MiB, 253.8 MiB slowest): the tiles' FFTs and the window's
    gather weigh as much as the matrix product, so ``TILE_CAP_FACTOR`` = 1 (the house's FFT working set).
    At ``benchmarks/prism.py``'s size (400², 64 × 64 positions; 3.3 nm here) a tile is 29 MiB at f = 4
    and 400 MiB at f = 2: factor 1 vs 4 gives 1 vs 2 tiles per batch, 3.88 vs 3.91 s per scan (f = 4), and
    the same batch at f = 2 (best of 3, load 5–7).
    """
    budget = accel.memory_budget(memory_budget)
    left = max(budget - int(s_bytes), budget // 4)
    n_rows, per_row = (int(v) for v in tiles_shape)
    ws = accel.cpu_working_set()
    tile_batch = _capped(per_tile, n_rows * per_row, memory_budget, left,
                         None if ws is None else TILE_CAP_FACTOR * ws)
    rows = _capped(max(1, int(row_bytes)), n_rows, memory_budget, left, None if ws is None else CHUNK_CAP)
    rows = min(max(rows, -(-tile_batch // per_row)), n_rows)
    return tile_batch, rows


def member_batches(grid, band, exits, cdtype, k, n_slices, n_members, per_member_extra, memory_budget=None):
    """(plane waves per batch in a configuration's S-matrix build, configurations per ``vmap`` batch)
    of a frozen-phonon PRISM scan: both FFT-bound (the slice step), so capped on the CPU by
    :func:`jaxem.accel.cpu_working_set` like multislice's ensembles. A configuration holds its
    transmission functions, its S-matrix and a batch of reduction tiles (``per_member_extra``)."""
    item = np.dtype(cdtype).itemsize
    left = None
    if memory_budget is not None:
        budget = accel.memory_budget(memory_budget)
        left = max(budget - int(per_member_extra), budget // 4)
    wave_batch = int(_wave_batch(grid, band, exits, cdtype, k, left))
    per_member = int(per_member_extra) + 3 * n_slices * grid.gpts[0] * grid.gpts[1] * item
    member_batch = int(accel.batch_size(per_member, n_members, memory_budget, cpu_cap=accel.cpu_working_set()))
    return wave_batch, member_batch


