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

jaxem's own files use the one on-disk layout of :mod:`jaxem.io` (``.zarr``, ``.zspy``, ``.hspy``,
and ``.h5``/``.hdf5`` files in the HyperSpy layout) with the one 4D-STEM convention of
:mod:`jaxem.io.stem4d`: axes ``scan_y, scan_x`` [Å] and ``θy, θx`` [mrad] (or ``ky, kx`` [1/Å]),
the beam and calibrations in the metadata with units. :func:`jaxem.stem.stem_scan_to_zarr` and
:func:`write_zarr` write it, :func:`jaxem.io.load` reads it (strictly: an unfinished store or a
missing chunk is an error unless ``allow_partial=True``), and :func:`read_4dstem` turns it — or any
such :class:`~jaxem.measurement.Measurement` — into a :class:`Dataset4D`. Writes are atomic.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import validate
from ..measurement import Axis, Measurement, metadata_value, quantity
from ..validate import FileFormatError
from . import geometry
from .dataset import Dataset4D

_READERS = {".mib": "quantumdetector", ".hdr": "quantumdetector", ".emd": "emd", ".h5": "emd",
            ".hdf5": "emd", ".blo": "blockfile", ".xml": "empad", ".seq": "de"}
#: units rosettasciio writes that a units library would misread ("A" is Å there, not ampere)
_UNIT_ALIASES = {"a": "Å", "å": "Å", "angstrom": "Å", "1/a": "1/Å", "1 / a": "1/Å", "1/å": "1/Å",
                 "1 / å": "1/Å", "um": "µm", "µm": "µm", "1/angstrom": "1/Å"}
_UNCALIBRATED = {"", "pixels", "pixel", "px", "1", "none", "<undefined>"}
_TARGET = {"length": "Å", "reciprocal": "1/Å", "angle": "mrad"}
#: calibration keyword arguments read_4dstem accepts (Dataset4D fields, plus angular_sampling)
_CALIBRATION = ("scan_sampling", "scan_origin", "energy", "detector_sampling", "angular_sampling", "semiangle", "center",
                "rotation", "transpose", "aberrations", "metadata")
#: suffixes of jaxem's own stores (:mod:`jaxem.io`); ``.h5``/``.hdf5`` are jaxem's when in HyperSpy layout
_STORES = (".zarr", ".zspy", ".hspy")


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
    cal = dict(calibration)
    # values are checked here, naming the argument (strings with units are parsed)
    for key, units in (("scan_sampling", "Å"), ("detector_sampling", "1/Å"), ("angular_sampling", "mrad")):
        if cal.get(key) is not None:
            cal[key] = validate.pair(cal[key], key, units, positive=True, allow_traced=False)
    if cal.get("scan_origin") is not None:
        cal["scan_origin"] = validate.pair(cal["scan_origin"], "scan_origin", "Å", allow_traced=False)
    if cal.get("energy") is not None:
        from ..beam import Beam

        cal["energy"] = Beam(cal["energy"]).energy
    if cal.get("semiangle") is not None:
        cal["semiangle"] = validate.scalar(cal["semiangle"], "semiangle", "mrad", positive=True, allow_traced=False)
    if cal.get("center") is not None:
        cal["center"] = validate.pair(cal["center"], "center", "px", allow_traced=False)
    if cal.get("rotation") is not None:
        cal["rotation"] = geometry.check_rotation(cal["rotation"], "rotation")
    if "transpose" in cal:
        validate.flag(cal["transpose"], "transpose")
    if cal.get("metadata") is not None and not isinstance(cal["metadata"], dict):
        raise validate.InputTypeError(f"metadata must be a dict, got {type(cal['metadata']).__name__}")
    if cal.get("aberrations") is not None:
        from ..optics._checks import check_aberrations

        cal["aberrations"] = check_aberrations(cal["aberrations"])
    return cal


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
        path: a vendor file (see the module docstring for the formats), a jaxem store (``.zarr``,
            ``.zspy``, ``.hspy``, or ``.h5`` in the HyperSpy layout), or a
            :class:`~jaxem.measurement.Measurement` in the 4D-STEM layout of
            :mod:`jaxem.io.stem4d` (e.g. from ``jaxem.io.load``): axes ``scan_y, scan_x`` [Å] and
            ``θy, θx`` [mrad] (converted to 1/Å with the beam) or ``ky, kx`` [1/Å] (or pixels:
            detector uncalibrated); energy (``beam`` or ``energy``), ``semi_angle`` [mrad],
            rotation [rad], transpose and aberrations from its metadata.
        reader: rosettasciio plugin name (default from the suffix), e.g. 'quantumdetector', 'arina'.
        lazy: keep the data on disk as a Dask array where the reader supports it.
        index: for files with more than 4 dimensions, the index along the leading extra axes
            (int or tuple); for files with several 4D signals, which one to use (an int); for a
            HyperSpy/jaxem store holding several signals, the signal's name (a str).
        allow_partial: read a store with missing chunks anyway (jaxem stores, or chunked HDF5
            datasets in vendor files): they read as fill values and the dataset's
            ``metadata["incomplete"]`` says so. Default: an error. A file shorter than its header
            is always an error.
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
    if reader is None and p.suffix.lower() == ".h5" and ("_master" in p.name or "_data_0" in p.name):
        reader = "arina"
    if reader is None and (p.suffix.lower() in _STORES or p.suffix.lower() in (".h5", ".hdf5") and _is_hspy(p)):
        return read_zarr(p, lazy=lazy, allow_partial=allow_partial, index=index, **calibration)
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
        kwargs["scan_origin"] = _origins(axes[:2], kwargs["scan_sampling"])
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


def _origins(axes, samplings) -> tuple:
    """(y, x) offsets [Å] of calibrated length axes (the file's offset in its units, converted with the
    factor that converted the scale)."""
    out = []
    for a, d in zip(axes, samplings):
        try:
            off = float(a.get("offset", 0.0) or 0.0)
            out.append(off * d / float(a.get("scale", 1.0)) if np.isfinite(off) else 0.0)
        except (TypeError, ValueError, ZeroDivisionError):
            out.append(0.0)
    return tuple(out)


def _update(cal: dict, calibration: dict) -> None:
    """Apply the caller's calibration over the file's (an angular sampling replaces the file's
    detector sampling)."""
    if calibration.get("angular_sampling") is not None:
        cal.pop("detector_sampling", None)
    cal.update(calibration)


def _is_hspy(path: Path) -> bool:
    """True for an HDF5 file in HyperSpy's layout (written by :func:`jaxem.io.save` or HyperSpy)."""
    import h5py

    validate.path(path, "path", kind="file")
    with validate.reading(path, "HDF5 file"):
        if not h5py.is_hdf5(str(path)):
            return False
        with h5py.File(path, "r") as f:
            return str(f.attrs.get("file_format", "")) == "HyperSpy"


def _energy(md):
    try:
        kv = md["Acquisition_instrument"]["TEM"]["beam_energy"]
        return float(kv) * 1e3
    except (KeyError, TypeError, ValueError):
        return None


# ---- Measurement → Dataset4D --------------------------------------------------------------------
_UNCALIBRATED_AXES = {"pixels", "pixel", "px", ""}


def _from_measurement(m: Measurement, calibration: dict, source: str | None = None) -> Dataset4D:
    """A :class:`Dataset4D` from a 4D-STEM Measurement in the one layout (:mod:`jaxem.io.stem4d`):
    the axes give the scan sampling [Å], the detector sampling (mrad converted to 1/Å with the beam)
    and the centre; the metadata the energy, semi-angle, rotation, transpose and aberrations. Detector
    axes in pixels leave the detector calibration unknown. ``calibration`` overrides."""
    from ..io import stem4d

    if not isinstance(m, Measurement):
        raise validate.InputTypeError(f"a 4D-STEM Measurement is needed, got {type(m).__name__}")
    where = source or "Measurement"
    md = dict(m.metadata or {})
    energy = calibration.get("energy")
    if energy is not None:  # the caller's energy completes (or overrides) the metadata's
        md = {k: v for k, v in md.items() if k != "beam"}
        md["energy"] = quantity(validate.scalar(energy, "energy", "eV", positive=True), "eV")
        m = Measurement(m.array, m.axes, md, m.signal_ndim)
    cal = {}
    if m.ndim == 4 and {m.axes[2].units, m.axes[3].units} <= _UNCALIBRATED_AXES:
        # uncalibrated detector: check the scan axes with a pixel-sized stand-in for the pattern axes
        probe = Measurement(np.empty((0,) * 4), m.axes[:2] + (Axis("ky", 1.0, "1/Å"), Axis("kx", 1.0, "1/Å")),
                            md if ("beam" in md or "energy" in md) else {**md, "energy": 3e5})  # stand-in, unused
        with _named(where):
            c = stem4d.calibration(probe)
        cal["scan_sampling"], cal["scan_origin"] = c["scan_sampling"], c["scan_origin"]
        if "beam" in md or "energy" in md:
            cal["energy"] = c["energy"]
    else:
        with _named(where):
            c = stem4d.calibration(m)
        cal.update(scan_sampling=c["scan_sampling"], scan_origin=c["scan_origin"], energy=c["energy"],
                   detector_sampling=c["detector_sampling"])
        n = m.shape[2:]
        if all(0 <= ci <= ni - 1 for ci, ni in zip(c["center"], n)):
            cal["center"] = c["center"]
        if c["semi_angle"]:
            cal["semiangle"] = c["semi_angle"]
    if "center" in md:  # a store written from a Dataset4D records whether the centre is known
        cal["center"] = None if md["center"] is None else tuple(float(v) for v in metadata_value(md, "center"))
    if md.get("rotation") is not None:
        r = md["rotation"]
        cal["rotation"] = metadata_value(md, "rotation", "rad") if isinstance(r, dict) else float(r)
    if md.get("transpose") is not None:
        cal["transpose"] = bool(md["transpose"])
    if isinstance(md.get("aberrations"), dict):
        from ..optics.aberrations import Aberrations

        ab = md["aberrations"]
        cal["aberrations"] = Aberrations(**{k: float(metadata_value(ab, k, "rad" if k.startswith("phi") else "Å"))
                                            for k in ab})
    meta = dict(md.get("dataset_metadata") or {})
    _update(cal, calibration)
    cal["metadata"] = {**meta, **dict(calibration.get("metadata") or {})}
    return _dataset(m.array, cal)


class _named:
    """Prefix layout errors with where the Measurement comes from."""

    def __init__(self, where: str):
        self.where = where

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, (validate.InputError, validate.InputTypeError)) \
                and self.where != "Measurement":
            raise FileFormatError(self.where, f"is not a 4D-STEM data set in the jaxem layout: {exc}") from None
        return False


# ---- jaxem stores -------------------------------------------------------------------------------
def to_measurement(ds: Dataset4D) -> Measurement:
    """The :class:`Measurement` of ``ds`` in the one 4D-STEM layout (:mod:`jaxem.io.stem4d`): axes
    ``scan_y, scan_x`` [Å] (offset = ``ds.scan_origin``) and ``ky, kx`` [1/Å] (pixels when the detector is uncalibrated; k = 0 at
    the centre), metadata with units (energy and beam, semi-angle, scan and detector sampling,
    rotation, transpose, aberrations, centre [px]) and the dataset's own metadata."""
    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a phase.Dataset4D, got {type(ds).__name__}")
    c = ds.center or (0.0, 0.0)
    if ds.detector_sampling:
        det = tuple(Axis(n, d, "1/Å", -ci * d) for n, d, ci in zip(("ky", "kx"), ds.detector_sampling, c))
    else:
        det = (Axis("ky"), Axis("kx"))
    axes = tuple(Axis(n, d, "Å", o) for n, d, o in zip(("scan_y", "scan_x"), ds.scan_sampling, ds.scan_origin)) + det
    md = {"quantity": "intensity", "units": "", "scan_sampling": quantity(list(ds.scan_sampling), "Å"),
          "scan_origin": quantity(list(ds.scan_origin), "Å"),
          "center": list(ds.center) if ds.center else None, "rotation": quantity(ds.rotation, "rad"),
          "transpose": ds.transpose, "aberrations": ds.aberrations.to_dict(), "dataset_metadata": ds.metadata,
          "signal_type": "electron_diffraction"}  # HyperSpy/pyxem signal type of 4D-STEM patterns
    if ds.energy is not None:
        from ..beam import Beam

        md.update(energy=quantity(ds.energy, "eV"), beam=Beam(ds.energy).to_dict())
    if ds.semiangle is not None:
        md["semi_angle"] = quantity(ds.semiangle, "mrad")
    if ds.detector_sampling:
        md["detector_sampling"] = quantity(list(ds.detector_sampling), "1/Å")
    return Measurement(ds.array, axes, md, signal_ndim=2)


@validate.typed
def write_zarr(ds: Dataset4D, path, scan_chunks=None) -> Path:
    """Write ``ds`` in the one 4D-STEM layout (:func:`to_measurement`, :func:`jaxem.io.save`),
    whole patterns per chunk, atomically; a Dask array is written chunk by chunk.

    Args:
        ds: dataset (NumPy, JAX or Dask array).
        path: target ``.zarr`` (zarr v3) or ``.zspy`` (zarr v2, opened by ``hs.load``) store.
        scan_chunks: (cy, cx) scan positions per chunk (default: whole rows, ≤ 64 MiB per chunk).
    """
    from ..io import save

    m = to_measurement(ds)
    path = validate.path(path, "path", must_exist=False, suffixes=(".zarr", ".zspy"))
    sy, sx, ky, kx = ds.shape
    itemsize = np.dtype(ds.array.dtype).itemsize
    if scan_chunks is None:
        rows = max(1, min(sy, (64 * 2**20) // max(1, sx * ky * kx * itemsize)))
        scan_chunks = (rows, sx)
    cy, cx = validate.pair(scan_chunks, "scan_chunks", kind=int, lo=1)
    return save(m, path, chunks=(min(cy, sy), min(cx, sx), ky, kx))


def read_zarr(path, lazy: bool = True, allow_partial: bool = False, index=None, **calibration) -> Dataset4D:
    """Read a jaxem store (``.zarr``, ``.zspy``, ``.hspy``, ``.h5``) holding a 4D-STEM data set, e.g.
    one written by :func:`jaxem.stem.stem_scan_to_zarr` or :func:`write_zarr` (a Dask array over
    the chunks if ``lazy``).

    Every chunk must be stored: an unfinished store or a missing or damaged chunk is a
    :class:`~jaxem.validate.FileFormatError` naming the store, unless ``allow_partial=True``
    (missing chunks then read as the fill value). ``index``: the signal name, for HyperSpy files
    holding several. See :func:`read_4dstem` for ``calibration``.
    """
    from ..io import load

    calibration = _check_calibration(calibration)
    signal = index if isinstance(index, str) else None
    m = load(path, lazy=lazy, allow_partial=allow_partial, signal=signal)
    ds = _from_measurement(m, calibration, source=str(path))
    if allow_partial:
        ds = ds.replace(metadata={**ds.metadata, "incomplete": "read with allow_partial=True: chunks missing "
                                                               "from the store read as the fill value"})
    return ds
