"""Experimental HRTEM images on a model's grid.

Images are read by :func:`jaxem.io.images.read_image` (re-exported here): any calibrated 2-D image
file rosettasciio reads, pixel size in Å.

The image model is periodic: its supercell (``cells`` × ``cells`` unit cells) must be the image's
field of view. :func:`image_on_model_grid` checks that the field of view ny·dy × nx·dx matches the
model's extent within a relative ``tolerance`` (the lattice then sets the scale; the ratio is
reported as ``calibration_scale``) and, when the pixel counts differ, resamples the image onto the
model grid by Fourier interpolation (:func:`resample_image`: exact for band-limited periodic
images, an ideal low-pass when it reduces the pixel count); otherwise it refuses, naming both sizes.
"""
from __future__ import annotations

import numpy as np

from .. import validate
from ..io.images import read_image
from ..measurement import Axis, Measurement

__all__ = ["read_image", "resample_image", "image_on_model_grid"]


def resample_image(image, gpts):
    """Fourier (periodic, band-limited) resampling of ``image`` (ny, nx) to ``gpts`` (my, mx) pixels.

    Frequencies |k| below both Nyquist limits are kept (the Nyquist bin of an even size is dropped),
    the rest is cut (an ideal low-pass when reducing) or zero-padded; the mean is preserved.
    """
    validate.array(image, "image", ndim=2, kind="real")
    my, mx = validate.pair(gpts, "gpts", kind=int, lo=1)
    a = np.asarray(image, np.float64)
    ny, nx = a.shape
    spec = np.fft.fft2(a)
    out = np.zeros((my, mx), complex)
    iy_in, iy_out = _common(ny, my)
    ix_in, ix_out = _common(nx, mx)
    out[np.ix_(iy_out, ix_out)] = spec[np.ix_(iy_in, ix_in)]
    return np.fft.ifft2(out).real * (my * mx) / (ny * nx)


def _common(n: int, m: int):
    """Indices (in an n- and an m-point FFT) of the integer frequencies |f| < min(n, m)/2."""
    k = min(n, m)
    f = np.arange(-((k - 1) // 2), (k - 1) // 2 + 1)
    return f % n, f % m


def image_on_model_grid(model, image, sampling=None, tolerance=0.02) -> Measurement:
    """``image`` on the grid of ``model`` (a periodic supercell), ready for :meth:`HRTEMModel.check_data`.

    Args:
        model: :class:`~jaxem.hrtem.HRTEMModel`.
        image: a Measurement with (y, x) axes in Å (from :func:`read_image`), or an array with ``sampling``.
        sampling: pixel size [Å] of an array ``image`` (scalar or (dy, dx)).
        tolerance: largest accepted relative difference between the image's field of view and the
            model's extent, per axis (default 2 %), in [0, 0.2].
    Returns:
        Measurement (ny, nx) on the model grid; metadata adds ``calibration_scale`` (field of view /
        model extent, y and x) and ``resampled_from`` (the original shape, or None).
    """
    tolerance = validate.scalar(tolerance, "tolerance", lo=0.0, hi=0.2)
    if not (hasattr(model, "grid") and hasattr(model, "gpts")):
        raise validate.InputTypeError(f"model must be a jaxem.hrtem.HRTEMModel, got {type(model).__name__}")
    if isinstance(image, Measurement):
        units = [a.units for a in image.axes[-2:]]
        if len(image.axes) != 2 or any(u != "Å" for u in units):
            raise validate.InputError(f"image must be a 2-D Measurement with (y, x) axes in Å, got axes "
                                      f"{[(a.name, a.units) for a in image.axes]}")
        s = tuple(float(a.sampling) for a in image.axes)
        if sampling is not None and not np.allclose(validate.pair(sampling, "sampling", "Å", positive=True), s,
                                                    rtol=1e-3):
            raise validate.InputError(f"sampling={sampling!r} Å contradicts the image's axes {s} Å; omit sampling")
        data, meta = np.asarray(image.array, np.float64), dict(image.metadata)
    else:
        if sampling is None:
            raise validate.InputError("sampling: give the pixel size [Å] of the image array (or pass a Measurement "
                                      "from read_image)")
        s = validate.pair(sampling, "sampling", "Å", positive=True)
        data, meta = image, {}
    validate.array(data, "image", ndim=2, kind="real")
    data = np.asarray(data, np.float64)
    fov = np.array(data.shape) * np.array(s)
    extent = np.array(model.grid.extent, float)
    scale = fov / extent
    if np.any(np.abs(scale - 1) > tolerance):
        raise validate.InputError(
            f"image field of view {fov[0]:.4g} × {fov[1]:.4g} Å ({data.shape[0]} × {data.shape[1]} px at "
            f"{s[0]:.4g} × {s[1]:.4g} Å) differs from the model supercell {extent[0]:.4g} × {extent[1]:.4g} Å by "
            f"{100 * np.max(np.abs(scale - 1)):.2g} %, more than tolerance={100 * tolerance:.2g} %; crop the image to "
            "the supercell (a whole number of unit cells) or change the model's cells")
    resampled = None
    if tuple(data.shape) != tuple(model.gpts):
        resampled = list(data.shape)
        data = resample_image(data, model.gpts)
    meta.update({"calibration_scale": scale.tolist(), "resampled_from": resampled, "image_sampling": list(s)})
    g = model.grid
    return Measurement(data, (Axis("y", g.sampling[0], "Å"), Axis("x", g.sampling[1], "Å")), meta)
