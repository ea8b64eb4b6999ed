"""Reading real HRTEM images for detection/indexing: rosettasciio formats (through
:func:`jaxem.io.vendor.read_signals`, the one route to rosettasciio) and common image files.

The pixel size [Å] comes from the file's calibrated axes (units nm, Å, pm, µm/um) unless given;
colour images are averaged to grey; a stack must be a single 2-D image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import validate

PLUGINS = {".dm3": "digitalmicrograph", ".dm4": "digitalmicrograph", ".ser": "tia", ".emd": "emd",
           ".mrc": "mrc", ".tif": "tiff", ".tiff": "tiff", ".png": "image", ".jpg": "image", ".jpeg": "image",
           ".bmp": "image", ".hspy": "hspy", ".zspy": "zspy"}
_UNITS = {"nm": 10.0, "å": 1.0, "a": 1.0, "angstrom": 1.0, "pm": 0.01, "µm": 1e4, "um": 1e4}


def read_image(path, pixel_size=None) -> tuple[np.ndarray, float | None]:
    """(image (ny, nx) float64, pixel size [Å] or None) of an image file; ``pixel_size`` overrides."""
    path = validate.path(path, "image", kind="file")
    suffix = path.suffix.lower()
    px = None
    if suffix == ".npy":
        with validate.reading(path, "NumPy image"):
            data = np.load(path, allow_pickle=False)
    else:
        plugin = PLUGINS.get(suffix)
        if plugin is None:
            raise validate.InputError(f"image {str(path)!r} has suffix {suffix!r}; expected one of "
                                      f"{', '.join(sorted(PLUGINS) + ['.npy'])}")
        from ..io.vendor import read_signals

        signals = read_signals(path, plugin)
        if not signals:
            raise validate.FileFormatError(path, "holds no signal")
        sig = signals[0]
        data = np.asarray(sig["data"])
        axes = [a for a in sig.get("axes", []) if a.get("navigate") is not True]
        if len(axes) >= 2:
            a = axes[-1]
            unit = str(a.get("units", "")).strip().lower()
            if unit in _UNITS and float(a.get("scale", 0)) > 0:
                px = float(a["scale"]) * _UNITS[unit]
    if data.dtype.names:  # RGB(A) structured arrays from the image plugin
        data = np.mean([data[n].astype(float) for n in data.dtype.names[:3]], axis=0)
    data = np.asarray(data, float)
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        data = data[..., :3].mean(-1)
    if data.ndim != 2:
        raise validate.InputError(f"image {str(path)!r} must hold one 2-D image, got shape {data.shape}")
    if pixel_size is not None:
        px = validate.scalar(pixel_size, "pixel_size", "Å", positive=True)
    return data, px


def image_name(path) -> str:
    return Path(str(path)).name
