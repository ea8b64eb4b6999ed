"""Spatial distribution maps, lattice-plane spacing, density maps and interface location.

* **z-SDM** (Geiser et al., *Microsc. Microanal.* 13 (2007) 437): histogram of Δz between ion pairs
  closer than ``r_lateral`` [nm] laterally; atomic planes normal to z give peaks at multiples of d.
  :func:`plane_spacing` takes d as the period maximising the Fourier amplitude
  |Σ h(Δz) exp(2πiΔz/d)| of that histogram (searched on a fine grid in ``d_range``).
* :func:`spacing_along_z` does this in consecutive windows of ions (evaporation order), i.e. as a
  function of depth.
* :func:`density_map`: atoms per nm³ in 2D bins of a slab, :func:`density_profile` along z.
* :func:`interface_position`: the solute-fraction peak along z in a central cylinder, located by a
  Gaussian-plus-constant least-squares fit.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit
from scipy.spatial import cKDTree

from .. import validate
from .profiles import labels, positions


def sdm_z(pos, r_lateral: float = 0.3, z_max: float = 1.2, bin_width: float = 0.005,
          max_pairs: int = 5_000_000):
    """z-spatial distribution map.

    Args:
        pos: (n, 3) positions [nm].
        r_lateral: maximum lateral pair distance [nm].
        z_max: maximum |Δz| [nm].
        bin_width: histogram bin [nm].
        max_pairs: guard against memory blow-up.

    Returns:
        (bin centres [nm] of |Δz|, counts).
    """
    p = positions(pos, min_count=2)
    r_lateral = validate.scalar(r_lateral, "r_lateral", "nm", positive=True)
    z_max = validate.scalar(z_max, "z_max", "nm", positive=True)
    bin_width = validate.scalar(bin_width, "bin_width", "nm", positive=True, hi=z_max)
    max_pairs = validate.integer(max_pairs, "max_pairs", lo=1)
    validate.allocation(z_max / bin_width + 2, "bin_width", bin_width, "nm", "raise bin_width")
    radius = float(np.hypot(r_lateral, z_max))
    tree = cKDTree(p)
    # count first (the dual-tree count never lists the pairs), so a huge z_max or r_lateral cannot
    # materialise O(N²) pairs: beyond max_pairs a random subset of ions is used (pair count ∝ m²)
    n_pairs = (int(tree.count_neighbors(tree, radius)) - len(p)) // 2
    if n_pairs > max_pairs:
        m = max(2, int(len(p) * np.sqrt(max_pairs / n_pairs)))
        p = p[np.random.default_rng(0).choice(len(p), m, replace=False)]
        tree = cKDTree(p)
    pairs = tree.query_pairs(radius, output_type="ndarray")
    if len(pairs) > max_pairs:
        pairs = pairs[np.random.default_rng(0).choice(len(pairs), max_pairs, replace=False)]
    dv = p[pairs[:, 1]] - p[pairs[:, 0]]
    ok = (np.hypot(dv[:, 0], dv[:, 1]) < r_lateral) & (np.abs(dv[:, 2]) < z_max)
    edges = np.arange(0, z_max + bin_width, bin_width)
    h, _ = np.histogram(np.abs(dv[ok, 2]), edges)
    return 0.5 * (edges[1:] + edges[:-1]), h


def plane_spacing(pos, d_range=(0.1, 0.5), r_lateral: float = 0.3, z_max: float = 1.2,
                  bin_width: float = 0.005, n_grid: int = 4000):
    """Interplanar spacing of planes normal to z from the z-SDM.

    Args:
        pos: (n, 3) positions [nm].
        d_range: (min, max) search range of d [nm].
        r_lateral, z_max, bin_width: see :func:`sdm_z`.
        n_grid: frequency grid size.

    Returns:
        (d [nm], contrast: peak amplitude / mean amplitude over the range).
    """
    lo, hi = validate.pair(d_range, "d_range", "nm", positive=True)
    if not hi > lo:
        raise validate.InputError(f"d_range must be (min, max) [nm] with 0 < min < max, got {d_range}")
    n_grid = validate.integer(n_grid, "n_grid", lo=3, hi=10**7)
    c, h = sdm_z(pos, r_lateral, z_max, bin_width)
    if not h.any():
        raise validate.InputError(f"pos: no ion pairs closer than r_lateral = {r_lateral} nm laterally and "
                                  f"z_max = {z_max} nm along z; the z-SDM is empty")
    f = np.linspace(1 / d_range[1], 1 / d_range[0], n_grid)
    A = np.abs(np.exp(2j * np.pi * f[:, None] * c[None, :]) @ (h - h.mean()))
    k = int(np.argmax(A))
    if 0 < k < n_grid - 1:  # parabolic refinement
        den = A[k - 1] - 2 * A[k] + A[k + 1]
        fk = f[k] + 0.5 * (A[k - 1] - A[k + 1]) / den * (f[1] - f[0]) if den != 0 else f[k]
    else:
        fk = f[k]
    return 1 / fk, float(A[k] / max(A.mean(), 1e-300))


def spacing_along_z(pos, n_windows: int = 6, radius: float | None = 2.5, **kw):
    """Plane spacing in consecutive windows of ions (evaporation order).

    Args:
        pos: (n, 3) positions [nm] in evaporation order.
        n_windows: number of windows.
        radius: keep ions within this lateral radius [nm] of the axis (None: all).
        **kw: passed to :func:`plane_spacing`.

    Returns:
        (window mean z [nm], d [nm]) arrays.
    """
    p = positions(pos)
    n_windows = validate.integer(n_windows, "n_windows", lo=1, hi=max(1, p.shape[0] // 2))
    if radius is not None:
        radius = validate.scalar(radius, "radius", "nm", positive=True)
    z, d = [], []
    for w in np.array_split(np.arange(p.shape[0]), n_windows):  # a few windows, each one vectorised z-SDM
        q = p[w]
        if radius is not None:
            q = q[np.hypot(q[:, 0], q[:, 1]) < radius]
        if q.shape[0] < 2:
            raise validate.InputError(f"radius = {radius} nm leaves {q.shape[0]} ion(s) in a window of "
                                      f"{w.size}; raise radius or lower n_windows")
        z.append(q[:, 2].mean())
        d.append(plane_spacing(q, **kw)[0])
    return np.array(z), np.array(d)


def density_map(pos, axes=(0, 1), bin_width: float = 0.5, slab=None):
    """Atomic density [ions/nm³] in 2D bins of a slab.

    Args:
        pos: (n, 3) positions [nm].
        axes: the two in-plane axes (0 = x, 1 = y, 2 = z).
        bin_width: bin edge [nm].
        slab: (lo, hi) [nm] along the third axis (default: full extent).

    Returns:
        (density (n_a, n_b), edges_a, edges_b).
    """
    p = positions(pos)
    axes = validate.pair(axes, "axes", kind=int, lo=0, hi=2)
    if axes[0] == axes[1]:
        raise validate.InputError(f"axes must be two different axes out of 0 (x), 1 (y), 2 (z), got {axes}")
    bin_width = validate.scalar(bin_width, "bin_width", "nm", positive=True)
    third = ({0, 1, 2} - set(axes)).pop()
    if slab is not None:
        lo, hi = validate.pair(slab, "slab", "nm")
        if not hi > lo:
            raise validate.InputError(f"slab must be (lo, hi) [nm] with lo < hi, got {slab}")
    else:
        lo, hi = p[:, third].min(), p[:, third].max()
    m = (p[:, third] >= lo) & (p[:, third] < hi)
    if not m.any():
        raise validate.InputError(f"slab {lo:g}–{hi:g} nm holds no ions")
    spans = [float(np.ptp(p[m, a])) if m.any() else 0.0 for a in axes]
    validate.allocation([s / bin_width + 2 for s in spans], "bin_width", bin_width, "nm", "raise bin_width")
    ea = np.arange(p[m, axes[0]].min(), p[m, axes[0]].max() + bin_width, bin_width)
    eb = np.arange(p[m, axes[1]].min(), p[m, axes[1]].max() + bin_width, bin_width)
    h, ea, eb = np.histogram2d(p[m, axes[0]], p[m, axes[1]], [ea, eb])
    return h / (bin_width**2 * max(hi - lo, 1e-12)), ea, eb


def density_profile(pos, radius: float, bin_width: float = 0.5):
    """Atomic density [ions/nm³] along z in a central cylinder of radius [nm] (> 0), bins [nm] (> 0)."""
    p = positions(pos)
    radius = validate.scalar(radius, "radius", "nm", positive=True)
    bin_width = validate.scalar(bin_width, "bin_width", "nm", positive=True)
    m = np.hypot(p[:, 0], p[:, 1]) < radius
    if not m.any():
        raise validate.InputError(f"radius = {radius:g} nm: the central cylinder holds no ions")
    validate.allocation((float(np.ptp(p[m, 2])) if m.any() else 0.0) / bin_width + 2, "bin_width", bin_width, "nm",
                        "raise bin_width")
    edges = np.arange(p[m, 2].min(), p[m, 2].max() + bin_width, bin_width)
    h, _ = np.histogram(p[m, 2], edges)
    return 0.5 * (edges[1:] + edges[:-1]), h / (np.pi * radius**2 * bin_width)


def interface_position(pos, is_solute, radius: float = 3.0, bin_width: float = 0.2):
    """z [nm] of a segregated layer normal to z (Gaussian fit to the solute-fraction profile).

    Args:
        pos: (n, 3) positions [nm]; is_solute: (n,) bool.
        radius: central cylinder radius [nm].
        bin_width: z bin [nm].

    Returns:
        (z_peak [nm], fitted width σ [nm], peak excess fraction). When the Gaussian fit does not
        converge, z_peak is the centre of the highest bin and σ is NaN (the documented failure flag).
    """
    p = positions(pos)
    sol = labels(is_solute, "is_solute", p.shape[0], kind="numeric").astype(bool)
    radius = validate.scalar(radius, "radius", "nm", positive=True)
    bin_width = validate.scalar(bin_width, "bin_width", "nm", positive=True)
    m = np.hypot(p[:, 0], p[:, 1]) < radius
    if not m.any():
        raise validate.InputError(f"radius = {radius:g} nm: the central cylinder holds no ions")
    edges = np.arange(p[m, 2].min(), p[m, 2].max() + bin_width, bin_width)
    na, _ = np.histogram(p[m, 2], edges)
    ns, _ = np.histogram(p[m & sol, 2], edges)
    zc = 0.5 * (edges[1:] + edges[:-1])
    ok = na >= 10
    if ok.sum() < 4:
        raise validate.InputError(f"only {int(ok.sum())} z bins hold ≥ 10 ions in the cylinder of radius {radius:g} nm "
                                  f"(need ≥ 4); raise radius or bin_width")
    zc, c = zc[ok], ns[ok] / na[ok]
    k = int(np.argmax(c))

    def model(z, a, z0, s, b):
        return a * np.exp(-0.5 * ((z - z0) / s) ** 2) + b

    p0 = [c[k] - np.median(c), zc[k], 0.5, np.median(c)]
    try:
        popt, _ = curve_fit(model, zc, c, p0=p0, maxfev=5000)
    except RuntimeError:
        return float(zc[k]), float("nan"), float(c[k] - np.median(c))
    return float(popt[1]), float(abs(popt[2])), float(popt[0])
