"""Reading real HRTEM images for detection/indexing: a thin adapter over
:func:`jaxem.io.images.read_image` (the one calibrated-image reader: rosettasciio formats, .npy,
colour images as grey), returning the array and the pixel size [Å] (None when the file carries no
calibration and none is given — detection then works in pixels).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def read_image(path, pixel_size=None) -> tuple[np.ndarray, float | None]:
    """(image (ny, nx) float64, pixel size [Å] along x or None) of an image file; ``pixel_size`` [Å]
    is used for files without a calibration and must agree with a file's own."""
    from ..io.images import read_image as read

    m = read(path, sampling=pixel_size, require_calibration=False)
    x = m.axes[1]
    return np.asarray(m.array), (None if x.units == "pixels" else float(x.sampling))


def image_name(path) -> str:
    return Path(str(path)).name
