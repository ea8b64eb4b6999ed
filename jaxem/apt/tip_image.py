"""Tip-profile extraction from a TEM/STEM image of the needle.

The needle axis runs along the image rows (apex up, i.e. towards row 0); vacuum and specimen differ
in intensity (bright-field: specimen darker; HAADF: brighter — ``dark_specimen``). Steps:

1. **Edges**: the vacuum level is the median of the outer columns; in every row that darkens by more
   than ``min_contrast`` of the full contrast, the left and right flanks are the outermost sub-pixel
   (linear) crossings of vacuum − ``edge_level`` × (full contrast). A projected thickness rises as
   √(distance) from the edge, so a low level sits close to the true edge (a 50 % level, or the
   derivative extremum, lies ≈ 1 px inside); a fixed level also ignores the faint blur halo above
   the apex.
2. **Axis and apex seed**: the axis is the median of the row centres; the apex height is seeded by
   the first edge-level crossing down the axis column.
3. **Apex radius and position**: the half-width w and depth d = z_apex − z satisfy the conic relation
   w² = 2R·d − (1 + K)·d²; a nonlinear least-squares fit (z_apex, R, K) over flank rows (w > 2 px)
   with d ≤ ``apex_depth`` gives them (K fixed to 0 with ``conic=False``: a circle). The column
   derivative of step 2 only seeds z_apex: at the very apex the needle is thin and the contrast weak.
4. **Shank angle**: a line w(d) fitted to rows deeper than ``shank_start`` (in units of R) gives
   tan α = dw/dd.

The profile sag(r) (depth at half-width r) is returned for full-profile (non-spherical) use.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import least_squares

from .. import pytree, validate


@pytree.dataclass
class ExtractedProfile:
    """Result of :func:`extract_profile` (lengths [nm], angles [rad]).

    ``shank_angle`` is NaN when fewer than 3 rows lie deeper than ``shank_start`` apex radii (the
    image does not show the shank); everything else is finite.
    """

    apex_z: float = pytree.field(units="nm")
    radius: float = pytree.field(units="nm")
    conic: float = pytree.field(units="1")
    shank_angle: float = pytree.field(units="rad")
    axis_x: float = pytree.field(units="nm")
    z: np.ndarray = pytree.field(units="nm")
    half_width: np.ndarray = pytree.field(units="nm")

    def sag_on(self, r):
        """Sag [nm] at lateral radii r [nm] (monotone interpolation of the measured flanks)."""
        d = self.apex_z - self.z
        w = np.maximum.accumulate(self.half_width)
        o = np.argsort(w, kind="stable")
        return np.interp(r, np.concatenate([[0.0], w[o]]), np.concatenate([[0.0], d[o]]))


def extract_profile(image, pixel: float, z_top: float = 0.0, dark_specimen: bool = True,
                    smooth: float = 0.0, min_contrast: float = 0.05, edge_level: float = 0.1, apex_depth: float | None = None,
                    shank_start: float = 1.5, conic: bool = True) -> ExtractedProfile:
    """Apex position, apex radius, conic constant and shank angle from a needle image.

    Args:
        image: (rows, cols) intensities; the needle points up (towards row 0).
        pixel: pixel size [nm] (> 0).
        z_top: specimen-frame height [nm] of the top edge of row 0 (rows go down in z).
        dark_specimen: True for bright-field (specimen darker than vacuum).
        smooth: Gaussian smoothing along rows [px].
        min_contrast: rows whose darkest point is less than this fraction of the image's full
            contrast below vacuum are vacuum.
        edge_level: edges are where the intensity drops this fraction of the full contrast below
            vacuum (small: close to the true edge of a projected-thickness profile).
        apex_depth: depth range [nm] of the apex fit (default: 0.6 × a first circle estimate).
        shank_start: shank fit starts this many apex radii below the apex.
        conic: fit the conic constant K (else a circle, K = 0).

    Returns:
        :class:`ExtractedProfile`.

    Raises:
        ValueError: bad pixel size, non-2D image, or fewer than 4 rows with a needle.
    """
    validate.array(image, "image", ndim=2, kind="real")
    img = np.asarray(image, np.float64)
    if min(img.shape) < 5:
        raise validate.InputError(f"image must be at least 5 × 5 pixels, got shape {img.shape}")
    pixel = validate.scalar(pixel, "pixel", "nm", positive=True)
    z_top = validate.scalar(z_top, "z_top", "nm")
    smooth = validate.scalar(smooth, "smooth", "px", nonnegative=True)
    min_contrast = validate.scalar(min_contrast, "min_contrast", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    edge_level = validate.scalar(edge_level, "edge_level", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    if apex_depth is not None:
        apex_depth = validate.scalar(apex_depth, "apex_depth", "nm", positive=True)
    shank_start = validate.scalar(shank_start, "shank_start", positive=True)
    if not dark_specimen:
        img = -img
    sm = gaussian_filter1d(img, smooth, axis=1) if smooth > 0 else img
    vac = float(np.median(np.concatenate([sm[:, :2].ravel(), sm[:, -2:].ravel()])))
    depth_row = vac - sm.min(1)
    rows = np.flatnonzero(depth_row > min_contrast * depth_row.max())
    if rows.size < 4:
        raise validate.InputError(f"image: found only {rows.size} rows with needle edges (need ≥ 4); check the "
                                  f"contrast and dark_specimen")
    zs, left, right = [], [], []
    level = vac - edge_level * float(depth_row.max())
    for i in rows:
        below = np.flatnonzero(sm[i] < level)
        if below.size == 0:
            continue
        kl, kr = below[0], below[-1]
        if kl == 0 or kr == sm.shape[1] - 1:
            continue
        # linear sub-pixel crossings
        left.append(kl - 1 + (sm[i, kl - 1] - level) / (sm[i, kl - 1] - sm[i, kl]))
        right.append(kr + (sm[i, kr] - level) / (sm[i, kr] - sm[i, kr + 1]))
        zs.append(z_top - (i + 0.5) * pixel)
    zs, left, right = np.array(zs), np.array(left), np.array(right)
    if zs.size < 4:
        raise validate.InputError(f"image: only {zs.size} rows have both needle edges inside the image (need ≥ 4); "
                                  f"is the needle cut by the image border?")
    cols = img.shape[1]
    axis_px = float(np.median(0.5 * (left + right)))
    # seed of the apex height: first crossing of the edge level down the axis column
    c0 = int(np.clip(round(axis_px), 0, cols - 1))
    prof = img[:, c0]
    hit = np.flatnonzero(prof < level)
    if hit.size == 0:
        raise validate.InputError("image: no needle found along its axis column; check the contrast and dark_specimen")
    k = int(hit[0])
    apex_row = k - 1 + (prof[k - 1] - level) / (prof[k - 1] - prof[k]) if k > 0 else 0.0
    apex_z = z_top - (apex_row + 0.5) * pixel
    w = 0.5 * (right - left) * pixel
    # conic fit with the apex height free: w² = 2R(u − z) − (1 + K)(u − z)²
    flank = w > 3 * pixel

    def resid(q, m, with_k):
        u, R, K = q[0], q[1], (q[2] if with_k else 0.0)
        dd = u - zs[m]
        return np.sqrt(np.clip(2 * R * dd - (1 + K) * dd**2, 0, None)) - w[m]

    def fit(depth, with_k, u0, R0):
        m = flank & (apex_z - zs <= depth)
        if m.sum() < 4:
            m = flank & (apex_z - zs <= np.sort(apex_z - zs[flank])[min(4, flank.sum() - 1)])
        q0 = [u0, R0, 0.0] if with_k else [u0, R0]
        lo = [u0 - 20 * pixel, pixel] + ([-0.99] if with_k else [])
        hi = [u0 + 20 * pixel, 20 * float(w.max())] + ([5.0] if with_k else [])
        q0 = np.clip(q0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
        sol = least_squares(resid, q0, args=(m, with_k), bounds=(lo, hi), loss="soft_l1", f_scale=pixel,
                            x_scale=[pixel, R0] + ([0.1] if with_k else []))
        return sol.x[0], sol.x[1], (sol.x[2] if with_k else 0.0)

    d0 = apex_z - zs
    R_guess = float(np.median(w[flank & (d0 > 0)] ** 2 / (2 * d0[flank & (d0 > 0)])))
    u, R, _ = fit(apex_depth if apex_depth is not None else 8 * pixel + R_guess / 3, False, apex_z, R_guess)
    depth = apex_depth if apex_depth is not None else 0.6 * R
    u, R, K = fit(depth, conic, u, R)
    apex_z = u
    d = apex_z - zs
    ok = d > 0
    m = ok & (d >= shank_start * R)
    alpha = float(np.arctan(np.polyfit(d[m], w[m], 1)[0])) if m.sum() >= 3 else float("nan")
    axis_x = (axis_px - (cols - 1) / 2) * pixel
    return ExtractedProfile(float(apex_z), float(R), float(K), alpha, float(axis_x), zs, w)
