"""Composition profiles: 1D profiles in cylinder/box regions of interest and proxigrams.

**1D profiles.** Ions inside a cylinder (radius ρ) or box (half-widths) along an axis from an origin
are binned by their axial coordinate s [nm], either in fixed-width bins or in fixed-count bins (equal
ions per bin, hence equal binomial σ). Each bin reports counts per species, fractions and the
binomial σ = √(c(1 − c)/N).

**Proxigram** (Hellman et al., *Microsc. Microanal.* 6 (2000) 437), voxel version: ions are binned
on a cubic grid (voxel size v [nm]) and delocalised with a Gaussian (σ in voxels); the solute fraction
field c is thresholded at c_iso; the signed distance to the iso-surface (negative inside the
solute-rich side) of each ion is its distance to the nearest iso-surface vertex — the linear
crossings of c_iso on all grid edges, i.e. the vertices marching cubes would place — with the sign of
c(ion) − c_iso (trilinear). Limits (documented, tested): distances are to vertices, not facets, so
they are accurate to ≈ v/4 at distances ≳ v; the delocalisation moves a curved iso-surface by
≈ σ²/R_curv towards the centre of curvature (a known proxigram artefact); features thinner than 2v
are not resolved; voxels with fewer than ``min_count`` ions (outside the data) are treated as
matrix.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .. import validate


def positions(pos, name: str = "pos", min_count: int = 1) -> np.ndarray:
    """Ion positions (n, 3) [nm], finite (NaN/inf rejected with the count and first index), float64."""
    validate.array(pos, name, ndim=2, shape=(None, 3), kind="real", units="nm", min_size=0)
    p = np.asarray(pos, np.float64)
    if p.shape[0] < min_count:
        raise validate.InputError(f"{name} must hold at least {min_count} position(s), got {p.shape[0]}")
    return p


def labels(values, name: str, n: int, kind: str = "integer") -> np.ndarray:
    """A per-ion label array (n,) (integer species or boolean solute flags)."""
    validate.array(values, name, shape=(n,), kind=kind, min_size=0)
    return np.asarray(values)


def _frame(axis):
    validate.array(axis, "axis", shape=(3,), kind="real")
    a = np.asarray(axis, np.float64)
    n = np.linalg.norm(a)
    if a.shape != (3,) or not n > 0:
        raise validate.InputError(f"axis must be a non-zero 3-vector, got {axis}")
    a = a / n
    t = np.array([1.0, 0, 0]) if abs(a[0]) < 0.9 else np.array([0, 1.0, 0])
    u = np.cross(a, t)
    u /= np.linalg.norm(u)
    return a, u, np.cross(a, u)


def roi_coordinates(pos, origin, axis, length, radius=None, half_widths=None):
    """Axial coordinate and ROI membership of ions.

    Args:
        pos: (n, 3) positions [nm].
        origin: ROI start point [nm].
        axis: ROI direction.
        length: ROI length along the axis [nm] (> 0).
        radius: cylinder radius [nm], or
        half_widths: (w_u, w_v) box half-widths [nm] across the axis.

    Returns:
        (s [nm] axial coordinate of every ion, inside mask).
    """
    if (radius is None) == (half_widths is None):
        raise validate.InputError("give exactly one of radius (cylinder) or half_widths (box)")
    length = validate.scalar(length, "length", "nm", positive=True)
    a, u, v = _frame(axis)
    validate.array(origin, "origin", shape=(3,), kind="real", units="nm")
    d = positions(pos, min_count=0) - np.asarray(origin, np.float64)
    s, pu, pv = d @ a, d @ u, d @ v
    inside = (s >= 0) & (s < length)
    if radius is not None:
        radius = validate.scalar(radius, "radius", "nm", positive=True)
        inside &= pu**2 + pv**2 <= radius**2
    else:
        wu, wv = validate.pair(half_widths, "half_widths", "nm", positive=True)
        inside &= (np.abs(pu) <= wu) & (np.abs(pv) <= wv)
    return s, inside


def composition_profile(pos, species, origin, axis, length, radius=None, half_widths=None,
                        bin_width: float | None = None, bin_count: int | None = None,
                        n_species: int | None = None):
    """1D composition profile along a cylinder or box ROI.

    Args:
        pos: (n, 3) positions [nm]; species: (n,) integer labels (≥ 0; −1 = unranged, ignored).
        origin, axis, length, radius, half_widths: see :func:`roi_coordinates`.
        bin_width: fixed bin width [nm], or
        bin_count: fixed number of ions per bin.
        n_species: number of species (default max label + 1).

    Returns:
        dict with ``s`` (bin centres [nm]; mean position for fixed-count bins), ``edges`` [nm],
        ``counts`` (bins, species), ``total``, ``fraction`` and ``sigma`` (binomial).
    """
    if (bin_width is None) == (bin_count is None):
        raise validate.InputError("give exactly one of bin_width [nm] or bin_count [ions]")
    s, inside = roi_coordinates(pos, origin, axis, length, radius, half_widths)
    lab = labels(species, "species", s.size)
    if lab.size and lab.min() < -1:
        raise validate.InputError(f"species labels must be ≥ 0 (−1 = unranged), got a minimum of {lab.min()}")
    if n_species is not None:
        n_species = validate.integer(n_species, "n_species", lo=1)
        if lab.size and lab.max() >= n_species:
            raise validate.InputError(f"species label {lab.max()} ≥ n_species = {n_species}")
    keep = inside & (lab >= 0)
    s, lab = s[keep], lab[keep]
    ns = int(n_species if n_species is not None else (lab.max() + 1 if lab.size else 1))
    if bin_width is not None:
        bin_width = validate.scalar(bin_width, "bin_width", "nm", positive=True)
        edges = np.arange(0, length + bin_width, bin_width)
        b = np.clip(np.digitize(s, edges) - 1, 0, len(edges) - 2)
        nb = len(edges) - 1
        centres = 0.5 * (edges[1:] + edges[:-1])
    else:
        validate.integer(bin_count, "bin_count", lo=1)
        order = np.argsort(s, kind="stable")
        s, lab = s[order], lab[order]
        nb = max(s.size // int(bin_count), 1)
        b = np.minimum(np.arange(s.size) // int(bin_count), nb - 1)
        edges = np.concatenate([[0.0], [s[min((k + 1) * int(bin_count), s.size) - 1] for k in range(nb)]])
        centres = np.bincount(b, s, nb) / np.maximum(np.bincount(b, None, nb), 1)
    counts = np.zeros((nb, ns))
    np.add.at(counts, (b, lab), 1)
    total = counts.sum(1)
    frac = counts / np.maximum(total, 1)[:, None]
    sigma = np.sqrt(frac * (1 - frac) / np.maximum(total, 1)[:, None])
    return {"s": centres, "edges": edges, "counts": counts, "total": total, "fraction": frac, "sigma": sigma}


def concentration_grid(pos, is_solute, voxel: float = 1.0, sigma: float = 1.0, padding: int = 3):
    """Delocalised solute fraction on a voxel grid.

    Args:
        pos: (n, 3) positions [nm]; is_solute: (n,) bool.
        voxel: voxel edge [nm] (> 0).
        sigma: Gaussian delocalisation σ [voxels] (≥ 0).
        padding: empty voxels added around the data.

    Returns:
        (fraction grid, total-count grid (delocalised), grid origin [nm]).
    """
    voxel = validate.scalar(voxel, "voxel", "nm", positive=True)
    sigma = validate.scalar(sigma, "sigma", "voxels", nonnegative=True)
    padding = validate.integer(padding, "padding", lo=0)
    pos = positions(pos)
    is_solute = labels(is_solute, "is_solute", pos.shape[0], kind="numeric").astype(bool)
    extent = np.ceil((pos.max(0) - pos.min(0)) / voxel + 2 * padding + 1)
    if np.prod(extent) > 2e8:
        raise validate.InputError(f"voxel = {voxel:g} nm gives a grid of {tuple(int(e) for e in extent)} voxels "
                                  f"(> 2·10⁸); raise voxel")
    lo = pos.min(0) - padding * voxel
    shape = np.ceil((pos.max(0) + padding * voxel - lo) / voxel).astype(int) + 1
    idx = ((pos - lo) / voxel).astype(int)
    tot = np.zeros(shape)
    sol = np.zeros(shape)
    np.add.at(tot, tuple(idx.T), 1.0)
    np.add.at(sol, tuple(idx[np.asarray(is_solute, bool)].T), 1.0)
    if sigma > 0:
        tot, sol = ndimage.gaussian_filter(tot, sigma), ndimage.gaussian_filter(sol, sigma)
    return sol / np.maximum(tot, 1e-12), tot, lo + 0.5 * voxel


def iso_points(field, level: float) -> np.ndarray:
    """Sub-voxel points of the iso-surface: linear crossings on every grid edge that straddles it.

    Args:
        field: 3-D array.
        level: iso value.

    Returns:
        (m, 3) points in voxel-index coordinates (the vertices marching cubes would place).
    """
    out = []
    for ax in range(3):
        a = np.moveaxis(field, ax, 0)
        lo, hi = a[:-1], a[1:]
        cross = (lo - level) * (hi - level) < 0
        idx = np.argwhere(cross)
        f = (level - lo[cross]) / (hi[cross] - lo[cross])
        p = idx.astype(np.float64)
        p[:, 0] += f
        order = [ax] + [k for k in range(3) if k != ax]  # axes of the moved array
        out.append(p[:, np.argsort(order)])
    return np.concatenate(out) if out else np.zeros((0, 3))


def proxigram(pos, is_solute, c_iso: float, voxel: float = 1.0, sigma: float = 1.0,
              bin_width: float = 0.25, d_range=(-5.0, 5.0), min_count: float = 0.5):
    """Composition against signed distance to the iso-concentration surface.

    Args:
        pos: (n, 3) positions [nm]; is_solute: (n,) bool.
        c_iso: iso-concentration (solute fraction, 0–1).
        voxel, sigma: grid parameters (see :func:`concentration_grid`).
        bin_width: distance bin [nm].
        d_range: (min, max) distances [nm]; negative = inside the solute-rich region.
        min_count: voxels with fewer (delocalised) ions are treated as outside the data (matrix).

    Returns:
        dict with ``d`` (bin centres [nm]), ``fraction``, ``sigma`` (binomial), ``total`` and
        ``distance`` (per-ion signed distance [nm]).
    """
    c_iso = validate.scalar(c_iso, "c_iso", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    bin_width = validate.scalar(bin_width, "bin_width", "nm", positive=True)
    dlo, dhi = validate.pair(d_range, "d_range", "nm")
    if not dhi > dlo:
        raise validate.InputError(f"d_range must be (min, max) [nm] with min < max, got {d_range}")
    min_count = validate.scalar(min_count, "min_count", "ions", nonnegative=True)
    pos = positions(pos)
    sol = labels(is_solute, "is_solute", pos.shape[0], kind="numeric").astype(bool)
    c, tot, origin = concentration_grid(pos, sol, voxel, sigma)
    c = np.where(tot >= min_count, c, 0.0)
    pts = iso_points(c, c_iso) * voxel + origin
    if pts.shape[0] == 0:
        raise validate.InputError(f"no iso-surface at c_iso={c_iso}: the field spans {c.min():.3g}..{c.max():.3g}")
    coords = ((np.asarray(pos, np.float64) - origin) / voxel).T
    c_ion = ndimage.map_coordinates(c, coords, order=1, mode="nearest")
    dist, _ = cKDTree(pts).query(np.asarray(pos, np.float64))
    d_ion = np.where(c_ion >= c_iso, -dist, dist)
    edges = np.arange(dlo, dhi + bin_width, bin_width)
    n_all, _ = np.histogram(d_ion, edges)
    n_sol, _ = np.histogram(d_ion[sol], edges)
    f = n_sol / np.maximum(n_all, 1)
    return {"d": 0.5 * (edges[1:] + edges[:-1]), "fraction": f,
            "sigma": np.sqrt(f * (1 - f) / np.maximum(n_all, 1)), "total": n_all, "distance": d_ion}
