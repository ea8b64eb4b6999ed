"""Reading and writing 4D-STEM datasets: vendor formats through rosettasciio, and jaxem's zarr v3 layout.

Vendor files are read lazily where rosettasciio supports it (the array is then a Dask array and the
methods read it chunk by chunk); axis calibrations are converted to Å (scan) and 1/Å (detector)
when the file gives them in length or reciprocal-length units, otherwise they stay ``None`` and
:meth:`Dataset4D.require` says what to supply. Supported readers (by suffix): Merlin ``.mib``/
``.hdr`` (``quantumdetector``), EMD/HDF5 ``.emd``/``.h5`` (``emd``; DECTRIS ``arina`` files
``*_master.h5`` / ``*_data_000001.h5``, read whole: rosettasciio has no lazy arina reader), NanoMegas ``.blo`` (``blockfile``), EMPAD
``.xml`` (``empad``), Direct Electron ``.seq`` (``de``), and ``.zarr`` (jaxem).

jaxem's zarr v3 layout: a group with array ``data`` (scan_y, scan_x, ky, kx), chunked as
``(cy, cx, ky, kx)`` so that every chunk holds whole patterns in scan order, and the group attribute
``jaxem_4dstem`` holding :meth:`Dataset4D.calibration_dict`. Writes are atomic.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from ..io import atomic_path
from .dataset import Dataset4D

_READERS = {".mib": "quantumdetector", ".hdr": "quantumdetector", ".emd": "emd", ".h5": "emd",
            ".hdf5": "emd", ".blo": "blockfile", ".xml": "empad", ".seq": "de"}
_LENGTH = {"m": 1e10, "mm": 1e7, "µm": 1e4, "um": 1e4, "nm": 10.0, "å": 1.0, "a": 1.0, "angstrom": 1.0,
           "pm": 0.01}
_RECIP = {"1/nm": 0.1, "1 / nm": 0.1, "nm^-1": 0.1, "1/å": 1.0, "1 / å": 1.0, "1/a": 1.0, "1/angstrom": 1.0,
          "1/m": 1e-10, "1 / m": 1e-10}


def _to(scale, units, table):
    key = str(units).strip().lower() if units else ""
    if key in table and np.isfinite(scale) and scale > 0:
        return float(scale) * table[key]
    return None


def read_4dstem(path, reader: str | None = None, lazy: bool = True, index=0, **calibration) -> Dataset4D:
    """Read a 4D-STEM file into a :class:`Dataset4D`.

    Args:
        path: file path (see module docstring for the formats).
        reader: rosettasciio plugin name (default from the suffix), e.g. 'quantumdetector', 'arina'.
        lazy: keep the data on disk as a Dask array where the reader supports it.
        index: for files with more than 4 dimensions, the index along the leading extra axes
            (int or tuple), or for files with several signals, which 4D signal to use.
        **calibration: Dataset4D fields that override or complete the file's calibration
            (``energy`` [eV], ``scan_sampling`` [Å], ``detector_sampling`` [1/Å] or
            ``angular_sampling`` [mrad], ``semiangle`` [mrad], ``center``, ``rotation`` [rad], …).
    Raises:
        FileNotFoundError, ValueError (unknown suffix, no 4D signal).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() == ".zarr" and reader is None:
        return read_zarr(path, lazy=lazy, **calibration)
    if reader is None and path.suffix.lower() == ".h5" and ("_master" in path.name or "_data_0" in path.name):
        reader = "arina"
    reader = reader or _READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"unknown 4D-STEM file type {path.suffix!r} for {path}; give reader= one of "
                         f"{sorted(set(_READERS.values()))} or use a .zarr written by write_zarr")
    mod = importlib.import_module(f"rsciio.{reader}")
    try:
        signals = mod.file_reader(str(path), lazy=lazy)
    except NotImplementedError:  # e.g. arina: no lazy loading
        signals = mod.file_reader(str(path), lazy=False)
    cands = [s for s in signals if np.ndim(s["data"]) >= 4]
    if not cands:
        shapes = [tuple(np.shape(s["data"])) for s in signals]
        raise ValueError(f"{path.name} holds no 4D-STEM signal (array shapes {shapes}); expected "
                         f"(scan_y, scan_x, ky, kx)")
    if np.ndim(index) == 0 and len(cands) > 1 and int(index) < len(cands):
        sig = cands[int(index)]
        lead = 0
    else:
        sig = cands[0]
        lead = index
    data, axes = sig["data"], list(sig["axes"])
    extra = np.ndim(data) - 4
    if extra:
        idx = tuple(np.atleast_1d(lead).tolist())
        idx = (idx + (0,) * extra)[:extra]
        data = data[idx]
        axes = axes[extra:]
    scan = [_to(a.get("scale", 1.0), a.get("units"), _LENGTH) for a in axes[:2]]
    det = [_to(a.get("scale", 1.0), a.get("units"), _RECIP) for a in axes[2:]]
    meta = {"file": path.name, "reader": reader,
            "original_axes": [{k: (str(v) if not isinstance(v, (int, float, bool)) else v)
                               for k, v in a.items()} for a in axes]}
    kwargs = {}
    kwargs["scan_sampling"] = tuple(scan) if all(scan) else (1.0, 1.0)
    if not all(scan):
        meta["scan_sampling_uncalibrated"] = True
    if all(det):
        kwargs["detector_sampling"] = tuple(det)
    energy = _energy(sig.get("metadata", {}), sig.get("original_metadata", {}))
    if energy:
        kwargs["energy"] = energy
    kwargs.update(calibration)
    kwargs["metadata"] = {**meta, **kwargs.get("metadata", {})}
    return Dataset4D.from_array(data, **kwargs)


def _energy(md, omd):
    try:
        kv = md["Acquisition_instrument"]["TEM"]["beam_energy"]
        return float(kv) * 1e3
    except (KeyError, TypeError, ValueError):
        return None


def write_zarr(ds: Dataset4D, path, scan_chunks=None) -> Path:
    """Write ``ds`` in jaxem's zarr v3 layout (whole patterns per chunk), atomically.

    Args:
        ds: dataset (NumPy, JAX or Dask array; Dask is written chunk by chunk).
        path: target ``*.zarr`` directory.
        scan_chunks: (cy, cx) scan positions per chunk (default: whole rows, ≤ 64 MiB per chunk).
    """
    import zarr

    path = Path(path)
    if path.suffix.lower() != ".zarr":
        raise ValueError(f"zarr layout needs a path ending in .zarr, got {path}")
    sy, sx, ky, kx = ds.shape
    itemsize = np.dtype(ds.array.dtype).itemsize
    if scan_chunks is None:
        rows = max(1, min(sy, (64 * 2**20) // max(1, sx * ky * kx * itemsize)))
        scan_chunks = (rows, sx)
    chunks = (int(scan_chunks[0]), int(scan_chunks[1]), ky, kx)
    with atomic_path(path, is_dir=True) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        arr = root.create_array("data", shape=ds.shape, dtype=np.dtype(ds.array.dtype), chunks=chunks)
        if ds.is_lazy:
            import dask.array as da

            da.store(ds.array.rechunk(chunks), arr, lock=False)
        else:
            arr[...] = np.asarray(ds.array)
        root.attrs["jaxem_4dstem"] = ds.calibration_dict()
    return path


def read_zarr(path, lazy: bool = True, **calibration) -> Dataset4D:
    """Read a dataset written by :func:`write_zarr` (a Dask array over the zarr chunks if ``lazy``)."""
    import zarr

    path = Path(path)
    root = zarr.open_group(str(path), mode="r")
    if "jaxem_4dstem" not in root.attrs:
        raise ValueError(f"{path} is not a jaxem 4D-STEM zarr store (attribute 'jaxem_4dstem' missing)")
    arr = root["data"]
    if lazy:
        import dask.array as da

        data = da.from_zarr(arr)
    else:
        data = arr[...]
    ds = Dataset4D.from_calibration_dict(data, dict(root.attrs["jaxem_4dstem"]))
    return ds.replace(**calibration) if calibration else ds
