"""Memory estimate of a STEM scan before it runs (``jaxem simulate … --dry-run``).

It follows the working set that :func:`jaxem.stem.stem_scan` declares to the memory policy: per
probe position ``_WAVE_COPIES`` complex (ny, nx) arrays plus its detector signals; the transmission
functions of every slice (or, for frozen phonons, of each configuration in flight); the probe,
propagator and detector masks; and the host copy of each block of rows of the 4D output.
"""
from __future__ import annotations

import math

import numpy as np

from .. import accel, validate
from ..accel.estimate import MemoryEstimate

__all__ = ["estimate_stem"]


def estimate_stem(sim, scan, potential, *, thermal=None, n_configs=None, snapshots=None, precision=None,
                  memory_budget=None, block_rows=None, **_ignored) -> MemoryEstimate:
    """The :class:`~jaxem.accel.estimate.MemoryEstimate` of ``stem_scan(sim, scan, potential, …)``
    (and of :func:`jaxem.stem.stem_scan_to_zarr` with ``block_rows``) [bytes]."""
    import inspect

    import jax

    from ..stem.scan import GridScan
    from ..stem.scanning import (_WAVE_COPIES, STEMSimulation, _signals, scan_batches,  # noqa: F401  (the same constants)
                                 stem_scan)

    validate.instance(sim, "sim", STEMSimulation)
    validate.instance(scan, "scan", GridScan)
    unknown = sorted(set(_ignored) - set(inspect.signature(stem_scan).parameters))
    if unknown:  # stem_scan's other arguments do not change the working set; anything else is a typo
        raise validate.InputError(f"estimate_stem got unknown keyword argument(s) {', '.join(unknown)}; it takes "
                                  f"stem_scan's arguments")
    grid = getattr(potential, "grid", None)
    if grid is None:
        raise validate.InputTypeError(f"potential must be PotentialSlices, got {type(potential).__name__}")
    rdtype, cdtype = accel.dtypes(precision)
    rsize, csize = np.dtype(rdtype).itemsize, np.dtype(cdtype).itemsize
    npix = int(grid.gpts[0] * grid.gpts[1])
    budget = accel.memory_budget(memory_budget)
    free = accel.available_memory()
    states = tuple(d.prepare(sim.beam, grid) for d in sim.detectors)
    shapes = jax.eval_shape(lambda st, dp: _signals(sim.detectors, st, dp), states,
                            jax.ShapeDtypeStruct(grid.gpts, rdtype))
    signal_bytes = sum(math.prod(s.shape) * rsize for s in shapes)
    per_position = _WAVE_COPIES * npix * csize + signal_bytes
    batch, rows = scan_batches(per_position, signal_bytes, scan, memory_budget)
    n_slices = int(getattr(potential, "n_slices", np.shape(potential.array)[0]))
    n_unique = int(np.shape(potential.array)[0])
    parts = [("probe waves (batch of positions)", batch * per_position)]
    batches = [("positions", batch), ("rows per chunk", rows)]
    if thermal is None:
        parts.append(("transmission functions", n_unique * npix * csize))
    else:
        n = int(np.shape(snapshots)[0]) if thermal == "snapshots" else int(n_configs or 8)
        per_member = 3 * n_slices * npix * csize + batch * per_position
        members = accel.batch_size(per_member, n, memory_budget, cpu_cap=accel.cpu_working_set())
        parts.append((f"{members} configuration(s) in flight", members * per_member))
        batches.append(("configurations", members))
    det_bytes = sum(sum(np.asarray(a).nbytes for a in jax.tree.leaves(s)) for s in states)
    parts.append(("probe, propagator, detector masks", 2 * npix * csize + det_bytes))
    out_rows = int(block_rows or rows)
    parts.append(("output block (host)", out_rows * scan.gpts[1] * signal_bytes))
    what = (f"STEM scan {scan.gpts[0]} × {scan.gpts[1]} positions, {grid.gpts[0]} × {grid.gpts[1]} pixels, "
            f"{n_slices} slices, {np.dtype(cdtype).name}" + (f", thermal={thermal}" if thermal else ""))
    hint = (f"lower memory_budget (now {accel.estimate.format_bytes(budget)}; CLI: --memory-budget) to run fewer "
            "probe positions at once, use a coarser sampling or a smaller pixelated max_angle")
    return MemoryEstimate(what, tuple(parts), int(budget), int(free), tuple(batches),
                          output=int(scan.n_positions * signal_bytes), hint=hint)
