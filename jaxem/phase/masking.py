"""Bad (non-finite) values in 4D-STEM data: detection, the masking rule and the report.

4D-STEM frames can be partly bad (a dead or hot detector pixel read as NaN or inf, a dropped
frame). The direct methods (CoM/iCoM, SSB, OBF, parallax, WDD) mask such values instead of failing
or letting one NaN spread over the whole image:

* a non-finite value I(r, k) is replaced by m_k, the mean of the finite values of detector pixel k
  over the scan. Every method works on the data with the mean over the scan removed (the scan
  frequencies q ≠ 0 of G(q, k)), where a value equal to m_k contributes nothing: the bad value is
  excluded from the computation. (For the centre of mass of that one frame it is imputed by the
  mean pattern.)
* a detector pixel that is bad in every frame has no mean: it is replaced by 0 and dropped from the
  bright-field stack.
* the result lists what was masked: :class:`BadData` (the number of bad values, the scan positions
  whose frame holds one and the detector pixels that are bad in some frame).

Good values are used unchanged, so the result equals the clean computation on the same good data
(the data with its bad values replaced by m_k), and frames without a bad value have exactly the
clean centre of mass. Integer data cannot hold NaN/inf and are never scanned.

Detection costs nothing for clean data: every method already reduces the data once (pattern sums,
spectra), and a NaN or inf anywhere makes that reduction non-finite; only then is the data scanned
for the bad values (:func:`scan`).
"""
from __future__ import annotations

import numpy as np

from .. import pytree
from ..badpixels import index_tuples


@pytree.dataclass
class BadData:
    """What was masked in a 4D-STEM data set (see the module docstring).

    Attributes:
        n_values: number of non-finite values.
        scan_positions: ((iy, ix), …) scan positions [px] whose frame holds at least one.
        detector_pixels: ((iky, ikx), …) detector pixels [px] that are non-finite in some frame.
        dead_pixels: ((iky, ikx), …) detector pixels that are non-finite in every frame (set to 0).
    """

    n_values: int = pytree.field(static=True, default=0)
    scan_positions: tuple = pytree.field(static=True, default=())
    detector_pixels: tuple = pytree.field(static=True, default=())
    dead_pixels: tuple = pytree.field(static=True, default=())
    missing_frames: tuple = pytree.field(static=True, default=())

    def __bool__(self) -> bool:
        return self.n_values > 0 or bool(self.missing_frames)

    def with_missing(self, frames) -> "BadData":
        """A copy that also lists ``frames`` ((iy, ix), …) as missing (see :func:`missing_frames`)."""
        import dataclasses

        frames = tuple(tuple(int(i) for i in f) for f in frames)
        return dataclasses.replace(self, missing_frames=tuple(sorted(set(self.missing_frames) | set(frames))))

    def to_dict(self) -> dict:
        """JSON-ready report (written into a result's metadata)."""
        return {"n_values": self.n_values,
                "n_scan_positions": len(self.scan_positions),
                "scan_positions": [list(p) for p in self.scan_positions],
                "n_detector_pixels": len(self.detector_pixels),
                "detector_pixels": [list(p) for p in self.detector_pixels],
                "dead_pixels": [list(p) for p in self.dead_pixels],
                "n_missing_frames": len(self.missing_frames),
                "missing_frames": [list(p) for p in self.missing_frames],
                "rule": "non-finite values replaced by the detector pixel's mean over the scan "
                        "(excluded from every q ≠ 0 term); pixels bad in every frame set to 0; missing (empty) frames "
                        "replaced by the mean pattern"}

    def __str__(self) -> str:
        if not self:
            return "no bad values"
        return (f"{self.n_values} non-finite value(s) masked in {len(self.scan_positions)} frame(s) "
                f"(first at scan position {self.scan_positions[0]}) over {len(self.detector_pixels)} "
                f"detector pixel(s) (first {self.detector_pixels[0]}); {len(self.dead_pixels)} dead pixel(s)")

    @classmethod
    def from_counts(cls, frame_bad, pixel_bad, pixel_good) -> "BadData":
        """Report from the number of bad values per frame (Sy, Sx), bad values per detector pixel
        (ny, nx) and good values per detector pixel (ny, nx)."""
        frame_bad, pixel_bad, pixel_good = (np.asarray(a) for a in (frame_bad, pixel_bad, pixel_good))
        return cls(int(pixel_bad.sum()), index_tuples(frame_bad > 0), index_tuples(pixel_bad > 0),
                   index_tuples((pixel_bad > 0) & (pixel_good == 0)))


def can_hold_bad(array) -> bool:
    """True for floating/complex data (integer counts cannot be NaN/inf)."""
    return np.dtype(array.dtype).kind in "fc"


def scan(array):
    """Per-pixel means over the finite values and the report of a 4D array (Sy, Sx, ny, nx).

    Returns (m (ny, nx) float64 — the mean of the finite values of each detector pixel over the
    scan, 0 where none is finite —, counts of good values (ny, nx), :class:`BadData`). A Dask array
    is reduced chunk by chunk in one pass.
    """
    sums, good, frame_bad = counts(array)
    n_scan = array.shape[0] * array.shape[1]
    means = np.where(good > 0, sums / np.maximum(good, 1), 0.0)
    return means, good, BadData.from_counts(frame_bad, n_scan - good, good)


def counts(array):
    """(Σ of the finite values per detector pixel (ny, nx) [float64], number of finite values per
    detector pixel (ny, nx), number of non-finite values per frame (Sy, Sx)) of a 4D array."""
    if type(array).__module__.startswith("dask"):
        import dask
        import dask.array as da

        finite = da.isfinite(array)
        sums = da.where(finite, array, 0).sum(axis=(0, 1), dtype=np.float64)
        good = finite.sum(axis=(0, 1))
        frame_bad = (~finite).sum(axis=(2, 3))
        sums, good, frame_bad = dask.compute(sums, good, frame_bad)
    else:
        a = np.asarray(array)
        finite = np.isfinite(a)
        sums = np.where(finite, a, 0).sum(axis=(0, 1), dtype=np.float64)
        good = finite.sum(axis=(0, 1))
        frame_bad = a.shape[2] * a.shape[3] - finite.sum(axis=(2, 3))
    return np.asarray(sums), np.asarray(good), np.asarray(frame_bad)


def fill(frames, means):
    """``frames`` (…, ny, nx) with every non-finite value replaced by ``means`` (ny, nx) (NumPy or JAX)."""
    if isinstance(frames, np.ndarray):
        return np.where(np.isfinite(frames), frames, means.astype(frames.dtype))
    import jax.numpy as jnp

    return jnp.where(jnp.isfinite(frames), frames, jnp.asarray(means, frames.dtype))


#: a frame whose bright-field (or total) intensity is below this fraction of the median frame is
#: missing (a dropped or blank frame, e.g. a detector read-out gap)
MISSING_FRACTION = 0.05


def missing_frames(totals, fraction: float = MISSING_FRACTION, what: str = "ds.array"):
    """Boolean mask (Sy, Sx) of frames whose total ``totals`` (Sy, Sx) is below ``fraction`` × the
    median frame total; raises when more than half of the frames are missing."""
    from .. import validate

    t = np.asarray(totals, np.float64)
    med = float(np.median(t[np.isfinite(t)])) if np.isfinite(t).any() else 0.0
    missing = ~(t >= fraction * med) if med > 0 else np.ones(t.shape, bool)
    if missing.mean() > 0.5:
        raise validate.InputError(f"{what}: {int(missing.sum())} of {t.size} frames are empty or missing (total "
                                  f"intensity < {fraction} × the median frame); is the scan shape right?")
    return missing
