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
    p = np.asarray(pos, np.float64)
    if p.shape[0] < 2:
        raise ValueError("sdm_z needs at least 2 positions")
    pairs = cKDTree(p).query_pairs(float(np.hypot(r_lateral, z_max)), output_type="ndarray")
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
    c, h = sdm_z(pos, r_lateral, z_max, bin_width)
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
    p = np.asarray(pos, np.float64)
    z, d = [], []
    for w in np.array_split(np.arange(p.shape[0]), n_windows):
        q = p[w]
        if radius is not None:
            q = q[np.hypot(q[:, 0], q[:, 1]) < radius]
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
    p = np.asarray(pos, np.float64)
    third = ({0, 1, 2} - set(axes)).pop()
    lo, hi = slab if slab is not None else (p[:, third].min(), p[:, third].max())
    m = (p[:, third] >= lo) & (p[:, third] < hi)
    ea = np.arange(p[m, axes[0]].min(), p[m, axes[0]].max() + bin_width, bin_width)
    eb = np.arange(p[m, axes[1]].min(), p[m, axes[1]].max() + bin_width, bin_width)
    h, ea, eb = np.histogram2d(p[m, axes[0]], p[m, axes[1]], [ea, eb])
    return h / (bin_width**2 * max(hi - lo, 1e-12)), ea, eb


def density_profile(pos, radius: float, bin_width: float = 0.5):
    """Atomic density [ions/nm³] along z in a central cylinder of radius [nm]."""
    p = np.asarray(pos, np.float64)
    m = np.hypot(p[:, 0], p[:, 1]) < radius
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
        (z_peak [nm], fitted width σ [nm], peak excess fraction).
    """
    p = np.asarray(pos, np.float64)
    sol = np.asarray(is_solute, bool)
    m = np.hypot(p[:, 0], p[:, 1]) < radius
    edges = np.arange(p[m, 2].min(), p[m, 2].max() + bin_width, bin_width)
    na, _ = np.histogram(p[m, 2], edges)
    ns, _ = np.histogram(p[m & sol, 2], edges)
    zc = 0.5 * (edges[1:] + edges[:-1])
    ok = na >= 10
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
