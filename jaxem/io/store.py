"""Save and load :class:`~jaxem.measurement.Measurement` objects in the one jaxem layout
(:mod:`jaxem.io.layout`: HyperSpy's hierarchical layout in zarr or HDF5, with dimension names,
axes with units and metadata with units), chosen by suffix:

* ``.zarr`` (zarr v3) and ``.zspy`` (zarr v2): ``hs.load`` opens ``.zspy`` (HyperSpy 2.x cannot
  open a ``.zarr`` directory with any ``reader``: ``load(path).to_hyperspy()`` or
  ``hyperspy.io.dict2signal(rsciio.zspy.file_reader(path)[0])``),
  ``xr.open_zarr(path, group=jaxem.io.SIGNAL_GROUP)`` gives named dimensions and coordinates;
* ``.hspy``, ``.h5``, ``.hdf5`` (HDF5): ``hs.load`` opens them (``reader="hspy"`` for ``.h5``).

``.emd`` and unknown suffixes are refused with the list of supported ones. Writes are atomic;
reads are strict: a store that was never completed, a missing or truncated chunk, an HDF5
dataset that lies beyond the end of its file, or damaged JSON metadata is a
:class:`~jaxem.validate.FileFormatError` naming the file.
"""
from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import numpy as np

from .. import validate
from ..atomic import directory_lock
from ..measurement import Measurement, with_units
from ..validate import FileFormatError
from .hdf5_checks import check_dataset
from .layout import check_chunks, default_chunks, format_of, open_source, read_header, writer
from .zarr_checks import check_complete

__all__ = ["save", "load"]

_RETRIES = 5


@contextlib.contextmanager
def _swaps_held(path: Path, hold: bool):
    """Hold off atomic swaps into ``path``'s directory while an eager read runs (shared
    :func:`jaxem.atomic.directory_lock`; writers swap under the exclusive one)."""
    if not hold:
        yield
        return
    with directory_lock(path.parent, shared=True):
        yield


def _is_dask(a) -> bool:
    return type(a).__module__.startswith("dask")


@validate.typed
def save(measurement: Measurement, path, chunks=None) -> Path:
    """Write ``measurement`` (array, axes with units, metadata with units) to ``path`` atomically.

    Args:
        measurement: a :class:`~jaxem.measurement.Measurement` (NumPy, JAX or Dask array; a Dask
            array is written chunk by chunk without being held in memory).
        path: ``.zarr``, ``.zspy``, ``.hspy``, ``.h5`` or ``.hdf5`` (see the module docstring).
        chunks: chunk shape, one int per axis (default: whole signal frames, about 8 MiB per chunk).

    Returns:
        the path.
    """
    if not isinstance(measurement, Measurement):
        raise validate.InputTypeError(f"measurement must be a jaxem Measurement, got {type(measurement).__name__}")
    format_of(path)
    with_units(measurement.metadata)  # fails before anything is written if the metadata cannot be stored
    arr = measurement.array
    lazy = _is_dask(arr)
    if not lazy:
        arr = np.asarray(arr)
    shape = measurement.shape
    dtype = np.dtype(arr.dtype)
    chunks = check_chunks(chunks, shape) if chunks is not None else default_chunks(shape, dtype.itemsize)
    with writer(path) as w:
        data = w.create(shape, dtype, measurement.dims, chunks)
        if lazy:
            import dask.array as da

            da.store(arr.rechunk(tuple(data.chunks) if data.chunks else arr.chunks), data,
                     lock=w.fmt.kind == "hdf5")
        elif shape:
            data[...] = arr
        else:
            data[()] = arr
        w.finish(measurement.axes, measurement.metadata, measurement.signal_ndim)
    return Path(path)


class _Guarded:
    """Array-like for ``dask.array.from_array``: errors while reading a chunk name the file, and a
    zarr store replaced by another writer during a lazy read is an error, not a mix of two writes."""

    def __init__(self, array, src):
        self.array, self.src = array, src
        self.shape, self.dtype, self.ndim = tuple(array.shape), np.dtype(array.dtype), len(array.shape)
        self.write_id = src.write_id()

    def __getitem__(self, key):
        with validate.reading(self.src.path, "data chunk"):
            out = self.array[key]
        if self.write_id is not None and self.src.current_write_id() != self.write_id:
            raise FileFormatError(self.src.path, "was replaced by another write while it was read lazily; load "
                                                 "it again")
        return out


def _lazy(data, src):
    import dask.array as da

    chunks = tuple(data.chunks) if data.chunks else default_chunks(data.shape, data.dtype.itemsize)
    return da.from_array(_Guarded(data, src), chunks=chunks, lock=src.fmt.kind == "hdf5", asarray=True,
                         name=f"jaxem-load-{src.write_id() or uuid.uuid4().hex}",
                         meta=np.empty((0,) * len(data.shape), data.dtype))


def load(path, lazy: bool = False, allow_partial: bool = False, signal: str | None = None) -> Measurement:
    """Read a Measurement from a jaxem or HyperSpy store (``.zarr``, ``.zspy``, ``.hspy``, ``.h5``, ``.hdf5``).

    Args:
        path: the store (a directory for zarr, a file for HDF5).
        lazy: return a Dask array (chunks read on demand; read errors still name the file).
        allow_partial: accept missing chunks (read as zarr/HDF5 fill values) instead of an error.
        signal: which ``Experiments/<signal>`` group to read, for HyperSpy files holding several.

    Raises:
        FileFormatError: incomplete (never finished) store, missing or damaged chunks, a dataset
            beyond the end of the file, damaged metadata, axes that do not match the data.
    """
    fmt = format_of(path)
    p = validate.path(path, "path", kind="dir" if fmt.is_dir else "file")
    for flag, name in ((lazy, "lazy"), (allow_partial, "allow_partial")):
        validate.flag(flag, name)
    if signal is not None and not isinstance(signal, str):
        raise validate.InputTypeError(f"signal must be the name of an Experiments/<signal> group (a str), got "
                                      f"{signal!r}")
    what = "zarr store" if fmt.is_dir else "HDF5 file"
    for attempt in range(_RETRIES):
        if attempt:
            time.sleep(0.01 * attempt)
        with _swaps_held(p, fmt.is_dir and not lazy):
            src = open_source(p, fmt)
            keep_open = False
            try:
                with validate.reading(p, what):
                    _, data, axes, metadata, nsig = read_header(src, signal)
                    if fmt.kind == "zarr":
                        check_complete(data, p, "data", allow_partial)
                    else:
                        check_dataset(data, p, "data", allow_partial)
                    if lazy:
                        arr = _lazy(data, src)
                        keep_open = True
                        return Measurement(arr, axes, metadata, nsig)
                    values = data[...] if data.shape else data[()]
            except (FileFormatError, validate.InputError):
                if src.current_write_id() == src.write_id():
                    raise
                continue  # another writer swapped the store in while we read it: read the new one
            finally:
                if not keep_open:
                    src.close()
            if src.current_write_id() == src.write_id():
                return Measurement(np.asarray(values), axes, metadata, nsig)
    raise FileFormatError(p, f"was replaced by other writers {_RETRIES} times while it was read; try again")
