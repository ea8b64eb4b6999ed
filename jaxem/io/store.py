"""Save and load :class:`~jaxem.measurement.Measurement` objects as zarr v3 or HDF5.

Layout (both formats): one array named ``data`` with attributes ``axes`` (list of
{name, sampling, units, offset}) and ``metadata`` (JSON), plus ``jaxem_version``. The format is
chosen from the suffix: ``.zarr`` → zarr v3 directory store, ``.h5``/``.hdf5`` → HDF5.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..measurement import Axis, Measurement
from .atomic import atomic_path


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        return "zarr"
    if suffix in (".h5", ".hdf5", ".emd"):
        return "hdf5"
    raise ValueError(f"unknown file type {path.suffix!r} for {path}: use .zarr or .h5")


def save(measurement: Measurement, path, chunks=None) -> Path:
    """Write ``measurement`` to ``path`` (.zarr or .h5) atomically; returns the path."""
    from .. import __version__

    path = Path(path)
    fmt = _format(path)
    data = np.asarray(measurement.array)
    attrs = {
        "axes": [a.to_dict() for a in measurement.axes],
        "metadata": _jsonable(measurement.metadata),
        "jaxem_version": __version__,
    }
    if fmt == "zarr":
        import zarr

        with atomic_path(path, is_dir=True) as tmp:
            root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
            arr = root.create_array("data", shape=data.shape, dtype=data.dtype,
                                    chunks=chunks or data.shape or None)
            arr[...] = data
            arr.attrs.update(attrs)
    else:
        import h5py

        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                ds = f.create_dataset("data", data=data, chunks=chunks)
                ds.attrs["axes"] = json.dumps(attrs["axes"])
                ds.attrs["metadata"] = json.dumps(attrs["metadata"])
                ds.attrs["jaxem_version"] = attrs["jaxem_version"]
    return path


def load(path) -> Measurement:
    """Read a Measurement written by :func:`save`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    fmt = _format(path)
    if fmt == "zarr":
        import zarr

        arr = zarr.open_group(str(path), mode="r")["data"]
        data = arr[...]
        axes, metadata = arr.attrs["axes"], arr.attrs["metadata"]
    else:
        import h5py

        with h5py.File(path, "r") as f:
            ds = f["data"]
            data = ds[...]
            axes, metadata = json.loads(ds.attrs["axes"]), json.loads(ds.attrs["metadata"])
    return Measurement(data, tuple(Axis(**a) for a in axes), dict(metadata))
