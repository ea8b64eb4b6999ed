"""Kinematic reflection lists and spot-pair tables of a crystal seen along a zone axis [uvw].

Physics. A reflection g = h a* + k b* + l c* [1/Å] lies in the zero-order Laue zone of [uvw] when
h u + k v + l w = 0. Its kinematic electron structure factor is

    F(g) = Σ_j occ_j · f_e,j(|g|) · exp(−2π² ⟨u²⟩_j |g|²) · exp(2πi g·r_j)      [Å]

with f_e the electron scattering factor (Lobato & Van Dyck 2014, :mod:`jaxem.potential`) at
k = |g| = 2 sin θ/λ and the Debye–Waller factor exp(−B s²), s = |g|/2, B = 8π²⟨u²⟩. Kinematically
forbidden reflections (|F| < ``forbidden`` · max |F|) are kept and flagged: in HRTEM images they
appear by double diffraction, so they are lattice points for verification but not pair-table seeds.

Frame. In-plane coordinates (g_x, g_y) [1/Å] are taken along the x and y axes of
:func:`jaxem.structure.zone_axis` (v1 → x, v2 → y), so the tables match images simulated from the
same oriented cell pixel for pixel; the beam points along +z = [uvw].

Pair table (what the indexer looks up; ICN2's "FindZA", with normalised tolerances): for the
strongest allowed reflections with d ≥ ``d_min`` all non-collinear pairs (a, b) with
|g_a| ≤ |g_b| as rows (|g_a|, |g_b|, ∠ [deg], index a, index b), duplicates under the zone's
symmetry (equal to 1e-4 relative) removed, sorted by |g_a| then |g_b| then ∠.
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import pytree, validate
from ..structure import Structure, zone_axis


@pytree.dataclass(eq=False)
class ZoneTable:
    """Kinematic data of one (structure, zone axis).

    Attributes:
        uvw: zone axis (direct-lattice indices, static).
        hkl: (R, 3) integer Miller indices of the in-zone reflections.
        g: (R, 2) in-plane reciprocal vectors (g_x, g_y) [1/Å] in the zone-axis cell frame.
        amplitude: (R,) |F(g)| [Å] with Debye–Waller.
        allowed: (R,) bool, |F| ≥ forbidden · max |F|.
        pairs: (P, 5) rows (|g_a| [1/Å], |g_b| [1/Å], angle [deg], a, b).
        frame: (2, 3) unit vectors of the in-plane x, y axes in the structure's Cartesian frame.
    """

    uvw: tuple = pytree.field(static=True)
    hkl: np.ndarray
    g: np.ndarray = pytree.field(units="1/Å")
    amplitude: np.ndarray = pytree.field(units="Å")
    allowed: np.ndarray
    pairs: np.ndarray
    frame: np.ndarray

    @property
    def d(self) -> np.ndarray:
        """d-spacings 1/|g| [Å]."""
        return 1.0 / np.linalg.norm(self.g, axis=1)


def zone_frame(structure: Structure, uvw) -> np.ndarray:
    """(2, 3) unit vectors of the image x and y axes (zone-axis cell v1, v2) in Cartesian space."""
    _, info = zone_axis(structure, uvw, return_info=True, strain_tol=1e-3)
    v = np.asarray(info.vectors, float)
    return v[:2] / np.linalg.norm(v[:2], axis=1, keepdims=True)


def default_frame(cell, uvw, g1) -> np.ndarray:
    """x ∥ g1 (an in-zone reflection), y = ẑ × x with ẑ ∥ [uvw] (Cartesian; a right-handed frame)."""
    z = np.asarray(uvw, float) @ np.asarray(cell, float)
    z /= np.linalg.norm(z)
    x = np.asarray(g1, float) - np.dot(g1, z) * z
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x)])


def structure_factors(structure: Structure, hkl: np.ndarray) -> np.ndarray:
    """Complex kinematic electron structure factors F(hkl) [Å] with Debye–Waller (module docstring)."""
    from ..potential.parametrizations import get_parametrization

    cell = np.asarray(structure.cell, float)
    recip = np.linalg.inv(cell).T  # rows a*, b*, c* [1/Å] (no 2π)
    hkl = np.asarray(hkl, float).reshape(-1, 3)
    gvec = hkl @ recip
    gabs = np.linalg.norm(gvec, axis=1)
    numbers = np.asarray(structure.numbers, int)
    species = np.unique(numbers)
    coef = get_parametrization("lobato").coefficients  # f = Σ a (2 + b k²) / (1 + b k²)² [Å]
    a, b = (np.asarray(coef[n], float)[species][:, :, None] for n in ("a", "b"))
    bk2 = b * gabs[None, None, :] ** 2
    fe = np.sum(a * (2.0 + bk2) / (1.0 + bk2) ** 2, axis=1)  # (S, R), float64 (host-side tables)
    f_atom = fe[np.searchsorted(species, numbers)]  # (N, R)
    u2 = np.mean(np.asarray(structure.u2, float), axis=1)
    dw = np.exp(-2.0 * np.pi**2 * u2[:, None] * gabs[None, :] ** 2)
    phase = np.exp(2j * np.pi * (np.asarray(structure.positions, float) @ gvec.T))
    occ = np.asarray(structure.occupancy, float)[:, None]
    return np.sum(occ * f_atom * dw * phase, axis=0)


def zone_table(structure: Structure, uvw, g_max: float = 1.25, d_min_pairs: float = 1.0,
               n_pair_seeds: int = 24, forbidden: float = 1e-3, frame=None) -> ZoneTable:
    """Reflections of ``structure`` in the zone ``uvw`` with |g| ≤ ``g_max`` [1/Å] and their pair table.

    ``n_pair_seeds`` strongest allowed reflections (by |F|, then shortest) with d ≥ ``d_min_pairs`` [Å]
    seed the pair table. ``frame`` (2, 3): in-plane x, y unit vectors (Cartesian); default x along the
    shortest in-zone reflection, y = z × x with z ∥ [uvw] (use :func:`zone_frame` to match images
    simulated on :func:`~jaxem.structure.zone_axis` cells)."""
    validate.instance(structure, "structure", Structure, "a jaxem Structure")
    g_max = validate.scalar(g_max, "g_max", "1/Å", positive=True)
    uvw = validate.miller(uvw, "uvw")
    cell = np.asarray(structure.cell, float)
    recip = np.linalg.inv(cell).T
    hmax = [int(np.ceil(g_max * np.linalg.norm(cell[i]))) + 1 for i in range(3)]
    grid = np.array(list(itertools.product(*(range(-m, m + 1) for m in hmax))))
    grid = grid[(grid @ np.asarray(uvw)) == 0]
    gvec = grid @ recip
    gabs = np.linalg.norm(gvec, axis=1)
    keep = (gabs > 1e-9) & (gabs <= g_max)
    grid, gvec, gabs = grid[keep], gvec[keep], gabs[keep]
    if gabs.size == 0:
        raise validate.InputError(f"zone axis {list(uvw)} has no reflection with |g| ≤ g_max = {g_max} 1/Å; "
                                  "raise g_max")
    if frame is None:
        frame = default_frame(cell, uvw, gvec[np.argmin(gabs)])
    frame = np.asarray(frame, float)
    amp = np.abs(structure_factors(structure, grid))
    allowed = amp >= forbidden * max(float(amp.max(initial=0.0)), 1e-30)
    g2 = gvec @ frame.T
    order = np.lexsort((g2[:, 1], g2[:, 0], gabs))
    grid, g2, amp, allowed, gabs = grid[order], g2[order], amp[order], allowed[order], gabs[order]
    pairs = _pair_table(g2, amp, allowed, gabs, d_min_pairs, n_pair_seeds)
    return ZoneTable(uvw, grid.astype(np.int32), g2, amp, allowed, pairs, frame)


def _pair_table(g2, amp, allowed, gabs, d_min, n_seeds) -> np.ndarray:
    cand = np.flatnonzero(allowed & (gabs <= 1.0 / d_min))
    if cand.size == 0:
        return np.zeros((0, 5))
    # strongest first, ties (symmetry-equivalent) kept together, then cut after n_seeds
    order = cand[np.lexsort((gabs[cand], -np.round(amp[cand], 6)))]
    seeds = order[:n_seeds]
    rows = []
    for a, b in itertools.permutations(seeds, 2):
        if gabs[a] > gabs[b] + 1e-12:
            continue
        cosang = np.dot(g2[a], g2[b]) / (gabs[a] * gabs[b])
        ang = float(np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0))))
        if ang < 5.0 or ang > 175.0:
            continue
        rows.append((gabs[a], gabs[b], ang, a, b))
    if not rows:
        return np.zeros((0, 5))
    rows = np.array(rows)
    key = np.round(rows[:, :3] * np.array([1e4, 1e4, 1e2])).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
    rows = rows[np.sort(first)]
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
