"""The one 4D-STEM layout, shared by the simulation writer (:func:`jaxem.stem.stem_scan_to_zarr`) and
the analysis readers (``jaxem.phase.read_4dstem``, ``Dataset4D.from_measurement``).

A 4D-STEM data set is a :class:`~jaxem.measurement.Measurement` of shape (scan_y, scan_x, θy, θx):

* axes ``scan_y, scan_x`` [Å]: probe positions, ``offset`` = the first position;
* axes ``θy, θx`` [mrad]: scattering angles of the *centred* diffraction patterns (zero angle at
  index ``n // 2`` for unbinned patterns; in general at ``-offset / sampling``). Readers also accept
  ``ky, kx`` [1/Å] and convert with the beam (k = θ / λ);
* ``signal_ndim = 2`` (HyperSpy: navigation = scan, signal = pattern);
* metadata with units: ``energy`` [eV] and ``beam`` (energy, tilt, wavelength), ``semi_angle``
  [mrad], ``scan_sampling`` [Å], ``detector_sampling`` [mrad]; ``quantity`` of the values.

Written with :func:`jaxem.io.save` / :func:`jaxem.io.writer` it is one chunk per scan row. A
``.zspy`` store opens in ``hs.load`` (Signal2D, every axis calibrated) and in
``xr.open_zarr(path, group=jaxem.io.SIGNAL_GROUP)`` (dims named, coordinates); ``.zarr`` is the
zarr v3 variant of the same layout (HyperSpy reads it through ``rsciio.zspy.file_reader``).
:func:`calibration` reads the calibrations back in fixed units.
"""
from __future__ import annotations

from .. import validate
from ..measurement import Measurement, metadata_value, quantity

__all__ = ["DIMS", "metadata", "calibration", "ResumableStore", "resume_dir"]

#: dimension names of the 4D-STEM layout
DIMS = ("scan_y", "scan_x", "θy", "θx")
_RECIPROCAL = {("θy", "θx"): "mrad", ("ky", "kx"): "1/Å"}


def metadata(beam, semi_angle, scan_sampling, detector_sampling, **extra) -> dict:
    """Metadata of a 4D-STEM data set with units (see the module docstring); ``extra`` entries are
    added as given (plain numbers under documented keys get their units when written)."""
    return {"energy": quantity(beam.energy, "eV"), "beam": beam.to_dict(),
            "semi_angle": quantity(validate.scalar(semi_angle, "semi_angle", "mrad", nonnegative=True), "mrad"),
            "scan_sampling": quantity(list(validate.pair(scan_sampling, "scan_sampling", "Å")), "Å"),
            "detector_sampling": quantity(list(validate.pair(detector_sampling, "detector_sampling", "mrad")), "mrad"),
            "quantity": "fraction of probe intensity", "units": "", **extra}


def calibration(m: Measurement) -> dict:
    """The calibrations of a 4D-STEM :class:`~jaxem.measurement.Measurement` in fixed units.

    Returns a dict with ``energy`` [eV], ``beam`` (a :class:`~jaxem.beam.Beam`), ``scan_sampling``
    and ``scan_origin`` (y, x) [Å], ``detector_sampling`` (y, x) [1/Å], ``detector_sampling_mrad``
    (y, x) [mrad], ``center`` (y, x) [pixels] (the zero-angle position in the pattern) and
    ``semi_angle`` [mrad] (None if not recorded). Errors name what does not follow the layout.
    """
    if not isinstance(m, Measurement):
        raise validate.InputTypeError(f"a 4D-STEM Measurement is needed, got {type(m).__name__}")
    if m.ndim != 4:
        raise validate.InputError(f"a 4D-STEM Measurement has 4 axes (scan_y, scan_x, θy, θx), got {m.dims}")
    ay, ax, ky, kx = m.axes
    if (ay.name, ax.name) != DIMS[:2] or ay.units != "Å" or ax.units != "Å":
        raise validate.InputError(f"4D-STEM scan axes must be scan_y, scan_x in Å, got "
                                  f"{ay.name} [{ay.units}], {ax.name} [{ax.units}]")
    units = _RECIPROCAL.get((ky.name, kx.name))
    if units is None or ky.units != units or kx.units != units:
        raise validate.InputError(f"4D-STEM pattern axes must be θy, θx [mrad] or ky, kx [1/Å], got "
                                  f"{ky.name} [{ky.units}], {kx.name} [{kx.units}]")
    if "beam" not in m.metadata and "energy" not in m.metadata:
        raise validate.InputError("4D-STEM metadata must hold the beam energy ('energy' [eV] or 'beam')")
    beam = m.beam()
    if units == "mrad":
        mrad = (ky.sampling, kx.sampling)
        inv = tuple(float(beam.mrad_to_frequency(s)) for s in mrad)
    else:
        inv = (ky.sampling, kx.sampling)
        mrad = tuple(float(beam.frequency_to_mrad(s)) for s in inv)
    return {"energy": beam.energy, "beam": beam, "scan_sampling": (ay.sampling, ax.sampling),
            "scan_origin": (ay.offset, ax.offset), "detector_sampling": inv, "detector_sampling_mrad": mrad,
            "center": (-ky.offset / ky.sampling, -kx.offset / kx.sampling),
            "semi_angle": metadata_value(m.metadata, "semi_angle", "mrad",
                                         metadata_value(m.metadata, "semi_angle_mrad", "mrad", None))}


# ---- resumable writing: a partial store with chunk-completion records -------------------------------
RESUME_SUFFIX = ".resume"
_RECORDS = "blocks"
_SIDECAR = "signals.zarr"


def resume_dir(path) -> "Path":
    """The folder beside ``path`` that holds an unfinished resumable write (``<path>.resume``)."""
    from pathlib import Path

    p = Path(path)
    return p.with_name(p.name + RESUME_SUFFIX)


def _sha(block) -> str:
    import hashlib

    import numpy as np

    a = np.ascontiguousarray(block)
    return hashlib.sha256(a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes()).hexdigest()


class ResumableStore:
    """A 4D-STEM store written block by block (blocks of scan rows) that survives a crash.

    Layout while unfinished, in ``<path>.resume/`` (never at ``path``, so nothing there is replaced
    until the whole store is complete)::

        run.json               fingerprint of the run (what it computes), shape, block size
        data<suffix>           the store in the one jaxem layout, root attribute jaxem.complete = false
                               (:func:`jaxem.io.load` refuses it), one zarr chunk per scan row
        signals.zarr           the other outputs of the scan (annular, CoM, …), rows block-aligned
        blocks/000003.json     completion record of block 3 (rows, SHA-256 of every output), written
                               atomically *after* the block's data: a block without a record is
                               recomputed, a record without matching data is an error

    Blocks align with the zarr chunks, so separate processes (Dask workers) may write different
    blocks at once. :meth:`finish` writes axes and metadata, marks the store complete, swaps it into
    ``path`` atomically and removes the folder.

    Args:
        path: the final store (``.zarr`` or ``.zspy``; HDF5 cannot be resumed safely).
        fingerprint: a string identifying the computation (a store made for another one is refused).
        n_rows, n_cols: scan shape; block_rows: scan rows per block.
        resume: continue an unfinished write found at ``<path>.resume`` (else it is an error to find one).
    """

    def __init__(self, path, fingerprint: str, n_rows: int, n_cols: int, block_rows: int, resume: bool = False):
        import json
        import shutil
        from pathlib import Path

        from .layout import format_of

        from .layout import Format

        self.target_fmt = format_of(path)
        # HDF5 cannot be continued safely after a crash: the unfinished store is zarr v3, converted at the end
        fmt = self.target_fmt if self.target_fmt.kind == "zarr" else Format("zarr", 3)
        self.path, self.fmt = Path(path), fmt
        self.dir = resume_dir(self.path)
        self.n_rows, self.n_cols = int(n_rows), int(n_cols)
        self.block_rows = int(block_rows)
        self.n_blocks = -(-self.n_rows // self.block_rows)
        self.data_path = self.dir / ("data" + (self.path.suffix if self.target_fmt.kind == "zarr" else ".zarr"))
        run = {"fingerprint": fingerprint, "shape": [self.n_rows, self.n_cols], "block_rows": self.block_rows}
        if self.dir.exists():
            if not resume:
                raise validate.InputError(
                    f"{self.dir} holds an interrupted write of {self.path.name}: pass resume=True (CLI: --resume) "
                    f"to continue it, or delete that folder to start again")
            try:
                old = json.loads((self.dir / "run.json").read_text())
            except (OSError, ValueError):
                old = None
            if old is None:  # killed before the run was recorded: nothing to keep
                shutil.rmtree(self.dir)
            elif old != run:
                what = [k for k in run if old.get(k) != run[k]]
                raise validate.InputError(
                    f"{self.dir} belongs to another computation ({', '.join(what)} differ{'s' if len(what) == 1 else ''}"
                    f": the configuration changed since it was interrupted); resume with the same configuration "
                    f"or delete that folder")
        if not self.dir.exists():
            from ..atomic import atomic_write_text

            (self.dir / _RECORDS).mkdir(parents=True)
            atomic_write_text(self.dir / "run.json", json.dumps(run))

    # -- records ----------------------------------------------------------------------------------
    def rows(self, block: int) -> slice:
        """Scan rows of ``block``."""
        r0 = int(block) * self.block_rows
        return slice(r0, min(self.n_rows, r0 + self.block_rows))

    def _record(self, block: int):
        return self.dir / _RECORDS / f"{int(block):06d}.json"

    def done(self) -> list:
        """Indices of the blocks with a completion record."""
        return sorted(int(p.stem) for p in (self.dir / _RECORDS).glob("*.json") if p.stem.isdigit())

    def pending(self) -> list:
        """Indices of the blocks still to compute."""
        done = set(self.done())
        return [b for b in range(self.n_blocks) if b not in done]

    @property
    def started(self) -> bool:
        """True once the arrays exist (the first block fixed the shapes)."""
        return (self.data_path / "zarr.json").exists() or (self.data_path / ".zgroup").exists()

    # -- data ---------------------------------------------------------------------------------------
    def _open(self, mode="r+"):
        import zarr

        return zarr.open_group(str(self.data_path), mode=mode, use_consolidated=False)

    def _sidecar(self, mode="r+"):
        import zarr

        return zarr.open_group(str(self.dir / _SIDECAR), mode=mode, zarr_format=3)

    def create(self, data_name: str, blocks: dict) -> None:
        """Create the data array and the side arrays from the first block's outputs
        ``{name: (n_rows_in_block, n_cols, *signal) array}`` (``data_name`` is the 4D one)."""
        import numpy as np

        from .layout import StoreWriter

        blk = np.asarray(blocks[data_name])
        w = StoreWriter(self.data_path, self.fmt, self.path)
        w.create((self.n_rows, self.n_cols) + blk.shape[2:], blk.dtype, DIMS, chunks=(1, self.n_cols) + blk.shape[2:])
        side = self._sidecar(mode="w")
        for name, a in blocks.items():
            if name == data_name:
                continue
            a = np.asarray(a)
            side.create_array(name, shape=(self.n_rows,) + a.shape[1:], dtype=a.dtype,
                              chunks=(self.block_rows,) + a.shape[1:], config={"write_empty_chunks": True})
        side.attrs["data"] = data_name

    def write(self, block: int, blocks: dict) -> None:
        """Write one block's outputs, then its completion record (atomic, last)."""
        import json

        import numpy as np

        from ..atomic import atomic_write_text

        rows = self.rows(block)
        side = self._sidecar()
        data_name = side.attrs["data"]
        shas = {}
        for name, a in blocks.items():
            a = np.asarray(a)
            if a.shape[0] != rows.stop - rows.start or a.shape[1] != self.n_cols:
                raise validate.InputError(f"block {block} output {name!r} has shape {a.shape}, expected "
                                          f"({rows.stop - rows.start}, {self.n_cols}, …)")
            target = self._open()["Experiments/__unnamed__/data"] if name == data_name else side[name]
            target[rows] = a
            shas[name] = _sha(a)
        atomic_write_text(self._record(block), json.dumps({"block": int(block), "rows": [rows.start, rows.stop],
                                                           "sha256": shas}))

    def verify(self) -> list:
        """Check every recorded block against its data; a block whose data do not match its record
        (damaged after it was recorded) loses its record. Returns the blocks that were dropped."""
        import json

        bad = []
        if not self.started:
            for b in self.done():
                self._record(b).unlink(missing_ok=True)
            return bad
        g, side = self._open("r"), self._sidecar("r")
        arrays = {side.attrs["data"]: g["Experiments/__unnamed__/data"], **{k: side[k] for k in side.array_keys()}}
        for b in self.done():
            rec = json.loads(self._record(b).read_text())
            rows = slice(*rec["rows"])
            try:
                ok = set(rec["sha256"]) == set(arrays) and all(
                    _sha(arrays[k][rows]) == v for k, v in rec["sha256"].items())
            except Exception:  # noqa: BLE001 - a damaged chunk (checksum) is a block to recompute
                ok = False
            if not ok:
                self._record(b).unlink(missing_ok=True)
                bad.append(b)
        return bad

    def signals(self) -> dict:
        """The side outputs, {name: (n_rows, n_cols, *signal) array} (read into memory)."""
        side = self._sidecar("r")
        return {k: side[k][...] for k in side.array_keys()}

    def finish(self, axes, metadata: dict, signal_ndim: int = 2) -> None:
        """Mark the store complete, swap it into ``path`` atomically and remove the resume folder."""
        import os
        import shutil

        from ..atomic import atomic_path
        from .layout import StoreWriter

        missing = self.pending()
        if missing:
            raise RuntimeError(f"{self.path}: blocks {missing} are not written; the store cannot be finished")
        w = StoreWriter.__new__(StoreWriter)  # reopen the unfinished store (the writer object is gone)
        w.fmt, w.target, w.file, w.finished = self.fmt, self.path, None, False
        w.root = self._open()
        w.group = w.root["Experiments/__unnamed__"]
        w.data, w.dims = w.group["data"], DIMS
        w._marker = dict(w.root.attrs["jaxem"])
        w.write_id = w._marker["write_id"]
        w.finish(axes, metadata, signal_ndim)
        if self.target_fmt.kind == "zarr":
            with atomic_path(self.path, is_dir=True) as tmp:
                os.rmdir(tmp)
                os.replace(self.data_path, tmp)
        else:
            from .store import load, save

            m = load(self.data_path, lazy=True)
            save(m, self.path, chunks=(1,) + tuple(m.shape[1:]))
        shutil.rmtree(self.dir, ignore_errors=True)
