"""Bad pixels of maps: the house plan's exception to the NaN policy, written once.

Inputs with NaN/inf are rejected naming the count and the first index (:func:`jaxem.validate.array`),
except maps that can be partly bad — EDS intensity maps and spectrum images, 4D-STEM data — where a
bad pixel is masked, excluded from the computation (every other pixel is computed exactly as
without it) and listed in the result. This module is the vocabulary both analysis packages use:

* :func:`bad_mask` — which pixels are bad: a pixel (one position of the leading axes) is bad when
  any of its values along ``axis`` is NaN or ±inf (with ``nonnegative=True`` also when one is
  negative: counts). Integer arrays cannot hold NaN/inf.
* :func:`indices` — the listing stored in results: (n_bad, ndim) int64 indices of the ``True``
  positions of a mask in C order (``jaxem.eds`` results' ``bad_pixels``).
* :func:`index_tuples` — the same listing as tuples of ints, hashable, for static pytree fields
  (``jaxem.phase.masking.BadData``).

How a bad pixel is replaced is each method's business (EDS: zeros and the ``BAD_INPUT`` status;
4D-STEM: the detector pixel's mean over the scan), and is stated in its module.
"""
from __future__ import annotations

import numpy as np

__all__ = ["bad_mask", "indices", "index_tuples"]


def bad_mask(values, axis=-1, *, nonnegative: bool = False) -> np.ndarray:
    """Boolean mask of the bad pixels of ``values``: True where any value along ``axis`` (an int
    or a tuple of ints; the pixel's own values, e.g. its spectrum or its lines) is not finite (or,
    with ``nonnegative``, is negative). The mask has the shape of ``values`` without ``axis``."""
    v = np.asarray(values)
    if v.dtype.kind in "iub":
        good = (v >= 0) if nonnegative else np.ones(v.shape, bool)
    else:
        with np.errstate(invalid="ignore"):
            good = np.isfinite(v) & (v >= 0) if nonnegative else np.isfinite(v)
    return ~np.all(good, axis=axis)


def indices(mask) -> np.ndarray:
    """(n_bad, ndim) int64 indices of the True positions of ``mask``, in C order."""
    mask = np.asarray(mask, bool)
    return np.argwhere(mask).astype(np.int64).reshape(-1, mask.ndim)


def index_tuples(mask) -> tuple:
    """The :func:`indices` of ``mask`` as a tuple of tuples of Python ints (hashable)."""
    return tuple(tuple(int(i) for i in p) for p in indices(mask))
