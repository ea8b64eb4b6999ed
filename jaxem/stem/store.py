"""4D-STEM streamed to disk: a STEM scan with a pixelated detector, written in blocks of scan rows in
the one 4D-STEM layout (:mod:`jaxem.io.stem4d`), resumable after a crash.

The scan is cut into blocks of ``block_rows`` scan rows. Each block is one call of a *row compute*
``compute_rows(sub_scan) -> {output name: Measurement}`` on the :class:`GridScan` of those rows
(:func:`block_scan`); by default that is :func:`stem_scan` (multislice, every thermal model), and
any scan method with the same contract (e.g. PRISM) can be passed instead. The returned
measurements have the scan axes first (``(rows, scan_x, *signal)``): the (one) pixelated detector's
patterns go to the store, the other outputs are kept beside it and returned at the end.

Every block, in a fresh or a resumed run, is the same computation on the same shapes, so a resumed
run is bit-for-bit the uninterrupted one, and no block recompiles. Blocks are written with a
completion record (:class:`jaxem.io.stem4d.ResumableStore`); an unfinished store lives in
``<path>.resume`` and is refused by :func:`jaxem.io.load`; ``path`` is replaced only by a complete
store, atomically.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import time

import numpy as np

from .. import validate
from ..io.stem4d import ResumableStore, metadata
from .detectors import PixelatedDetector
from .scan import GridScan
from .scanning import STEMSimulation, stem_scan

__all__ = ["stem_scan_to_zarr", "ResumableStore", "block_scan", "default_block_rows", "run_fingerprint", "ScanPlan"]


def _n_configurations(kwargs) -> int:
    thermal = kwargs.get("thermal")
    if thermal is None:
        return 1
    if thermal == "snapshots":
        return int(np.shape(kwargs.get("snapshots"))[0])
    n = kwargs.get("n_configs")
    return int(n if n is not None else inspect.signature(stem_scan).parameters["n_configs"].default or 8)


def block_scan(scan: GridScan, rows: slice) -> GridScan:
    """The :class:`GridScan` of scan rows ``rows`` of ``scan`` (same columns and steps)."""
    sy = scan.sampling[0]
    y0 = scan.start[0] + rows.start * sy
    return GridScan((y0, scan.start[1]), (y0 + (rows.stop - rows.start) * sy, scan.end[1]),
                    (rows.stop - rows.start, scan.gpts[1]))


def default_block_rows(bytes_per_row: int, n_rows: int, memory_budget=None) -> int:
    """Scan rows per block: what the memory budget holds of the 4D output (host copy, 4 buffers),
    capped so a scan has at least 4 blocks (progress and resume points) where it has 4 rows."""
    from .. import accel

    b = accel.batch_size(4 * max(1, int(bytes_per_row)), n_rows, memory_budget)
    return int(max(1, min(b, -(-n_rows // 4))))


def _digest(x) -> str:
    if x is None:
        return "None"
    try:
        import jax

        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
    except Exception:  # noqa: BLE001
        pass
    try:
        a = np.asarray(x)
    except Exception:  # noqa: BLE001
        return type(x).__qualname__
    if a.dtype.kind in "biufc":
        return hashlib.sha256(a.dtype.str.encode() + repr(a.shape).encode() + np.ascontiguousarray(a).tobytes()
                              ).hexdigest()[:24]
    return repr(x) if isinstance(x, (str, int, float, bool, tuple, list)) else type(x).__qualname__


def run_fingerprint(sim, scan, potential, block_rows: int, **kwargs) -> str:
    """A hash of everything a scan's result depends on (configuration, specimen arrays, block size)."""
    def describe(v):
        if hasattr(v, "to_dict"):
            return v.to_dict()
        if hasattr(v, "grid"):  # PotentialSlices
            return {"array": _digest(getattr(v, "array", None)), "sequence": list(getattr(v, "sequence", ())),
                    "slice_thickness": float(getattr(v, "slice_thickness", 0.0)), "grid": repr(v.grid)}
        if hasattr(v, "positions") and hasattr(v, "numbers"):  # Structure
            return {k: _digest(getattr(v, k, None)) for k in ("positions", "numbers", "cell", "u2", "occupancy")}
        if isinstance(v, (str, int, float, bool)) or v is None:
            return v
        return _digest(v)

    desc = {"sim": describe(sim), "scan": describe(scan), "potential": describe(potential),
            "block_rows": int(block_rows), **{k: describe(v) for k, v in sorted(kwargs.items())}}
    return hashlib.sha256(json.dumps(desc, sort_keys=True, default=repr).encode()).hexdigest()


def _pause_for_tests(block: int) -> None:
    """Test hook: ``JAXEM_TEST_BLOCK_PAUSE=seconds`` prints each written block and sleeps, so a kill
    test can interrupt a scan between blocks."""
    pause = os.environ.get("JAXEM_TEST_BLOCK_PAUSE")
    if pause:
        import sys

        print(f"jaxem-block-done {block}", file=sys.stderr, flush=True)
        time.sleep(float(pause))


class ScanPlan:
    """A 4D-STEM scan to a store, as independent blocks of rows (used in-process by
    :func:`stem_scan_to_zarr` and on a cluster by :func:`jaxem.parallel.dask_stem_scan_to_zarr`).

    ``pending()`` lists the blocks to compute, ``run(block)`` computes and records one (in any
    process: the plan pickles), ``finish()`` writes axes and metadata and swaps the store into
    ``path``. See :func:`stem_scan_to_zarr` for the arguments.
    """

    def __init__(self, path, sim, scan, potential=None, *, compute_rows=None, block_rows=None, resume=False,
                 **kwargs):
        for key in ("chunk_callback", "exit_planes"):
            if kwargs.get(key) is not None:
                raise validate.InputError(f"stem_scan_to_zarr writes one 4D data set per block; {key}= is not "
                                          f"supported here (use stem_scan)")
        validate.flag(resume, "resume")
        pix = [d for d in getattr(sim, "detectors", ()) if isinstance(d, PixelatedDetector)]
        if len(pix) != 1:
            raise validate.InputError(f"stem_scan_to_zarr needs exactly one PixelatedDetector in sim.detectors (one "
                                      f"4D data set per store), got {len(pix)}")
        grid = getattr(potential, "grid", None)
        if grid is None:
            raise validate.InputTypeError(f"potential must be PotentialSlices (it fixes the grid), got "
                                          f"{type(potential).__name__}")
        if compute_rows is not None and not callable(compute_rows):
            raise validate.InputTypeError(f"compute_rows must be a function sub_scan -> {{name: Measurement}}, got "
                                          f"{type(compute_rows).__name__}")
        from ..io.layout import format_of

        format_of(path)
        kwargs.pop("progress", None)  # blocks run without their own progress bars
        self.sim, self.scan, self.potential, self.kwargs = sim, scan, potential, kwargs
        self.det = pix[0]
        self.compute_rows = compute_rows
        ny, nx = scan.gpts
        if block_rows is None:
            npat = int(np.prod(grid.gpts))  # upper bound of a pattern's pixels (float32)
            block_rows = default_block_rows(nx * npat * 4, ny, kwargs.get("memory_budget"))
        self.block_rows = validate.integer(block_rows, "block_rows", lo=1, hi=ny)
        self.fingerprint = run_fingerprint(sim, scan, potential, self.block_rows, **kwargs,
                                           compute_rows=getattr(compute_rows, "__qualname__", None))
        if compute_rows is None:  # a PRISM scan builds its S-matrix once per run, not once per block
            from .prism_run import prism_rows

            self.compute_rows = prism_rows(sim, scan, potential, **kwargs)
        self.store = ResumableStore(path, self.fingerprint, ny, nx, self.block_rows, resume=bool(resume))
        self.path = self.store.path
        self.template = None
        self.pattern_axes = None

    def compute(self, block: int) -> dict:
        """{name: Measurement} of one block (always ``block_rows`` rows: the last block is computed on
        the last ``block_rows`` rows of the scan and cropped, so every block has the same shapes)."""
        ny = self.scan.gpts[0]
        rows = self.store.rows(block)
        r0 = min(rows.start, ny - self.block_rows)
        sub = block_scan(self.scan, slice(r0, r0 + self.block_rows))
        if self.compute_rows is None:
            out = stem_scan(self.sim, sub, self.potential, progress=False, **self.kwargs)
        else:
            out = self.compute_rows(sub)
        if not isinstance(out, dict) or self.det.name not in out:
            raise validate.InputError(f"compute_rows must return {{name: Measurement}} including the pixelated "
                                      f"detector {self.det.name!r}, got {type(out).__name__}")
        skip = rows.start - r0
        return {k: _crop(m, skip, rows.stop - rows.start) for k, m in out.items()}

    def pending(self) -> list:
        return self.store.pending()

    def run(self, block: int) -> int:
        """Compute and record ``block`` (creating the arrays if it is the first); returns it."""
        out = self.compute(block)
        arrays = {k: np.asarray(getattr(m, "array", m)) for k, m in out.items()}
        if not self.store.started:
            self.store.create(self.det.name, arrays)
        self.store.write(block, arrays)
        if self.template is None:
            self.template = {k: m for k, m in out.items() if k != self.det.name}
            self.pattern_axes = _signal_axes(out[self.det.name])
        _pause_for_tests(block)
        return block

    def prepare(self) -> list:
        """Check the recorded blocks (damaged ones are recomputed) and create the arrays if no block was
        written yet (computing the first pending block here); returns the blocks still to compute."""
        self.store.verify()
        todo = self.pending()
        if todo and not self.store.started:
            self.run(todo[0])
            todo = todo[1:]
        return todo

    def finish(self) -> dict:
        """Write axes and metadata, swap the store into ``path``; returns the other outputs."""
        beam, grid, scan, sim = self.sim.beam, self.potential.grid, self.scan, self.sim
        if self.template is None:  # every block was computed by other processes: one more row for the axes
            one = block_scan(scan, slice(0, 1))
            out = (stem_scan(sim, one, self.potential, progress=False, **self.kwargs)
                   if self.compute_rows is None else self.compute_rows(one))
            self.template = {k: m for k, m in out.items() if k != self.det.name}
            self.pattern_axes = _signal_axes(out[self.det.name])
        # the patterns' own axes as computed (PRISM at f > 1 samples them on its window grid, n/f per
        # axis, not on the potential's grid); the detector's axes on the potential grid only for a compute
        # that returns bare arrays
        axes = tuple(scan.axes()) + (self.pattern_axes or tuple(self.det.signal_axes(beam, grid)))
        sim_md = {k: v for k, v in sim.to_dict().items() if k not in ("beam", "semi_angle", "detectors")}
        md = metadata(beam, sim.semi_angle, scan.sampling, (axes[2].sampling, axes[3].sampling),
                      title=self.det.name, **sim_md, detector=self.det.to_dict(), scan=scan.to_dict(),
                      thermal=self.kwargs.get("thermal") or "static", n_configurations=_n_configurations(self.kwargs))
        choice = getattr(self.compute_rows, "choice", None)  # method="auto": the decision and who made it
        if choice is not None:
            md["method_choice"] = choice.to_dict()
        side = self.store.signals()
        self.store.finish(axes, md, signal_ndim=2)
        res = {}
        for k, m in self.template.items():
            meta = dict(m.metadata)
            if "scan" in meta:
                meta["scan"] = scan.to_dict()
            res[k] = type(m)(side[k], tuple(scan.axes()) + tuple(m.axes[2:]), meta, m.signal_ndim)
        return res


def _signal_axes(m):
    """The two pattern axes of a computed 4D block (None for a bare array)."""
    axes = getattr(m, "axes", None)
    return tuple(axes[2:]) if axes is not None and len(axes) == 4 else None


def _crop(m, start: int, n: int):
    if start == 0 and np.shape(getattr(m, "array", m))[0] == n:
        return m
    if hasattr(m, "array") and hasattr(m, "axes"):
        return type(m)(np.asarray(m.array)[start:start + n], m.axes, m.metadata, m.signal_ndim)
    return np.asarray(m)[start:start + n]


@validate.typed(duck=("sim", "scan"))  # compute_rows makes the store pluggable: any sim/scan with their interface
def stem_scan_to_zarr(path, sim: STEMSimulation, scan: GridScan, potential=None, *, resume: bool = False,
                      compute_rows=None, block_rows=None, on_block=None, **kwargs) -> dict:
    """Like :func:`stem_scan`, but the 4D-STEM data of the (one) pixelated detector go to a store at
    ``path`` block by block, without holding the 4D array in memory, and a killed run can be resumed.

    The store follows the one 4D-STEM layout (:mod:`jaxem.io.stem4d`): axes ``scan_y, scan_x`` [Å],
    ``θy, θx`` [mrad] (centred patterns, the detector's own axes), metadata with units (energy, beam,
    semi-angle, scan and detector sampling, aberrations, detector, thermal model), one zarr chunk per
    scan row. Name it ``.zspy`` to open it with ``hs.load``; ``.zarr`` gives zarr v3 (xarray:
    ``xr.open_zarr(path, group=jaxem.io.SIGNAL_GROUP)``); :func:`jaxem.io.load` reads either.

    Until the scan is complete it is built in ``<path>.resume`` (blocks with completion records,
    see :class:`jaxem.io.stem4d.ResumableStore`); ``path`` keeps what was there and is replaced in
    one step by the complete store. ``resume=True`` continues such an interrupted scan: only the
    blocks without a record are computed, and the result is identical to an uninterrupted run (a
    folder left by a different configuration is refused).

    Args:
        path: the store (``.zspy`` or ``.zarr``).
        sim, scan, potential, kwargs: as for :func:`stem_scan` (``chunk_callback`` and
            ``exit_planes`` are refused; ``memory_budget`` also sets the default block size).
        resume: continue an interrupted scan of the same configuration.
        compute_rows: the row compute, ``f(sub_scan: GridScan) -> {name: Measurement}`` with axes
            (scan_y, scan_x, *signal), including the pixelated detector's patterns (default:
            :func:`stem_scan` with ``kwargs``). Any scan method fits (e.g. PRISM); it must be
            deterministic for resumed runs to equal uninterrupted ones.
        block_rows: scan rows per block (default from the memory budget, at least 4 blocks).
        on_block: called as ``f(block, rows, computed)`` for every block (``computed=False`` for a
            block found complete on resume), e.g. to count work.

    Returns:
        the other outputs, ``{name: Measurement}`` (in memory, as :func:`stem_scan`).
    """
    if on_block is not None and not callable(on_block):
        raise validate.InputTypeError(f"on_block must be callable, got {type(on_block).__name__}")
    from .. import accel
    from ..parallel.estimate import estimate_stem

    progress = kwargs.pop("progress", True)
    plan = ScanPlan(path, sim, scan, potential, compute_rows=compute_rows, block_rows=block_rows, resume=resume,
                    **kwargs)
    done = set(plan.store.done())
    first_pending = plan.pending()[:1]
    with accel.out_of_memory_hint(lambda: estimate_stem(sim, scan, potential, **kwargs).report()):
        todo = plan.prepare()
    if on_block is not None:
        for b in range(plan.store.n_blocks):
            if b in done and b in plan.store.done():
                on_block(b, plan.store.rows(b), False)
        for b in first_pending:
            if b not in todo:
                on_block(b, plan.store.rows(b), True)
    from tqdm.auto import tqdm

    bar = tqdm(total=plan.store.n_blocks, initial=plan.store.n_blocks - len(todo), desc="STEM scan (blocks)",
               disable=not progress, unit="block")
    for b in todo:
        with accel.out_of_memory_hint(lambda: estimate_stem(sim, scan, potential, **kwargs).report()):
            plan.run(b)
        if on_block is not None:
            on_block(b, plan.store.rows(b), True)
        bar.update()
    bar.close()
    return plan.finish()
