"""Calibration of 4D-STEM data: bright-field disk, centre of mass, descan and detector rotation.

* :func:`calibrate_bright_field` — the bright-field (BF) disk of the mean pattern: centre [px],
  radius [px], and from a known semi-angle the detector sampling (or the reverse).
* :func:`center_of_mass` — per-pattern centre of mass [px] relative to a centre, from the frame
  moments of :mod:`jaxem.phase.com_moments` (one compiled pass over the cube, read in place without a
  copy; Dask arrays are reduced chunk by chunk).
* :func:`fit_descan` — the descan (a plane fitted to the CoM field over the scan) and its removal.
* :func:`rotation_from_com` — scan–detector rotation θ [rad] and transpose by the curl criterion: a
  CoM field is a gradient (∝ ∇φ) in the scan frame, so its curl vanishes only for the right
  rotation (quantem/py4DSTEM/LiberTEM use the same criterion). The curl cannot tell θ from θ + π;
  the returned θ lies in (−π/2, π/2] and the ambiguity is stated in the docstring and result.

Non-finite values in the data are masked (:mod:`jaxem.phase.masking`): the mean pattern is the mean
of the finite values, and the centre of mass of a frame with a bad pixel uses the pixel's mean over
the scan there; frames without a bad value get exactly their own centre of mass.
"""
from __future__ import annotations

import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from . import geometry, masking
from .dataset import Dataset4D
from .com_moments import frame_moments


@validate.typed
def mean_pattern(ds: Dataset4D) -> np.ndarray:
    """Mean diffraction pattern (ky, kx) [counts] over the finite values (computed chunk by chunk
    for Dask data)."""
    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a Dataset4D, got {type(ds).__name__}")
    if ds.is_lazy:
        m = np.asarray(ds.array.mean(axis=(0, 1), dtype=np.float64).compute(), np.float64)
    else:
        m = np.asarray(np.mean(np.asarray(ds.array), axis=(0, 1), dtype=np.float64))
    if not np.all(np.isfinite(m)):
        m = masking.scan(ds.array)[0]
    return m


@pytree.dataclass
class BrightFieldDisk:
    """Bright-field disk of the mean pattern: ``center`` (cy, cx) [px], ``radius`` [px], ``contrast``
    (mean inside / mean outside)."""

    center: tuple = pytree.field(static=True, units="px")
    radius: float = pytree.field(static=True, units="px")
    contrast: float = pytree.field(static=True)


def find_bright_field(pattern, threshold: float = 0.5) -> BrightFieldDisk:
    """Locate the BF disk in ``pattern`` (ky, kx): pixels above ``threshold``·max.

    Centre = intensity-weighted centroid of the disk pixels [px]; radius = sqrt(A/π) [px] with A the
    integrated intensity above background divided by the median disk intensity (robust to the edge
    profile). Raises ``ValueError`` when no disk is found (flat or empty
    pattern, disk touching more than half the detector, contrast < 2).
    """
    validate.array(pattern, "pattern", ndim=2, kind="real")
    threshold = validate.scalar(threshold, "threshold", lo=0, hi=1, lo_open=True, hi_open=True, allow_traced=False)
    p = np.asarray(pattern, np.float64)
    pmax = p.max()
    if pmax <= 0:
        raise validate.InputError("pattern: bright-field disk not found: the mean pattern is empty (max ≤ 0)")
    mask = p > threshold * pmax
    area = mask.sum()
    inside = p[mask].mean()
    outside = p[~mask].mean() if (~mask).any() else inside
    contrast = inside / max(outside, 1e-300)
    if area < 3 or area > 0.5 * p.size or contrast < 2.0:
        raise validate.InputError(f"pattern: bright-field disk not found: {area} px above {threshold}·max of a {p.shape} "
                         f"pattern, contrast inside/outside {contrast:.3g} (need 3 px ≤ area ≤ half the "
                         f"detector and contrast ≥ 2)")
    iy, ix = np.nonzero(mask)
    w = p[mask]
    cy, cx = float(np.sum(iy * w) / w.sum()), float(np.sum(ix * w) / w.sum())
    # refine the radius with the integrated intensity (insensitive to the edge profile): within
    # r0 + 2 px, area = Σ (p − background) / (plateau − background)
    r0 = np.sqrt(area / np.pi)
    yy, xx = np.indices(p.shape)
    region = np.hypot(yy - cy, xx - cx) <= r0 + 2
    level = np.median(p[mask])
    bg = np.median(p[~region]) if (~region).any() else 0.0
    area_eff = np.sum(p[region] - bg) / max(level - bg, 1e-300)
    return BrightFieldDisk((cy, cx), float(np.sqrt(max(area_eff, 0) / np.pi)), float(contrast))


@validate.typed
def calibrate_bright_field(ds: Dataset4D, threshold: float = 0.5) -> Dataset4D:
    """Set ``center`` and complete ``semiangle`` [mrad] / ``detector_sampling`` [1/Å] from the BF disk.

    Needs ``energy`` and at least one of ``semiangle`` and ``detector_sampling``.
    """
    disk = find_bright_field(mean_pattern(ds), threshold)
    changes = {"center": disk.center, "metadata": {**ds.metadata, "bf_radius_px": disk.radius}}
    if ds.semiangle is None and ds.detector_sampling is None:
        raise validate.InputError("missing calibration: give semiangle [mrad] or detector_sampling [1/Å] "
                                  "(or angular_sampling [mrad]) to convert the BF disk radius "
                                  f"({disk.radius:.3g} px) to an angle")
    ds.require("beam")
    if ds.detector_sampling is None:
        k = float(ds.beam.mrad_to_frequency(ds.semiangle))
        changes["detector_sampling"] = (k / disk.radius, k / disk.radius)
    elif ds.semiangle is None:
        changes["semiangle"] = float(ds.beam.frequency_to_mrad(disk.radius * np.mean(ds.detector_sampling)))
    return ds.replace(**changes)


def _com(moments):
    """(cy, cx, total) [px, px, counts] from the frame moments (M₀, M_y, M_x) (float64); a frame with
    zero total gives (0, 0, 0)."""
    tot = moments[..., 0]
    safe = np.where(tot > 0, tot, 1.0)
    return np.concatenate([moments[..., 1:] / safe[..., None], tot[..., None]], -1)


@validate.typed
def center_of_mass(ds: Dataset4D, center=None, memory_budget=None) -> np.ndarray:
    """Centre of mass of every pattern (Sy, Sx, 2) ordered (y, x) [px], relative to ``center`` [px]
    (default ``ds.center``, else the detector middle). Patterns with zero total give 0; non-finite
    values are masked (module docstring). ``memory_budget``: bytes (or '2G') for the frame batches."""
    return center_of_mass_with_report(ds, center, memory_budget)[0]


def center_of_mass_with_report(ds: Dataset4D, center=None, memory_budget=None):
    """:func:`center_of_mass` and the :class:`~jaxem.phase.masking.BadData` that was masked."""
    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a Dataset4D, got {type(ds).__name__}")
    ny, nx = ds.detector_shape
    if center is None:
        center = ds.center if ds.center is not None else ((ny - 1) / 2, (nx - 1) / 2)
    c = validate.pair(center, "center", "px", allow_traced=False)
    sy, sx = ds.scan_shape
    if ds.is_lazy:
        import dask.array as da

        arr = ds.array.rechunk({2: -1, 3: -1})
        out = da.map_blocks(lambda b: frame_moments(b, c, memory_budget), arr,
                            drop_axis=3, chunks=arr.chunks[:2] + ((3,),), dtype=np.float64)
        com = _com(np.asarray(out.compute(), np.float64))
    else:
        com = _com(frame_moments(ds.array, c, memory_budget))
    com, totals = com[..., :2], com[..., 2]
    # missing (empty) frames have no centre of mass: the mean of the others, reported
    gone = masking.missing_frames(np.where(np.isfinite(totals), totals, np.nan))
    gone &= np.isfinite(totals)  # non-finite frames are masked below
    missing = masking.BadData().with_missing(np.argwhere(gone)) if gone.any() else masking.BadData()
    if gone.any():
        com[gone] = np.mean(com[~gone & np.all(np.isfinite(com), -1)], 0)
    bad_frames = np.argwhere(~np.all(np.isfinite(com), -1))
    if not masking.can_hold_bad(ds.array) or not bad_frames.size:
        return com, missing
    # a NaN/inf makes the frame's moments non-finite: mask those frames with the pixel means
    means, _, bad = masking.scan(ds.array)
    iy, ix = bad_frames[:, 0], bad_frames[:, 1]
    frames = ds.array.vindex[iy, ix].compute() if ds.is_lazy else np.asarray(ds.array)[iy, ix]
    com[iy, ix] = _com(frame_moments(masking.fill(np.asarray(frames), means), c))[:, :2]
    return com, bad.with_missing(missing.missing_frames)


def fit_descan(com, order: int = 1):
    """Fit the descan (a polynomial of ``order`` 0 or 1 in the scan indices) to a CoM field.

    Args:
        com: (Sy, Sx, 2) CoM [any units].
    Returns:
        (corrected CoM = com − fit, fit) — both (Sy, Sx, 2).
    """
    validate.array(com, "com", ndim=3, shape=(None, None, 2), kind="real")
    validate.choice(order, "order", (0, 1))
    com = np.asarray(com, np.float64)
    sy, sx = com.shape[:2]
    yy, xx = np.meshgrid(np.arange(sy), np.arange(sx), indexing="ij")
    cols = [np.ones(sy * sx)] + ([yy.ravel(), xx.ravel()] if order == 1 else [])
    A = np.stack(cols, -1)
    coef, *_ = np.linalg.lstsq(A, com.reshape(-1, 2), rcond=None)
    fit = (A @ coef).reshape(com.shape)
    return com - fit, fit


@partial(jax.jit, static_argnames=("transpose",))
def _rms_curl(com_k, thetas, transpose):
    def one(t):
        ky, kx = geometry.rotate_frequencies(com_k[..., 0], com_k[..., 1], t, transpose)
        # periodic central differences along the scan axes
        dkx_dy = (jnp.roll(kx, -1, 0) - jnp.roll(kx, 1, 0)) / 2
        dky_dx = (jnp.roll(ky, -1, 1) - jnp.roll(ky, 1, 1)) / 2
        return jnp.sqrt(jnp.mean((dkx_dy - dky_dx)[1:-1, 1:-1] ** 2))

    return jax.vmap(one)(thetas)


@pytree.dataclass
class RotationResult:
    """``rotation`` θ [rad] in (−π/2, π/2], ``transpose``, ``curl`` (RMS curl at θ), ``curl_ratio``
    (best curl / median curl over all angles; ≥ 0.5 means the criterion is weak), ``other_transpose_curl``."""

    rotation: float = pytree.field(static=True, units="rad")
    transpose: bool = pytree.field(static=True)
    curl: float = pytree.field(static=True)
    curl_ratio: float = pytree.field(static=True)
    other_transpose_curl: float = pytree.field(static=True)


def rotation_from_com(com, sampling=(1.0, 1.0), allow_transpose: bool = True, n_angles: int = 180) -> RotationResult:
    """Detector rotation θ [rad] (and transpose) that makes the CoM field curl-free in the scan frame.

    Args:
        com: (Sy, Sx, 2) CoM in the detector frame, (y, x) [px] (descan removed, see :func:`fit_descan`).
        sampling: detector pixel size (dky, dkx) [1/Å] (matters only if anisotropic).
        allow_transpose: also test the transposed detector.
        n_angles: grid of the coarse search over (−π/2, π/2] before a parabolic refinement.
    Warns:
        UserWarning when the rotation is ambiguous (weak curl minimum, or both transposes equally good).
    Note:
        θ and θ + π give the same curl; θ + π flips the sign of the CoM and hence of iCoM/DPC images.
    """
    validate.array(com, "com", ndim=3, shape=(None, None, 2), kind="real")
    if min(np.shape(com)[:2]) < 4:
        raise validate.InputError(f"com must have shape (Sy ≥ 4, Sx ≥ 4, 2), got {np.shape(com)}")
    sampling = validate.pair(sampling, "sampling", "1/Å", positive=True, allow_traced=False)
    n_angles = validate.integer(n_angles, "n_angles", lo=8)
    com = np.asarray(com, np.float64)
    ck = jnp.asarray(com * np.asarray(sampling)[None, None, :])
    thetas = np.linspace(-np.pi / 2, np.pi / 2, n_angles, endpoint=False) + np.pi / n_angles
    best = []
    for tr in ((False, True) if allow_transpose else (False,)):
        c = np.asarray(_rms_curl(ck, jnp.asarray(thetas), tr))
        i = int(np.argmin(c))
        # parabolic refinement on a fine local grid
        fine = thetas[i] + np.linspace(-1, 1, 41) * (np.pi / n_angles)
        cf = np.asarray(_rms_curl(ck, jnp.asarray(fine), tr))
        j = int(np.clip(np.argmin(cf), 1, len(fine) - 2))
        y0, y1, y2 = cf[j - 1:j + 2]
        den = y0 - 2 * y1 + y2
        off = 0.5 * (y0 - y2) / den if den > 0 else 0.0
        t = fine[j] + off * (fine[1] - fine[0])
        t = (t + np.pi / 2) % np.pi - np.pi / 2
        best.append((float(cf[j]), float(t), tr, float(np.median(c))))
    best.sort()
    curl, theta, tr, med = best[0]
    other = best[1][0] if len(best) > 1 else float("nan")
    ratio = curl / med if med > 0 else 1.0
    if ratio > 0.5:
        warnings.warn(f"rotation from the CoM curl is ambiguous: best RMS curl {curl:.3g} is {ratio:.2f} of the "
                      f"median over angles (need < 0.5); give rotation explicitly", UserWarning, stacklevel=2)
    elif len(best) > 1 and other < 1.5 * curl:
        warnings.warn(f"transpose is ambiguous: curl {curl:.3g} vs {other:.3g} for the other transpose",
                      UserWarning, stacklevel=2)
    return RotationResult(theta, tr, curl, ratio, other)
