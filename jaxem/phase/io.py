"""Reading and writing 4D-STEM datasets: vendor formats through rosettasciio, jaxem's own stores,
and in-memory :class:`~jaxem.measurement.Measurement` objects.

Vendor files are read lazily where rosettasciio supports it (the array is then a Dask array and the
methods read it chunk by chunk); axis calibrations are converted to Å (scan) and 1/Å (detector)
when the file gives them in length or reciprocal-length units, otherwise they stay ``None`` and
:meth:`Dataset4D.require` says what to supply. Supported readers (by suffix): Merlin ``.mib``/
``.hdr`` (``quantumdetector``), EMD/HDF5 ``.emd``/``.h5`` (``emd``; DECTRIS ``arina`` files
``*_master.h5`` / ``*_data_000001.h5``, read whole: rosettasciio has no lazy arina reader),
NanoMegas ``.blo`` (``blockfile``), EMPAD ``.xml`` (``empad``), Direct Electron ``.seq`` (``de``),
and jaxem's own ``.zarr`` stores and ``.h5`` files (written by :func:`jaxem.io.save`). Every vendor file is checked against its header before and after reading
(:mod:`jaxem.io.vendor`): a truncated or damaged file is a :class:`~jaxem.validate.FileFormatError`
naming the file and the expected and found size, never a smaller scan or zero-filled frames.

jaxem's zarr store is the one on-disk layout of :mod:`jaxem.io` (a group with array ``data`` whose
attributes hold ``axes`` — name, sampling, units, offset per dimension — and ``metadata``): axes
``scan_y, scan_x`` [Å] and ``ky, kx`` [1/Å] (or ``θy, θx`` [mrad], converted with the beam energy),
the calibration (energy [eV] or ``beam``, semiangle [mrad], rotation [rad], aberrations …) in the
metadata, ``dimension_names`` on the array, chunks holding whole patterns in scan order. The
simulation writer (:func:`jaxem.stem.stem_scan_to_zarr`) and :func:`write_zarr` write it;
:func:`read_4dstem` reads it, a :class:`Measurement` loaded from it, and the earlier layout with
the group attribute ``jaxem_4dstem``. Every chunk must be stored (``allow_partial=True`` accepts
fill values for missing chunks). Writes are atomic.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import validate
from ..io import atomic_path
from ..io.zarr_checks import check_complete
from ..measurement import Axis, Measurement
from ..validate import FileFormatError
from .dataset import Dataset4D

_READERS = {".mib": "quantumdetector", ".hdr": "quantumdetector", ".emd": "emd", ".h5": "emd",
            ".hdf5": "emd", ".blo": "blockfile", ".xml": "empad", ".seq": "de"}
#: units rosettasciio writes that a units library would misread ("A" is Å there, not ampere)
_UNIT_ALIASES = {"a": "Å", "å": "Å", "angstrom": "Å", "1/a": "1/Å", "1 / a": "1/Å", "1/å": "1/Å",
                 "1 / å": "1/Å", "um": "µm", "µm": "µm", "1/angstrom": "1/Å"}
_UNCALIBRATED = {"", "pixels", "pixel", "px", "1", "none", "<undefined>"}
_TARGET = {"length": "Å", "reciprocal": "1/Å", "angle": "mrad"}
#: calibration keyword arguments read_4dstem accepts (Dataset4D fields, plus angular_sampling)
_CALIBRATION = ("scan_sampling", "energy", "detector_sampling", "angular_sampling", "semiangle", "center",
                "rotation", "transpose", "aberrations", "metadata")
#: units of the calibration written into a store's metadata
_CALIBRATION_UNITS = {"energy": "eV", "semiangle": "mrad", "scan_sampling": "Å", "detector_sampling": "1/Å",
                      "center": "px", "rotation": "rad", "aberrations": "Å (C_nm), rad (phi_nm)"}
#: metadata keys (in order of preference) under which a store may record the probe semiangle [mrad]
_SEMIANGLE_KEYS = ("semiangle", "convergence_semiangle", "probe_semiangle")


def _axis_kind(scale, units) -> tuple[str | None, float | None]:
    """(kind, sampling in jaxem units) of an axis: kind is "length" [Å], "reciprocal" [1/Å],
    "angle" [mrad], or None (uncalibrated: pixels, unknown units or a non-positive scale)."""
    key = str(units if units is not None else "").strip()
    if key.lower() in _UNCALIBRATED:
        return None, None
    key = _UNIT_ALIASES.get(key.lower(), key)
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        return None, None
    if not (np.isfinite(scale) and scale > 0):
        return None, None
    for kind, target in _TARGET.items():
        try:
            return kind, validate.quantity(f"{scale!r} {key}", "axis", target)
        except validate.InputError:
            continue
    return None, None


def _check_calibration(calibration: dict) -> dict:
    unknown = [k for k in calibration if k not in _CALIBRATION]
    if unknown:
        hint = validate.closest(unknown[0], _CALIBRATION)
        raise validate.InputError(f"unknown calibration argument {unknown[0]!r}; read_4dstem accepts "
                                  f"{', '.join(_CALIBRATION)}" + (f" (did you mean {hint!r}?)" if hint else ""))
    if calibration.get("detector_sampling") is not None and calibration.get("angular_sampling") is not None:
        raise validate.InputError("give detector_sampling [1/Å] or angular_sampling [mrad], not both")
    return dict(calibration)


def _dataset(data, cal: dict) -> Dataset4D:
    """Dataset4D from an array and calibration keywords; ``angular_sampling`` [mrad] is converted to
    ``detector_sampling`` [1/Å] with the beam."""
    cal = dict(cal)
    if cal.get("energy") is not None:
        cal["energy"] = validate.scalar(cal["energy"], "energy", "eV", positive=True)
    ang = cal.pop("angular_sampling", None)
    if ang is not None:
        if cal.get("energy") is None:
            raise validate.InputError("angular_sampling [mrad] needs the beam energy [eV] to convert to 1/Å: "
                                      "pass energy=…")
        from ..beam import Beam

        beam = Beam(cal["energy"])
        ang = validate.pair(ang, "angular_sampling", "mrad", positive=True)
        cal["detector_sampling"] = tuple(beam.mrad_to_frequency(a) for a in ang)
    return Dataset4D(data, **cal)


def read_4dstem(path, reader: str | None = None, lazy: bool = True, index=0, allow_partial: bool = False,
                **calibration) -> Dataset4D:
    """Read 4D-STEM data into a :class:`Dataset4D`.

    Args:
        path: a file path (see the module docstring for the formats), a jaxem ``.zarr`` store, or a
            :class:`~jaxem.measurement.Measurement` (e.g. from ``jaxem.io.load``) with axes
            ``(scan_y, scan_x, ky, kx)``: scan axes in a length unit [Å], detector axes in 1/Å or
            in mrad (converted with the energy); energy (``metadata["beam"]`` or
            ``metadata["energy"]``, a number [eV], a string with units or ``{"value", "units"}``),
            semiangle [mrad], rotation [rad], transpose and aberrations are taken from its metadata.
        reader: rosettasciio plugin name (default from the suffix), e.g. 'quantumdetector', 'arina'.
        lazy: keep the data on disk as a Dask array where the reader supports it.
        index: for files with more than 4 dimensions, the index along the leading extra axes
            (int or tuple), or for files (and jaxem stores) with several 4D signals, which one to
            use (an int, or for a store the array's name).
        allow_partial: read a store with missing chunks anyway (zarr, or chunked HDF5 datasets):
            they read as fill values and the dataset's ``metadata["incomplete"]`` says what is
            missing. Default: an error. A file shorter than its header is always an error.
        **calibration: Dataset4D fields that override or complete the file's calibration
            (``energy`` [eV], ``scan_sampling`` [Å], ``detector_sampling`` [1/Å] or
            ``angular_sampling`` [mrad], ``semiangle`` [mrad], ``center`` [px], ``rotation`` [rad] …).
    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: the path cannot be read.
        FileFormatError: the file is truncated, incomplete, damaged or holds no 4D-STEM signal
            (names the file and the expected and found size or count).
        InputError: unknown suffix, reader or calibration argument.
    """
    calibration = _check_calibration(calibration)
    if isinstance(path, Measurement):
        return _from_measurement(path, calibration)
    if not isinstance(path, (str, os.PathLike)):
        raise validate.InputTypeError(f"path must be a file path or a jaxem Measurement, got "
                                      f"{type(path).__name__}")
    p = Path(path)
    if p.suffix.lower() == ".zarr" and reader is None:
        return read_zarr(p, lazy=lazy, allow_partial=allow_partial, index=index, **calibration)
    if reader is None and p.suffix.lower() == ".h5" and ("_master" in p.name or "_data_0" in p.name):
        reader = "arina"
    if reader is None and p.suffix.lower() in (".h5", ".hdf5") and _is_jaxem_hdf5(p):
        from ..io import load

        with validate.reading(p, "jaxem HDF5 file"):
            m = load(p)
        return _from_measurement(m, calibration, source=str(p))
    from ..io.vendor import read_signals, resolve

    p, reader = resolve(p, reader, _READERS, "4D-STEM")
    signals = read_signals(p, reader, lazy=lazy, allow_partial=allow_partial)
    cands = [s for s in signals if np.ndim(s["data"]) >= 4]
    if not cands:
        shapes = [tuple(np.shape(s["data"])) for s in signals]
        raise FileFormatError(p, f"holds no 4D-STEM signal (array shapes {shapes}); expected "
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
        for i, (k, n) in enumerate(zip(idx, np.shape(data)[:extra])):
            validate.integer(k, "index", lo=-n, hi=n - 1)
        data = data[idx]
        axes = axes[extra:]
    scan = [_axis_kind(a.get("scale", 1.0), a.get("units")) for a in axes[:2]]
    det = [_axis_kind(a.get("scale", 1.0), a.get("units")) for a in axes[2:]]
    meta = {"file": p.name, "reader": reader,
            "original_axes": [{k: (str(v) if not isinstance(v, (int, float, bool)) else v)
                               for k, v in a.items()} for a in axes]}
    if sig.get("jaxem_incomplete"):
        meta["incomplete"] = sig["jaxem_incomplete"]
    kwargs = {}
    if all(k == "length" for k, _ in scan):
        kwargs["scan_sampling"] = tuple(s for _, s in scan)
    else:
        kwargs["scan_sampling"] = (1.0, 1.0)
        meta["scan_sampling_uncalibrated"] = True
    if all(k == "reciprocal" for k, _ in det):
        kwargs["detector_sampling"] = tuple(s for _, s in det)
    energy = _energy(sig.get("metadata", {}))
    if energy:
        kwargs["energy"] = energy
    _update(kwargs, calibration)
    kwargs["metadata"] = {**meta, **kwargs.get("metadata", {})}
    return _dataset(data, kwargs)


def _update(cal: dict, calibration: dict) -> None:
    """Apply the caller's calibration over the file's (an angular sampling replaces the file's
    detector sampling)."""
    if calibration.get("angular_sampling") is not None:
        cal.pop("detector_sampling", None)
    cal.update(calibration)


def _is_jaxem_hdf5(path: Path) -> bool:
    """True for an HDF5 file written by :func:`jaxem.io.save` (dataset ``data`` with ``axes``)."""
    import h5py

    validate.path(path, "path", kind="file")
    with validate.reading(path, "HDF5 file"):
        if not h5py.is_hdf5(str(path)):
            return False
        with h5py.File(path, "r") as f:
            return isinstance(f.get("data"), h5py.Dataset) and "axes" in f["data"].attrs


def _energy(md):
    try:
        kv = md["Acquisition_instrument"]["TEM"]["beam_energy"]
        return float(kv) * 1e3
    except (KeyError, TypeError, ValueError):
        return None


# ---- Measurement → Dataset4D --------------------------------------------------------------------
def _meta_quantity(value, name: str, units: str):
    """A metadata value [units]: a number, a string with units, a ``{"value", "units"}`` dict or a
    :class:`~jaxem.beam.Beam` (for the energy)."""
    if value is None:
        return None
    if hasattr(value, "energy") and units == "eV":
        return float(value.energy)
    if isinstance(value, dict):
        if "value" not in value:
            raise validate.InputError(f"metadata {name!r} must be a number [{units}] or {{'value', 'units'}}, "
                                      f"got {value!r}")
        v, u = value["value"], str(value.get("units") or units)
        if u != units:
            return validate.quantity(f"{float(v)!r} {u}", f"metadata {name!r}", units)
        value = v
    return validate.scalar(value, f"metadata {name!r}", units, positive=units in ("eV", "mrad"))


def _from_measurement(m: Measurement, calibration: dict, source: str | None = None) -> Dataset4D:
    """Build a :class:`Dataset4D` from a 4D Measurement's axes and metadata (see :func:`read_4dstem`)."""
    where = source or "Measurement"
    if len(m.axes) != 4 or np.ndim(m.array) != 4:
        raise validate.InputError(f"{where}: 4D-STEM data need 4 axes (scan_y, scan_x, ky, kx), got "
                                  f"{len(m.axes)} axes {[a.name for a in m.axes]} and shape {np.shape(m.array)}")
    md = dict(m.metadata or {})
    kinds = [_axis_kind(a.sampling, a.units) for a in m.axes]
    for i, (kind, _) in enumerate(kinds):
        want = ("length",) if i < 2 else ("reciprocal", "angle")
        if kind is not None and kind not in want:
            raise validate.InputError(
                f"{where}: axis {i} {m.axes[i].name!r} has units {m.axes[i].units!r}; 4D-STEM axes are "
                f"(scan_y, scan_x) in a length unit [Å] then (ky, kx) in 1/Å or mrad")
        if kind is None and str(m.axes[i].units).strip().lower() not in _UNCALIBRATED:
            raise validate.InputError(
                f"{where}: axis {i} {m.axes[i].name!r} has units {m.axes[i].units!r} and sampling "
                f"{m.axes[i].sampling!r}, which are neither a length [Å], a reciprocal length [1/Å] nor "
                f"an angle [mrad]")
    cal = {}
    meta = dict(md.get("metadata") or {}) if isinstance(md.get("metadata"), dict) else {}
    energy = calibration.get("energy")
    if energy is None:
        beam = md.get("beam")
        energy = _meta_quantity(beam.get("energy") if isinstance(beam, dict) else beam, "beam energy", "eV")
        if energy is None:
            energy = _meta_quantity(md.get("energy"), "energy", "eV")
    if energy is not None:
        cal["energy"] = validate.scalar(energy, "energy", "eV", positive=True)
    if all(k == "length" for k, _ in kinds[:2]):
        cal["scan_sampling"] = tuple(s for _, s in kinds[:2])
    else:
        cal["scan_sampling"] = (1.0, 1.0)
        meta["scan_sampling_uncalibrated"] = True
    det_kinds = {k for k, _ in kinds[2:]}
    if det_kinds == {"reciprocal"}:
        cal["detector_sampling"] = tuple(s for _, s in kinds[2:])
        calibrated = True
    elif det_kinds == {"angle"}:
        if "energy" not in cal:
            raise validate.InputError(f"{where}: detector axes in mrad need the beam energy to convert to "
                                      f"1/Å: pass energy=… [eV] or store metadata['beam']")
        from ..beam import Beam

        beam = Beam(cal["energy"])
        cal["detector_sampling"] = tuple(float(beam.mrad_to_frequency(s)) for _, s in kinds[2:])
        calibrated = True
    else:
        calibrated = False
    if "center" in md:  # a store written from a Dataset4D records whether the centre is known
        c = md["center"]
        cal["center"] = None if c is None else tuple(float(v) for v in c)
    elif calibrated:
        offsets = [validate.quantity(f"{a.offset!r} {_UNIT_ALIASES.get(a.units.lower(), a.units)}", "axis",
                                     _TARGET[k]) for a, (k, _) in zip(m.axes[2:], kinds[2:])]
        c = tuple(-o / s for o, (_, s) in zip(offsets, kinds[2:]))
        n = np.shape(m.array)[2:]
        if all(0 <= ci <= ni - 1 for ci, ni in zip(c, n)):
            cal["center"] = c
    for key in _SEMIANGLE_KEYS:
        if md.get(key) is not None:
            cal["semiangle"] = _meta_quantity(md[key], key, "mrad")
            break
    if md.get("rotation") is not None:
        cal["rotation"] = _meta_quantity(md["rotation"], "rotation", "rad")
    if md.get("transpose") is not None:
        cal["transpose"] = bool(md["transpose"])
    if md.get("aberrations"):
        from ..optics.aberrations import Aberrations

        cal["aberrations"] = Aberrations(**{k: float(v) for k, v in dict(md["aberrations"]).items()})
    if md.get("incomplete"):
        meta["incomplete"] = md["incomplete"]
    _update(cal, calibration)
    cal["metadata"] = {**meta, **dict(calibration.get("metadata") or {})}
    return _dataset(m.array, cal)


# ---- jaxem zarr stores --------------------------------------------------------------------------
def write_zarr(ds: Dataset4D, path, scan_chunks=None) -> Path:
    """Write ``ds`` as a jaxem zarr v3 store (the :mod:`jaxem.io` layout, whole patterns per chunk),
    atomically.

    Args:
        ds: dataset (NumPy, JAX or Dask array; Dask is written chunk by chunk).
        path: target ``*.zarr`` directory.
        scan_chunks: (cy, cx) scan positions per chunk (default: whole rows, ≤ 64 MiB per chunk).
    """
    import zarr

    from .. import __version__

    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a phase.Dataset4D, got {type(ds).__name__}")
    path = validate.path(path, "path", must_exist=False, suffixes=(".zarr",))
    sy, sx, ky, kx = ds.shape
    itemsize = np.dtype(ds.array.dtype).itemsize
    if scan_chunks is None:
        rows = max(1, min(sy, (64 * 2**20) // max(1, sx * ky * kx * itemsize)))
        scan_chunks = (rows, sx)
    cy, cx = validate.pair(scan_chunks, "scan_chunks", kind=int, lo=1)
    chunks = (min(cy, sy), min(cx, sx), ky, kx)
    m = ds.to_measurement()
    metadata = {**m.metadata, "units": dict(_CALIBRATION_UNITS)}
    if ds.energy is not None:
        from ..beam import Beam

        metadata["beam"] = Beam(ds.energy).to_dict()
    with atomic_path(path, is_dir=True) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        arr = root.create_array("data", shape=ds.shape, dtype=np.dtype(ds.array.dtype), chunks=chunks,
                                dimension_names=tuple(a.name for a in m.axes))
        if ds.is_lazy:
            import dask.array as da

            da.store(ds.array.rechunk(chunks), arr, lock=False)
        else:
            arr[...] = np.asarray(ds.array)
        arr.attrs.update({"axes": [a.to_dict() for a in m.axes], "metadata": metadata,
                          "jaxem_version": __version__})
    return path


class _ZarrSource:
    """A zarr array whose reads name the store when they fail (a damaged chunk read lazily)."""

    def __init__(self, array, path):
        self.array, self.path = array, str(path)
        self.shape, self.dtype, self.ndim = tuple(array.shape), np.dtype(array.dtype), array.ndim

    def __getitem__(self, key):
        with validate.reading(self.path, "jaxem zarr store"):
            return self.array[key]


def _pick_array(root, path, index):
    """The store's 4D array: ``data``, else the only 4D array, else the one ``index`` names (a name,
    or an int into the sorted names of the 4D arrays)."""
    import zarr

    arrays = {name: a for name, a in root.members() if isinstance(a, zarr.Array) and a.ndim == 4}
    if isinstance(index, str):
        if index not in arrays:
            hint = validate.closest(index, arrays)
            raise validate.InputError(f"index {index!r} names no 4D array of {path}; it holds {sorted(arrays)}"
                                      + (f" (did you mean {hint!r}?)" if hint else ""))
        return index, arrays[index]
    if "data" in arrays:
        return "data", arrays["data"]
    if not arrays:
        raise FileFormatError(path, f"is not a jaxem 4D-STEM store: no 4D array (members: "
                                    f"{sorted(root.keys())})")
    names = sorted(arrays)
    k = validate.integer(index, "index", lo=0, hi=len(names) - 1) if len(names) > 1 else 0
    return names[k], arrays[names[k]]


def _open_store(path: Path, lazy: bool, allow_partial: bool, index=0):
    """(data, array attributes, group attributes, what is missing or None) of a jaxem zarr store,
    every chunk checked unless ``allow_partial``."""
    import zarr

    with validate.reading(path, "jaxem zarr store"):
        root = zarr.open_group(str(path), mode="r")
        group_attrs = dict(root.attrs)
        name, arr = _pick_array(root, path, index)
        attrs = dict(arr.attrs)
        if name != "data":
            attrs["jaxem_array"] = name
        check_complete(arr, path, name, allow_partial=allow_partial)
        missing = int(arr.nchunks) - int(arr.nchunks_initialized) if allow_partial else 0
        incomplete = f"{missing} of {int(arr.nchunks)} chunks missing (read as fill value)" if missing else None
        if lazy:
            import dask.array as da
            from dask.base import tokenize

            token = tokenize(str(path.resolve()), os.stat(path).st_mtime_ns, arr.shape, arr.chunks, str(arr.dtype))
            data = da.from_array(_ZarrSource(arr, path), chunks=arr.chunks, name=f"jaxem-zarr-{token}",
                                 lock=False, asarray=True)
        else:
            data = arr[...]
    return data, attrs, group_attrs, incomplete


def read_zarr(path, lazy: bool = True, allow_partial: bool = False, index=0, **calibration) -> Dataset4D:
    """Read a jaxem 4D-STEM zarr store (a Dask array over the zarr chunks if ``lazy``).

    The 4D array is ``data``, or the store's only 4D array, or (several detectors) the one ``index``
    names.

    Every chunk must be stored: a store with missing chunks (an interrupted write, deleted files) is
    a :class:`~jaxem.validate.FileFormatError` naming how many are missing, unless
    ``allow_partial=True`` (missing chunks then read as the fill value and
    ``metadata["incomplete"]`` says so). See :func:`read_4dstem` for ``calibration``.
    """
    import json

    calibration = _check_calibration(calibration)
    path = validate.path(path, "path", kind="dir")
    data, attrs, group_attrs, incomplete = _open_store(path, lazy, allow_partial, index)
    if "jaxem_4dstem" in group_attrs:  # the earlier layout: calibration in a group attribute
        with validate.reading(path, "jaxem zarr store"):
            ds = Dataset4D.from_calibration_dict(data, dict(group_attrs["jaxem_4dstem"]))
        cal = {k: getattr(ds, k) for k in _CALIBRATION if k != "angular_sampling"}
        if incomplete:
            cal["metadata"] = {**ds.metadata, "incomplete": incomplete}
        _update(cal, calibration)
        return _dataset(data, cal)
    with validate.reading(path, "jaxem zarr store"):
        axes_raw = attrs.get("axes")
        metadata = attrs.get("metadata", {})
        if isinstance(axes_raw, str):
            axes_raw = json.loads(axes_raw)
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if axes_raw is None:
            raise FileFormatError(path, "the 4D array has no 'axes' attribute (not a jaxem store, or one "
                                        "written before arrays carried their axes)")
        axes = tuple(Axis(**a) for a in axes_raw)
    if len(axes) != np.ndim(data):
        raise FileFormatError(path, f"the 4D array has {np.ndim(data)} dimensions but {len(axes)} axes")
    md = dict(metadata or {})
    if incomplete:
        md["incomplete"] = incomplete
    if "jaxem_array" in attrs:
        calibration = {**calibration, "metadata": {"array": attrs["jaxem_array"], **dict(calibration.get("metadata") or {})}}
    return _from_measurement(Measurement(data, axes, md), calibration, source=str(path))
