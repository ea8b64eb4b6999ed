"""HDF5 event files: the stempy sparse layout and a flat CSR layout, read lazily by position chunks.

Two layouts share one file structure (root attribute ``version = 3`` as in stempy):

* ``layout="stempy"`` — ``/electron_events/frames``: variable-length uint32 dataset of shape
  ``(n_positions, n_frames)``, each cell the flat detector indices of one frame, attributes ``Nx``,
  ``Ny`` (frame width, height); ``/electron_events/scan_positions``: uint32 position numbers with
  attributes ``Nx``, ``Ny`` (scan width, height). This is the layout written by stempy's
  ``SparseArray.write_to_hdf5`` (format description: OpenChemistry/stempy docs/StempyH5Format.md).
* ``layout="csr"`` (default, fast to stream) — ``/electron_events/indices`` (uint32, chunked) and
  ``/electron_events/offsets`` (int64, ``n_positions·n_frames + 1``) plus the same attributes.

Dose metadata is stored as JSON in the attribute ``jaxem_dose`` of ``/metadata`` (with the per-frame
fluence in ``jaxem_frame_dose``). Files without it can be read only when ``dose=`` is passed: a
missing dose is an error, never a silent default. All writes are atomic (:func:`jaxem.io.atomic_path`).

Reading checks the file against itself: a truncated or damaged HDF5 file, a missing attribute,
offsets that do not end at the number of stored events, frames or scan positions that disagree with
the scan and frame counts, or unstored chunks are a :class:`~jaxem.validate.FileFormatError` naming
the file and the expected and found count — never fewer events.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import validate as _validate
from ..io.atomic import atomic_path
from ..validate import FileFormatError
from .dose import DoseSchedule, cumulative_dose
from .events import EventData, make_events, validate

_GROUP = "electron_events"


def _write_attrs(f, scan_shape, detector_shape, n_frames, dose: DoseSchedule, frame_dose, layout,
                 detector_sampling):
    f.attrs["version"] = 3
    g = f.require_group(_GROUP)
    g.attrs["layout"] = layout
    g.attrs["n_frames"] = int(n_frames)
    sp = g.create_dataset("scan_positions", data=np.arange(int(np.prod(scan_shape)), dtype=np.uint32))
    sp.attrs["Ny"], sp.attrs["Nx"] = int(scan_shape[0]), int(scan_shape[1])
    md = f.require_group("metadata")
    md.attrs["jaxem_dose"] = json.dumps(dose.metadata(n_frames))
    md.attrs["jaxem_frame_dose"] = np.asarray(frame_dose, np.float64)
    md.attrs["jaxem_detector_sampling"] = float(detector_sampling)
    return g


@_validate.typed
def write_events(ev: EventData, path, layout: str = "csr", chunk_events: int = 1 << 20) -> Path:
    """Write ``ev`` to an HDF5 file (atomically).

    Args:
        ev: the events.
        path: target ``.h5`` file.
        layout: ``"csr"`` (flat, streamable) or ``"stempy"`` (vlen frames).
        chunk_events: HDF5 chunk length of the flat index dataset [events].
    """
    import h5py

    _validate.choice(layout, "layout", ("csr", "stempy"))
    chunk_events = _validate.integer(chunk_events, "chunk_events", lo=1)
    validate(ev)
    path = Path(path)
    idx = np.asarray(ev.indices).astype(np.uint32)
    off = np.asarray(ev.offsets, np.int64)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        g = _write_attrs(f, ev.scan_shape, ev.detector_shape, ev.n_frames, ev.dose, ev.frame_dose, layout,
                         ev.detector_sampling)
        if layout == "csr":
            d = g.create_dataset("indices", data=idx, chunks=(max(1, min(chunk_events, idx.size)),)
                                 if idx.size else None)
            g.create_dataset("offsets", data=off)
        else:
            d = g.create_dataset("frames", shape=(ev.n_positions, ev.n_frames),
                                 dtype=h5py.vlen_dtype(np.uint32))
            cells = np.empty(ev.n_segments, dtype=object)
            cells[:] = np.split(idx, off[1:-1])
            d[...] = cells.reshape(ev.n_positions, ev.n_frames)
        d.attrs["Ny"], d.attrs["Nx"] = int(ev.detector_shape[0]), int(ev.detector_shape[1])
    return path


class EventWriter:
    """Stream positions into a CSR event file whose total size may exceed memory (atomic on close).

    Use as a context manager and call :meth:`append` with consecutive chunks of positions (each an
    :class:`EventData` with the same frames and detector) until all ``n_positions`` are written.
    """

    def __init__(self, path, scan_shape, n_frames, detector_shape, dose: DoseSchedule, frame_dose=None,
                 detector_sampling: float = 1.0):
        self.path = _validate.path(path, "path", must_exist=False)
        if not isinstance(dose, DoseSchedule):
            raise _validate.InputTypeError(f"dose must be a DoseSchedule, got {type(dose).__name__}")
        self.scan_shape = _validate.pair(scan_shape, "scan_shape", kind=int, lo=1)
        self.n_frames = _validate.integer(n_frames, "n_frames", lo=1)
        self.detector_shape, self.dose = _validate.pair(detector_shape, "detector_shape", kind=int, lo=1), dose
        if frame_dose is None:
            self.frame_dose = dose.frame_doses(self.n_frames)
        else:
            self.frame_dose = np.asarray(_validate.array(frame_dose, "frame_dose", shape=(self.n_frames,), ndim=1,
                                                         kind="real", units="e⁻/Å²", nonnegative=True))
        self.detector_sampling = _validate.scalar(detector_sampling, "detector_sampling", positive=True)
        self.n_positions = int(np.prod(scan_shape))
        self._written, self._events = 0, 0

    def __enter__(self):
        import h5py

        self._ctx = atomic_path(self.path)
        tmp = self._ctx.__enter__()
        self._f = h5py.File(tmp, "w")
        g = _write_attrs(self._f, self.scan_shape, self.detector_shape, self.n_frames, self.dose,
                         self.frame_dose, "csr", self.detector_sampling)
        self._idx = g.create_dataset("indices", shape=(0,), maxshape=(None,), dtype=np.uint32,
                                     chunks=(1 << 18,))
        self._off = g.create_dataset("offsets", shape=(self.n_positions * self.n_frames + 1,), dtype=np.int64)
        self._off[0] = 0
        self._idx.attrs["Ny"], self._idx.attrs["Nx"] = self.detector_shape
        return self

    def append(self, chunk: EventData) -> None:
        """Append the next positions (``chunk.n_positions`` of them, in flat C order)."""
        if not isinstance(chunk, EventData):
            raise _validate.InputTypeError(f"chunk must be EventData, got {type(chunk).__name__}")
        if chunk.n_frames != self.n_frames or tuple(chunk.detector_shape) != self.detector_shape:
            raise _validate.InputError(f"chunk has {chunk.n_frames} frames × {chunk.detector_shape}; the file "
                                       f"expects {self.n_frames} × {self.detector_shape}")
        if self._written + chunk.n_positions > self.n_positions:
            raise _validate.InputError(f"chunk: too many positions: {self._written} + {chunk.n_positions} > "
                                       f"{self.n_positions}")
        n = chunk.n_events
        self._idx.resize((self._events + n,))
        self._idx[self._events:] = np.asarray(chunk.indices, np.uint32)
        s = self._written * self.n_frames
        self._off[s + 1: s + 1 + chunk.n_segments] = self._events + np.asarray(chunk.offsets[1:], np.int64)
        self._written += chunk.n_positions
        self._events += n

    def __exit__(self, exc_type, exc, tb):
        self._f.close()
        if exc_type is None and self._written != self.n_positions:
            exc = ValueError(f"EventWriter closed after {self._written} of {self.n_positions} positions")
            self._ctx.__exit__(type(exc), exc, None)
            raise exc
        return self._ctx.__exit__(exc_type, exc, tb)


class EventFile:
    """Lazy reader of an event file: shapes and dose up front, events by chunks of positions.

    Example::

        with EventFile("scan.h5") as f:
            for start in range(0, f.n_positions, 256):
                chunk = f.read_positions(start, min(start + 256, f.n_positions))
    """

    def __init__(self, path, dose: DoseSchedule | None = None):
        import h5py

        from ..io.vendor import check_hdf5_chunks

        self.path = _validate.path(path, "path", kind="file")
        check_hdf5_chunks(self.path, "event file")
        with _validate.reading(self.path, "event file"):
            self._f = h5py.File(self.path, "r")
        try:
            with _validate.reading(self.path, "event file"):
                self._setup(dose)
        except BaseException:
            self._f.close()
            raise

    def _attr(self, obj, name: str) -> int:
        if name not in obj.attrs:
            raise FileFormatError(self.path, f"{obj.name} has no attribute {name!r} (damaged or not a "
                                             f"stempy/jaxem event file)")
        v = int(obj.attrs[name])
        if v < 1:
            raise FileFormatError(self.path, f"{obj.name} attribute {name!r} = {v}, expected ≥ 1")
        return v

    def _setup(self, dose):
        if _GROUP not in self._f:
            raise FileFormatError(self.path, f"has no /{_GROUP} group (not a stempy/jaxem event file)")
        g = self._f[_GROUP]
        self.layout = "csr" if "indices" in g else "stempy"
        need = ("indices", "offsets") if self.layout == "csr" else ("frames",)
        for name in need + ("scan_positions",):
            if name not in g:
                raise FileFormatError(self.path, f"/{_GROUP} has no dataset {name!r} (damaged or not a "
                                                 f"stempy/jaxem event file)")
        data = g["indices"] if self.layout == "csr" else g["frames"]
        self.detector_shape = (self._attr(data, "Ny"), self._attr(data, "Nx"))
        sp = g["scan_positions"]
        self.scan_shape = (self._attr(sp, "Ny"), self._attr(sp, "Nx"))
        self.n_positions = int(np.prod(self.scan_shape))
        if self.layout == "stempy" and (g["frames"].ndim != 2 or g["frames"].shape[0] != self.n_positions):
            raise FileFormatError(self.path, f"frames have shape {g['frames'].shape}, expected "
                                             f"({self.n_positions}, n_frames) for the {self.scan_shape} scan")
        self.n_frames = self._attr(g, "n_frames") if "n_frames" in g.attrs else int(g["frames"].shape[1])
        if self.layout == "stempy":
            _validate.check_size(self.path, self.n_frames, g["frames"].shape[1], "frames per position",
                                 "attribute n_frames vs the frames dataset")
        _validate.check_size(self.path, self.n_positions, sp.size, "scan positions",
                             f"scan {self.scan_shape[0]}×{self.scan_shape[1]} vs the scan_positions dataset")
        md = self._f["metadata"].attrs if "metadata" in self._f else {}
        self.detector_sampling = float(md.get("jaxem_detector_sampling", 1.0))
        if dose is None:
            if "jaxem_dose" not in md:
                raise FileFormatError(self.path, "has no dose metadata (/metadata attribute 'jaxem_dose'): "
                                                 "pass dose=DoseSchedule(...) to read it")
            dose = DoseSchedule.from_metadata(json.loads(md["jaxem_dose"]))
            self.frame_dose = np.asarray(md.get("jaxem_frame_dose", dose.frame_doses(self.n_frames)))
        else:
            self.frame_dose = dose.frame_doses(self.n_frames)
        _validate.check_size(self.path, self.n_frames, np.size(self.frame_dose), "frame doses",
                             "/metadata attribute 'jaxem_frame_dose' vs the number of frames")
        self.dose = dose
        if self.layout == "csr":
            self._offsets = g["offsets"]
            _validate.check_size(self.path, self.n_positions * self.n_frames + 1, self._offsets.size,
                                 "offsets", f"n_positions·n_frames + 1 for {self.n_positions} positions × "
                                            f"{self.n_frames} frames")
            first, last = int(self._offsets[0]), int(self._offsets[-1])
            if first != 0:
                raise FileFormatError(self.path, f"offsets[0] = {first}, expected 0")
            _validate.check_size(self.path, last, g["indices"].size, "events",
                                 "offsets[-1] vs the length of the indices dataset")

    @property
    def n_events(self) -> int:
        g = self._f[_GROUP]
        if self.layout == "csr":
            return int(self._offsets[-1])
        return int(sum(a.size for a in g["frames"][...].ravel()))

    @property
    def cumulative_dose(self) -> np.ndarray:
        """Dose at the centre of each frame [e⁻/Å²]."""
        return cumulative_dose(self.frame_dose)

    def read_positions(self, start: int, stop: int) -> EventData:
        """Events of flat positions ``start:stop`` as an EventData with scan shape ``(1, stop − start)``."""
        start = _validate.integer(start, "start", lo=0)
        stop = _validate.integer(stop, "stop", lo=0)
        if not 0 <= start < stop <= self.n_positions:
            raise _validate.InputError(f"position range [start, stop) = [{start}, {stop}) must lie in "
                                       f"[0, {self.n_positions}] with start < stop")
        with _validate.reading(self.path, "event file"):
            g = self._f[_GROUP]
            if self.layout == "csr":
                off = self._offsets[start * self.n_frames: stop * self.n_frames + 1]
                idx = g["indices"][off[0]:off[-1]]
                _validate.check_size(self.path, int(off[-1] - off[0]), idx.size, "events",
                                     f"offsets of positions [{start}, {stop}) vs indices read")
                off = off - off[0]
            else:
                cells = g["frames"][start:stop].ravel()
                off = np.concatenate([[0], np.cumsum([c.size for c in cells])])
                idx = np.concatenate(list(cells)) if cells.size else np.zeros(0, np.uint32)
        try:
            return make_events(idx.astype(np.int32), off, (1, stop - start), self.n_frames,
                               self.detector_shape, self.dose, frame_dose=self.frame_dose,
                               detector_sampling=self.detector_sampling)
        except ValueError as exc:
            raise FileFormatError(self.path, f"damaged events at positions [{start}, {stop}): {exc}") from None

    def read(self) -> EventData:
        """All events (only for data that fit in memory)."""
        ev = self.read_positions(0, self.n_positions)
        return ev.replace(scan_shape=self.scan_shape)

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@_validate.typed
def read_events(path, dose: DoseSchedule | None = None) -> EventData:
    """Read a whole event file (stempy or CSR layout) into memory; see :class:`EventFile`."""
    with EventFile(path, dose=dose) as f:
        return f.read()
