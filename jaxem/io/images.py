"""Calibrated 2-D images from any file rosettasciio reads (the general image reader; HRTEM fitting,
FFT peak detection and the CLI use it).

:func:`read_image` opens any 2-D image that rosettasciio reads (Digital Micrograph .dm3/.dm4, TIFF,
Velox/Berkeley .emd, HyperSpy .hspy, MRC, SER, …; plus NumPy .npy) and returns a
:class:`~jaxem.measurement.Measurement` whose (y, x) axes carry the pixel size in Å, converted with
pint from the file's own units (pm, nm, µm, Å …). Files without a calibration need ``sampling``;
a ``sampling`` that contradicts the file's calibration is refused. Unreadable or damaged files,
images that are not 2-D or not real, and NaN/inf pixels are errors that name the file.

Files are opened through :func:`jaxem.io.vendor.read_signals`, the one route for instrument files
(sizes and counts checked against the file's own header before and after rosettasciio reads it), so
a truncated Merlin frame or Bruker container is a :class:`~jaxem.validate.FileFormatError`, never a
short, zero-filled or crashing read; plain pictures (PNG, JPEG …) go the same way through
rosettasciio's imageio-based reader.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import validate
from ..measurement import Axis, Measurement

_UNCALIBRATED = {None, "", "<undefined>", "undefined", "px", "pixel", "pixels", "t.u."}


def _plugins(suffix: str) -> list:
    import rsciio

    s = suffix.lower().lstrip(".")
    return [p for p in rsciio.IO_PLUGINS if s in [e.lower() for e in p["file_extensions"]]]


def _suffixes() -> list:
    import rsciio

    return sorted({e.lower() for p in rsciio.IO_PLUGINS for e in p["file_extensions"]} | {"npy"})


def _read_signals(path: Path) -> tuple[list, str]:
    """rosettasciio signal dicts of ``path`` and the name of the reader that opened it.

    Every candidate plugin for the suffix is tried through :func:`jaxem.io.vendor.read_signals`, the one
    route for instrument files: it checks the file against its own header before and after the foreign
    reader runs (a truncated Merlin ``.mib`` or Bruker ``.bcf`` is refused instead of being read short,
    zero-filled or crashing the process) and names the file in every error. Plain picture formats
    (PNG, JPEG … through rosettasciio's imageio-based ``image`` plugin) have no header to check and
    pass through the same route unchanged."""
    from . import vendor

    plugins = _plugins(path.suffix)
    if not plugins:
        raise validate.InputError(f"image {str(path)!r}: suffix {path.suffix!r} is not a format rosettasciio reads; "
                                  f"readable suffixes: {', '.join('.' + s for s in _suffixes())}")
    problems = []
    for plugin in plugins:
        try:
            signals = vendor.read_signals(path, plugin["api"])
        except vendor.PluginUnavailable as exc:
            problems.append(f"{plugin['name']} reader unavailable ({exc})")
            continue
        except validate.FileFormatError as exc:
            problems.append(f"{plugin['name']}: {str(exc).removeprefix(f'{path}: ')}")
            continue
        return list(signals), plugin["name"]
    raise validate.FileFormatError(path, "cannot read this image (" + "; ".join(problems) + ")")


def _pick(signals: list, signal, path: Path) -> tuple[dict, int]:
    titles = [str(s.get("metadata", {}).get("General", {}).get("title", "")) for s in signals]
    if signal is None:
        if len(signals) == 1:
            return signals[0], 0
        listing = ", ".join(f"{i}: {t!r} {tuple(np.shape(s['data']))}" for i, (t, s) in enumerate(zip(titles, signals)))
        raise validate.InputError(f"image {str(path)!r} holds {len(signals)} signals ({listing}); choose one with "
                                  "signal= (an index or a title)")
    if isinstance(signal, str):
        if signal not in titles:
            validate.choice(signal, "signal", titles)
        return signals[titles.index(signal)], titles.index(signal)
    i = validate.integer(signal, "signal", lo=-len(signals), hi=len(signals) - 1)
    return signals[i], i % len(signals)


def _axis_sampling(axis: dict, which: str, path: Path):
    """Pixel size [Å] of one rosettasciio axis dict, or None when it is not calibrated."""
    units = axis.get("units")
    units = None if units is None else str(units).strip()
    scale = axis.get("scale", 1.0)
    if units in _UNCALIBRATED:
        return None
    if "1/" in units or units.startswith("1 /") or units.endswith("^-1") or units.endswith("⁻¹"):
        raise validate.InputError(f"image {str(path)!r}: its {which} axis is in {units} (reciprocal space, e.g. a "
                                  "diffractogram); fitting needs a real-space image")
    value = validate.quantity(f"{float(scale)!r} {units}", f"the {which} pixel size of image {str(path)!r}", "Å")
    if not (np.isfinite(value) and value > 0):
        raise validate.InputError(f"image {str(path)!r}: its {which} pixel size is {scale} {units}; expected > 0")
    return value


def _grey(data):
    """Colour images (RGB(A) structured arrays of the image reader, or (ny, nx, 3|4)) as grey levels."""
    data = np.asarray(data)
    if data.dtype.names:
        return np.mean([data[n].astype(np.float64) for n in data.dtype.names[:3]], axis=0)
    if data.ndim == 3 and data.shape[-1] in (3, 4) and data.dtype.kind in "iu":
        return data[..., :3].astype(np.float64).mean(-1)
    return data


def read_image(path, signal=None, sampling=None, require_calibration: bool = True) -> Measurement:
    """Read a calibrated real-space image (ny, nx) from ``path``.

    Args:
        path: any 2-D image file rosettasciio reads (.dm3/.dm4, .tif, .emd, .hspy, .mrc, .ser …) or .npy.
        signal: which signal of a file that holds several (an index or a title; required then).
        sampling: pixel size [Å] (scalar or (dy, dx), or a string such as ``"0.01 nm"``) for files
            without a calibration (.npy, uncalibrated TIFF); must agree (0.1 %) with a file's own.
        require_calibration: when False, an image with no calibration and no ``sampling`` comes back
            with axes in pixels (``calibration`` "none") instead of an error (detection in pixels).
        Colour images (PNG/JPEG/RGB TIFF) are read as grey levels (mean of R, G, B).
    Returns:
        :class:`~jaxem.measurement.Measurement` (ny, nx) float64 with (y, x) axes in Å; metadata:
        ``source``, ``reader``, ``signal`` (index), ``title`` and ``calibration`` ("file" or "sampling").
    Raises:
        FileNotFoundError / IsADirectoryError / PermissionError naming the path;
        :class:`~jaxem.validate.FileFormatError` (unreadable, truncated or damaged file);
        :class:`~jaxem.validate.InputError` (not 2-D, NaN/inf pixels, no or contradicting calibration,
        several signals and no ``signal``).
    """
    path = validate.path(path, "image", kind="file")
    given = None if sampling is None else validate.pair(sampling, "sampling", "Å", positive=True)
    if path.suffix.lower() == ".npy":
        if signal not in (None, 0, "0"):
            raise validate.InputError(f"signal={signal!r}: {str(path)!r} is a .npy file holding one image (signal 0)")
        with validate.reading(path, "NumPy image"):
            data = np.load(path, allow_pickle=False)
        sig, index, reader, title, axes = {"data": data}, 0, "numpy", path.stem, [{}, {}]
    else:
        signals, reader = _read_signals(path)
        sig, index = _pick(signals, signal, path)
        title = str(sig.get("metadata", {}).get("General", {}).get("title", "")) or path.stem
        axes = list(sig.get("axes", []))
    data = sig["data"]
    if np.asarray(data).dtype.names or (np.ndim(data) == 3 and np.shape(data)[-1] in (3, 4)
                                        and np.asarray(data).dtype.kind in "iu"):
        data = _grey(data)
    shape = tuple(np.shape(data))
    if len(shape) != 2:
        nav = [a.get("name") for a in axes if a.get("navigate")]
        raise validate.InputError(f"image {str(path)!r} (signal {index}, {title!r}) must be a 2-D image (y, x), got "
                                  f"shape {shape}" + (f" with navigation axes {nav}" if nav else "")
                                  + "; select or sum frames first")
    with validate.reading(path, "image"):
        data = np.asarray(data)
    if data.dtype.kind not in "iuf":
        raise validate.InputTypeError(f"image {str(path)!r} (signal {index}, {title!r}) must be real, got dtype "
                                      f"{data.dtype}")
    data = data.astype(np.float64)
    validate.array(data, f"image {str(path)!r}")
    file_s = [(_axis_sampling(a, w, path) if a else None) for a, w in zip(axes[-2:] if len(axes) >= 2 else [{}, {}],
                                                                             ("y", "x"))]
    if all(v is not None for v in file_s):
        if given is not None and not np.allclose(given, file_s, rtol=1e-3):
            raise validate.InputError(f"sampling={tuple(given)} Å contradicts the calibration of image {str(path)!r}, "
                                      f"{tuple(round(v, 6) for v in file_s)} Å; omit sampling")
        s, how = tuple(file_s), "file"
    elif given is not None:
        s, how = given, "sampling"
    elif not require_calibration:
        s, how = (1.0, 1.0), "none"
    else:
        raise validate.InputError(f"sampling: image {str(path)!r} carries no pixel calibration; give sampling= [Å] "
                                  "(the pixel size)")
    offsets = [float(a.get("offset", 0.0) or 0.0) * (s[i] / float(a.get("scale", 1.0) or 1.0)) if how == "file"
               else 0.0 for i, a in enumerate(axes[-2:] if len(axes) >= 2 else [{}, {}])]
    meta = {"source": str(path), "reader": reader, "signal": int(index), "title": title, "calibration": how,
            "quantity": "image intensity (as recorded)"}
    units = "pixels" if how == "none" else "Å"
    return Measurement(data, (Axis("y", float(s[0]), units, offsets[0]), Axis("x", float(s[1]), units, offsets[1])),
                       meta)
