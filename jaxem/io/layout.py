"""The one on-disk layout of a :class:`~jaxem.measurement.Measurement`, in zarr and in HDF5.

jaxem writes every array in HyperSpy's hierarchical layout (the "HSpy/ZSpy" specification of
rosettasciio, version 3.3), so ``hs.load`` opens the file with every axis calibrated, and adds what
xarray and jaxem need::

    /                                  attrs: file_format ("ZSpy" | "HyperSpy"), file_format_version,
                                              jaxem = {layout, version, write_id, complete}
    /Experiments/__unnamed__/          attrs: package, package_version, jaxem = {axes, metadata,
                                              signal_ndim} (HDF5: the JSON dataset ``jaxem.json``)
        data                           the array; zarr: dimension_names (v3) / _ARRAY_DIMENSIONS (v2)
                                       = the axis names; chunked (whole signal frames per chunk)
        axis-0 … axis-(n-1)            HyperSpy axes: name, units, scale, offset, size, navigate
        metadata/                      HyperSpy metadata: General.title, Signal.quantity,
                                       Acquisition_instrument.TEM.beam_energy [keV], convergence_angle [mrad]
        original_metadata/             the jaxem metadata as a tree, parameters as {value, units}
        <axis name> (zarr only)        1D coordinate arrays (values in the axis units, attr ``units``) for
                                       xarray; skipped for names that clash with the entries above

Suffixes: ``.zarr`` → zarr v3, ``.zspy`` → zarr v2 (HyperSpy installations that still pin zarr 2
read it), ``.hspy``/``.h5``/``.hdf5`` → HDF5. ``hs.load`` opens ``.zspy`` and ``.hspy`` directly and
``.h5``/``.hdf5`` with ``reader="hspy"``; it cannot open a ``.zarr`` directory (HyperSpy 2.x globs
only files and ``*.zspy`` directories, whatever the ``reader``): use
``jaxem.io.load(path).to_hyperspy()`` or ``dict2signal(rsciio.zspy.file_reader(path)[0])``.
``xr.open_zarr(path, group=SIGNAL_GROUP)`` opens the zarr stores.

Completion: the root attribute ``jaxem.complete`` is set last, after every chunk is written, and
every write goes to a temporary sibling swapped in atomically (:mod:`jaxem.atomic`); the reader
refuses a jaxem store that is not complete. ``write_id`` changes with every write, so a reader can
tell that a store was replaced while it read it.
"""
from __future__ import annotations

import contextlib
import json
import re
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import validate
from ..atomic import atomic_path
from ..measurement import Axis, Measurement, from_signal_dict, with_units
from ..validate import FileFormatError

__all__ = ["SIGNAL_GROUP", "LAYOUT_VERSION", "FORMATS", "format_of", "writer", "StoreWriter", "default_chunks"]

SIGNAL_GROUP = "Experiments/__unnamed__"
LAYOUT_VERSION = 1
HSPY_VERSION = "3.3"
_HS_ENTRIES = {"data", "metadata", "original_metadata", "attributes", "learning_results", "peak_learning_results",
               "jaxem.json"}


@dataclass(frozen=True)
class Format:
    """A container: ``kind`` "zarr" (``zarr_format`` 2 or 3) or "hdf5"."""

    kind: str
    zarr_format: int = 3

    @property
    def is_dir(self) -> bool:
        return self.kind == "zarr"


FORMATS = {".zarr": Format("zarr", 3), ".zspy": Format("zarr", 2), ".hspy": Format("hdf5"),
           ".h5": Format("hdf5"), ".hdf5": Format("hdf5")}
_REFUSED = {
    ".emd": "jaxem does not write EMD: a plain HDF5 file named .emd is rejected by rosettasciio and other EMD "
            "readers. Save as .hspy or .h5 (HyperSpy layout, opened by hs.load) or .zarr/.zspy; read vendor "
            "EMD files with jaxem.phase.read_4dstem or rosettasciio",
}


def format_of(path, name: str = "path") -> Format:
    """The :class:`Format` for the suffix of ``path``; an error listing the supported suffixes."""
    p = validate.path(path, name, must_exist=False)
    suffix = p.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if suffix in _REFUSED:
        raise validate.InputError(f"{name} {str(p)!r}: {_REFUSED[suffix]}")
    hint = validate.closest(suffix, FORMATS)
    raise validate.InputError(f"{name} {str(p)!r} has the suffix {p.suffix!r}, which jaxem cannot write "
                              f"faithfully; use one of {', '.join(FORMATS)}"
                              + (f" (did you mean {hint!r}?)" if hint else ""))


def default_chunks(shape, itemsize: int, target_bytes: int = 8 * 2**20) -> tuple:
    """Row-major chunks of about ``target_bytes``: trailing axes whole (whole signal frames), the first
    axis that does not fit split (e.g. (1, k, ky, kx) for a 4D-STEM scan, row blocks for images)."""
    shape = tuple(validate.integer(s, "shape", lo=0) for s in shape)
    itemsize = validate.integer(itemsize, "itemsize", lo=1)
    target_bytes = validate.integer(target_bytes, "target_bytes", lo=1)
    chunks = list(max(1, s) for s in shape)
    for i in range(len(shape)):
        rest = int(np.prod(chunks[i + 1:], dtype=np.int64)) * int(itemsize)
        if rest > target_bytes:
            chunks[i] = 1
            continue
        chunks[i] = max(1, min(chunks[i], target_bytes // max(rest, 1)))
        break
    return tuple(chunks)


def check_chunks(chunks, shape) -> tuple:
    """``chunks`` as a tuple of positive ints, one per axis of ``shape``, or an error naming it."""
    try:
        chunks = tuple(chunks)
    except TypeError:
        raise validate.InputTypeError(f"chunks must be a tuple of ints (one per axis), got {chunks!r}") from None
    if len(chunks) != len(shape):
        raise validate.InputError(f"chunks must have one entry per axis ({len(shape)}), got {chunks!r}")
    return tuple(validate.integer(c, f"chunks[{i}]", lo=1) for i, c in enumerate(chunks))


# ---- trees of groups and attributes (HyperSpy's dict ↔ group conventions) ----------------------
def _is_scalar(v) -> bool:
    return isinstance(v, (str, bool, int, float))


def _write_tree(group, d: dict, hdf5: bool) -> None:
    for k, v in d.items():
        k = str(k)
        if isinstance(v, dict):
            _write_tree(group.require_group(k), v, hdf5)
        elif v is None:
            group.attrs[k] = "_None_"
        elif isinstance(v, (list, tuple)):
            if not v:
                group.attrs[f"_list_empty_{k}"] = "_None_"
            elif all(isinstance(x, str) for x in v):
                if hdf5:
                    import h5py

                    group.attrs[k] = np.array(v, dtype=h5py.string_dtype())
                else:
                    group.attrs[k] = list(v)
            elif all(_is_scalar(x) and not isinstance(x, str) for x in v):
                if hdf5:  # HDF5 attributes are limited to 64 kB: numeric lists are datasets (rsciio convention)
                    group.create_dataset(f"_list_{k}", data=np.asarray(v))
                else:
                    group.attrs[k] = list(v)
            else:
                _write_tree(group.require_group(f"_list_{len(v)}_{k}"), {str(i): x for i, x in enumerate(v)}, hdf5)
        elif _is_scalar(v):
            group.attrs[k] = v
        else:  # pragma: no cover - with_units() makes everything JSON-like
            raise validate.InputTypeError(f"cannot write metadata {k!r} of type {type(v).__name__}")


def _py(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return _py(v.item())
        return [_py(x) for x in v.tolist()] if v.dtype.kind in "OSU" else v.tolist()
    return v


def _read_tree(group, is_group) -> dict:
    d = {}
    for k, v in group.attrs.items():
        v = _py(v)
        if v == "_None_":
            v = None
        if k.startswith("_list_empty_"):
            d[k[len("_list_empty_"):]] = []
        elif k.startswith("_tuple_empty_"):
            d[k[len("_tuple_empty_"):]] = []
        else:
            d[k] = v
    for k in list(group.keys()):
        obj = group[k]
        m = re.match(r"^_(list|tuple)_(\d+)_(.*)$", k)
        if is_group(obj):
            sub = _read_tree(obj, is_group)
            if m:
                d[m.group(3)] = [sub.get(str(i)) for i in range(int(m.group(2)))]
            else:
                d[k] = sub
        else:
            value = _py(np.asarray(obj[...]))
            if k.startswith("_list_"):
                d[k[len("_list_"):]] = value
            elif k.startswith("_tuple_"):
                d[k[len("_tuple_"):]] = value
            elif not k.startswith("_ragged_shapes_"):
                d[k] = value
    return d


# ---- writing ----------------------------------------------------------------------------------
class StoreWriter:
    """Writes one measurement in the jaxem layout into ``tmp`` (created by :func:`writer`).

    ``create(shape, dtype, dims, chunks)`` makes the data array (write into it chunk by chunk);
    ``finish(axes, metadata, signal_ndim)`` writes the axes and metadata and marks the store complete.
    """

    def __init__(self, tmp: Path, fmt: Format, target: Path):
        from .. import __version__

        self.fmt, self.target, self.data, self.dims, self.finished = fmt, target, None, None, False
        self.write_id = uuid.uuid4().hex
        self._marker = {"layout": LAYOUT_VERSION, "version": __version__, "write_id": self.write_id,
                        "complete": False}
        if fmt.kind == "zarr":
            import zarr

            self.file = None
            self.root = zarr.open_group(str(tmp), mode="w", zarr_format=fmt.zarr_format)
            self.root.attrs.update({"file_format": "ZSpy", "file_format_version": HSPY_VERSION,
                                    "jaxem": self._marker})
        else:
            import h5py

            self.file = self.root = h5py.File(tmp, "w")
            self.root.attrs["file_format"] = "HyperSpy"
            self.root.attrs["file_format_version"] = HSPY_VERSION
            self.root.attrs["jaxem"] = json.dumps(self._marker)
        self.group = self.root.require_group("Experiments").require_group("__unnamed__")

    def create(self, shape, dtype, dims, chunks=None):
        """Create the data array (shape, dtype, dimension names ``dims``, chunks; default
        :func:`default_chunks`) and return it for writing (a zarr array or an h5py dataset)."""
        shape = tuple(int(s) for s in shape)
        dtype = np.dtype(dtype)
        if dtype.kind not in "biufc":
            raise validate.InputTypeError(f"cannot write an array of dtype {dtype} (numbers and bools only)")
        dims = tuple(str(d) for d in dims)
        if len(dims) != len(shape):
            raise validate.InputError(f"dims {dims} do not match the shape {shape}")
        chunks = check_chunks(chunks, shape) if chunks is not None else default_chunks(shape, dtype.itemsize)
        self.dims = dims
        if self.fmt.kind == "zarr":
            # write_empty_chunks: a chunk equal to the fill value (e.g. all zeros) is still stored, so a
            # missing chunk always means an incomplete or damaged store
            self.data = self.group.create_array("data", shape=shape, dtype=dtype, chunks=chunks,
                                                config={"write_empty_chunks": True}, **self._codecs(),
                                                **self._dims_kw(dims))
        else:
            h5_chunks = (tuple(min(c, s) for c, s in zip(chunks, shape))
                         if shape and all(s > 0 for s in shape) else None)
            self.data = self.group.create_dataset("data", shape=shape, dtype=dtype, chunks=h5_chunks,
                                                  fletcher32=h5_chunks is not None)
            for i, d in enumerate(dims):
                self.data.dims[i].label = d
        return self.data

    def finish(self, axes, metadata: dict, signal_ndim: int | None = None) -> None:
        """Write axes and metadata, then mark the store complete (the last write)."""
        if self.data is None:
            raise RuntimeError("StoreWriter.finish() before create()")
        m = Measurement(self.data, axes, metadata, signal_ndim)
        if m.dims != self.dims:
            raise validate.InputError(f"axes {m.dims} do not match the dimension names {self.dims} of the data")
        hdf5 = self.fmt.kind == "hdf5"
        g = self.group
        g.attrs["package"] = ""
        g.attrs["package_version"] = ""
        for i, ax in enumerate(m.hyperspy_axes()):
            _write_tree(g.require_group(f"axis-{i}"), ax, hdf5)
        md = with_units(m.metadata)
        _write_tree(g.require_group("metadata"), m.hyperspy_metadata(), hdf5)
        _write_tree(g.require_group("original_metadata"), md, hdf5)
        for empty in ("learning_results", "attributes"):
            g.require_group(empty)
        record = {"axes": [a.to_dict() for a in m.axes], "metadata": md, "signal_ndim": m.signal_ndim}
        if hdf5:
            g.create_dataset("jaxem.json", data=json.dumps(record))
        else:
            g.attrs["jaxem"] = record
            self._coordinates(m)
        self._marker["complete"] = True
        if hdf5:
            self.root.attrs["jaxem"] = json.dumps(self._marker)
        else:
            self.root.attrs["jaxem"] = self._marker
            import zarr

            with warnings.catch_warnings():  # v3 consolidated metadata is an extension; harmless for readers
                warnings.simplefilter("ignore")
                zarr.consolidate_metadata(self.root.store)
        self.finished = True

    def _codecs(self) -> dict:
        # every chunk carries a checksum, so a truncated or corrupted chunk is an error, never garbage
        # (Blosc, HyperSpy's default, decodes a truncated chunk silently)
        if self.fmt.zarr_format == 3:
            from zarr.codecs import ZstdCodec

            return {"compressors": [ZstdCodec(level=1, checksum=True)]}
        import numcodecs

        return {"filters": [numcodecs.CRC32()], "compressors": numcodecs.Zstd(level=1)}

    def _dims_kw(self, dims) -> dict:
        # zarr v3: dimension_names; v2: xarray's _ARRAY_DIMENSIONS attribute and no fill value (xarray
        # would read values equal to a v2 fill value, e.g. 0.0, as missing)
        if self.fmt.zarr_format == 3:
            return {"dimension_names": tuple(dims)}
        return {"attributes": {"_ARRAY_DIMENSIONS": list(dims)}, "fill_value": None}

    def _coordinates(self, m: Measurement) -> None:
        for a, n in zip(m.axes, m.shape):
            name = a.name
            if (name in _HS_ENTRIES or name.startswith(("axis-", "_", ".")) or "/" in name
                    or name in self.group):
                continue
            kw = self._dims_kw((name,))
            c = self.group.create_array(name, shape=(n,), dtype="f8", config={"write_empty_chunks": True}, **kw)
            c[...] = a.values(n)
            c.attrs.update({"units": a.units, "long_name": name, "sampling": float(a.sampling),
                            "offset": float(a.offset)})  # exact axis for Measurement.from_xarray

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


@contextlib.contextmanager
def writer(path, name: str = "path"):
    """Write one measurement to ``path`` atomically, chunk by chunk::

        with jaxem.io.writer("scan.zarr") as w:
            data = w.create(shape, dtype, dims)      # dims = the axis names
            data[rows] = block                       # as many times as needed
            w.finish(axes, metadata)                 # marks the store complete

    The store appears at ``path`` only after ``finish`` and a clean exit; on an error (or without
    ``finish``) nothing replaces what was there.
    """
    fmt = format_of(path, name)
    path = Path(path)
    with atomic_path(path, is_dir=fmt.is_dir) as tmp:
        w = StoreWriter(tmp, fmt, path)
        try:
            yield w
            if not w.finished:
                raise RuntimeError(f"{path}: the writer was closed without finish(); nothing was written")
        finally:
            w.close()


# ---- reading ----------------------------------------------------------------------------------
class _Source:
    """One opened store: root attrs, the signal group, and how to re-check the store's identity."""

    def __init__(self, path: Path, fmt: Format):
        self.path, self.fmt, self.file = path, fmt, None
        if fmt.kind == "zarr":
            import zarr

            self.root = zarr.open_group(str(path), mode="r", use_consolidated=False)
            self.is_group = lambda o: isinstance(o, zarr.Group)
        else:
            import h5py

            self.file = self.root = h5py.File(path, "r")
            self.is_group = lambda o: isinstance(o, h5py.Group)
        marker = self.root.attrs.get("jaxem")
        self.marker = json.loads(_py(marker)) if isinstance(marker, (str, bytes)) else marker
        if self.marker is not None and not isinstance(self.marker, dict):
            raise FileFormatError(path, f"the root attribute 'jaxem' is damaged: {self.marker!r}")

    def write_id(self):
        return (self.marker or {}).get("write_id")

    def current_write_id(self):
        """The write id now on disk (zarr stores can be swapped under a reader; an open HDF5 file not)."""
        if self.fmt.kind != "zarr" or self.marker is None:
            return self.write_id()
        import zarr

        try:
            marker = zarr.open_group(str(self.path), mode="r", use_consolidated=False).attrs.get("jaxem") or {}
        except Exception:  # noqa: BLE001 - a store gone or damaged mid-read is a replaced store
            return None
        return marker.get("write_id")

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None


def open_source(path: Path, fmt: Format) -> _Source:
    with validate.reading(path, "zarr store" if fmt.kind == "zarr" else "HDF5 file"):
        src = _Source(path, fmt)
    m = src.marker
    if m is not None:
        if m.get("layout", 0) > LAYOUT_VERSION:
            src.close()
            raise FileFormatError(path, f"written with layout version {m.get('layout')} by jaxem {m.get('version')}; "
                                        f"this jaxem reads up to version {LAYOUT_VERSION}: upgrade jaxem")
        if m.get("complete") is not True:
            src.close()
            raise FileFormatError(path, "incomplete: the writer never marked it complete (interrupted write); "
                                        "write it again")
    return src


def signal_groups(src: _Source) -> list:
    """Names of the groups under /Experiments that hold a ``data`` array."""
    if "Experiments" not in src.root:
        raise FileFormatError(src.path, "not a jaxem/HyperSpy store: it has no 'Experiments' group")
    exps = src.root["Experiments"]
    return [k for k in exps.keys() if src.is_group(exps[k]) and "data" in exps[k]]


def read_header(src: _Source, signal: str | None):
    """(group, data array, axes, metadata, signal_ndim) of one signal, checked against each other."""
    names = signal_groups(src)
    if signal is None:
        if not names:
            raise FileFormatError(src.path, "holds no signal (no Experiments/*/data array)")
        if len(names) > 1:
            raise validate.InputError(f"{src.path} holds {len(names)} signals {names}; choose one with signal=")
        signal = names[0]
    elif signal not in names:
        raise validate.InputError(f"signal {signal!r} is not in {src.path}; it holds {names}")
    g = src.root["Experiments"][signal]
    data = g["data"]
    shape = tuple(data.shape)
    hs_axes = []
    for i in range(len(shape)):
        key = f"axis-{i}"
        if key not in g:
            raise FileFormatError(src.path, f"signal {signal!r} has a {len(shape)}-dimensional data array but no "
                                            f"{key!r} axis group")
        hs_axes.append(_read_tree(g[key], src.is_group))
    for i, (a, n) in enumerate(zip(hs_axes, shape)):
        if "size" in a and int(a["size"]) != n:
            raise FileFormatError(src.path, f"axis {i} ({a.get('name')!r}) records {a['size']} samples but the data "
                                            f"array has {n} along it (shape {shape}): damaged or incomplete")
    record = None
    if "jaxem.json" in g:
        record = json.loads(_py(g["jaxem.json"][()]))
    elif "jaxem" in g.attrs:
        record = g.attrs["jaxem"]
    if record is not None:
        if not isinstance(record, dict) or "axes" not in record or "metadata" not in record:
            raise FileFormatError(src.path, "the jaxem record of the signal is damaged (expected axes and metadata)")
        axes = tuple(Axis.from_dict(a, f"{src.path}: axis {i}") for i, a in enumerate(record["axes"]))
        if len(axes) != len(shape):
            raise FileFormatError(src.path, f"records {len(axes)} axes for a {len(shape)}-dimensional data array")
        return g, data, axes, record["metadata"], record.get("signal_ndim")
    hs_md = _read_tree(g["metadata"], src.is_group) if "metadata" in g else {}
    orig = _read_tree(g["original_metadata"], src.is_group) if "original_metadata" in g else {}
    nsig = sum(1 for a in hs_axes if not a.get("navigate", False))
    m = from_signal_dict(np.empty((0,) * len(shape)), hs_axes, hs_md, orig, nsig)
    return g, data, m.axes, m.metadata, nsig
