"""Zone-axis orientation: an orthorhombic periodic cell whose z axis is a lattice direction [uvw].

Multislice needs a cell with a ∥ x, b ∥ y, c ∥ z (the beam). For a crystal and a direct-lattice
direction [uvw] (three-index, in the basis of the structure's cell vectors; for hexagonal cells
four-index [UVTW] becomes [U−T, V−T, W], e.g. [11-20] → [110], [10-10] → [210], [0001] → [001]),
:func:`zone_axis` builds the smallest cell spanned by lattice vectors

    v3 = the shortest lattice vector along [uvw]          (→ z, exactly along the beam)
    v1, v2 ⟂ v3 and v1 ⟂ v2, smallest area |v1 × v2|      (→ x, y)

searched among all lattice vectors with coefficients up to ``max_index``. "Lattice" is the true
translation lattice of the structure: pure translations that map the structure onto itself (e.g.
the face-centring vectors of a conventional fcc cell) are detected first (for inputs of up to 5000
atoms), so Si [111] gives a 12-atom cell rather than 48. Atoms are then collected from the periodic crystal into the new cell
and expressed in it as fractional coordinates × (|v1|, |v2|, |v3|).

When no exactly orthogonal pair exists (e.g. tetragonal [101], where c/a is irrational), a pair
within ``strain_tol`` of orthogonality is accepted and the cell is made orthorhombic by the small
homogeneous strain that maps the lattice vectors onto (|v1|, 0, 0), (0, |v2|, 0), (0, 0, |v3|); the
largest strain component is reported in :class:`ZoneAxisInfo` (``return_info=True``) and a warning is
issued when it is non-zero. If nothing is found, ``ValueError`` names the limits to raise.

Thermal vibrations: ⟨u²⟩ per Cartesian direction is rotated as the diagonal of the tensor
R·diag(u²)·Rᵀ (exact for isotropic atoms; off-diagonal terms of anisotropic ones are dropped).
"""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from .. import pytree, validate
from .structure import Structure, as_structure

_EPS = 1e-8
_FRAC_EPS = 1e-5  # window shift for collecting atoms (positions may be float32)


@pytree.dataclass(eq=False)
class ZoneAxisInfo:
    """What :func:`zone_axis` did.

    Attributes:
        uvw: the requested direction (reduced integers).
        vectors: (3, 3) the new cell vectors v1, v2, v3 as rows in the original frame [Å].
        coefficients: (3, 3) the same vectors in fractions of the original cell vectors.
        strain: largest absolute component of the strain applied to make the cell orthorhombic
            (0 for an exactly orthogonal cell) [dimensionless].
        volume_ratio: new cell volume / original cell volume.
    """

    uvw: tuple = pytree.field(static=True)
    vectors: np.ndarray = pytree.field(units="Å")
    coefficients: np.ndarray
    strain: float = pytree.field(static=True)
    volume_ratio: float = pytree.field(static=True)


def _validate_uvw(uvw) -> np.ndarray:
    arr = np.array(validate.miller(uvw, "uvw"), dtype=np.int64)
    return arr // math.gcd(*(int(abs(x)) for x in arr))


def pure_translations(structure: Structure, tol: float = 1e-4) -> np.ndarray:
    """Fractional translations t ∈ [0, 1)³ (including 0) that map the structure onto itself.

    Atoms must match in atomic number, ⟨u²⟩ and occupancy; ``tol`` is a Cartesian distance [Å].
    """
    from scipy.spatial import cKDTree

    structure = as_structure(structure)
    tol = validate.scalar(tol, "tol", "Å", positive=True)
    cell = np.asarray(structure.cell, dtype=np.float64)
    frac = (np.asarray(structure.positions, dtype=np.float64) @ np.linalg.inv(cell)) % 1.0
    key = np.concatenate([np.asarray(structure.numbers, np.float64)[:, None],
                          np.round(np.asarray(structure.u2, np.float64) * 1e6),
                          np.round(np.asarray(structure.occupancy, np.float64)[:, None] * 1e6)], axis=1)
    _, kind = np.unique(key, axis=0, return_inverse=True)
    kind = kind.reshape(-1)
    counts = np.bincount(kind)
    rare = int(np.argmin(counts))
    i0 = int(np.flatnonzero(kind == rare)[0])
    ftol = tol / np.min(np.linalg.norm(cell, axis=1))
    # embed kind as a 4th, widely separated coordinate so that only like atoms match
    pts = np.concatenate([frac, kind[:, None] * 10.0], axis=1)
    tree = cKDTree(pts % np.array([1, 1, 1, 1e9]), boxsize=np.array([1.0, 1.0, 1.0, 1e9]))
    probe = np.random.default_rng(0).permutation(len(frac))[:16]  # cheap rejection first
    found = []
    for j in np.flatnonzero(kind == rare):
        t = (frac[j] - frac[i0]) % 1.0
        for subset in (probe, slice(None)):
            moved = np.concatenate([(frac[subset] + t) % 1.0, kind[subset, None] * 10.0], axis=1)
            dist, _ = tree.query(moved, distance_upper_bound=ftol)
            if not np.all(np.isfinite(dist)):
                break
        else:
            found.append(t)
    t = np.array(found).reshape(-1, 3)
    t[np.abs(t - 1.0) < ftol] = 0.0
    return t


def _primitive_basis(cell: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Basis (rows, fractional in the conventional cell) of the lattice generated by the cell and
    the pure translations: the three successive minima (a basis in 3D)."""
    if len(trans) <= 1:
        return np.eye(3)
    box = np.array(list(itertools.product((-1, 0, 1), repeat=3)), float)
    cand = (trans[:, None, :] + box[None]).reshape(-1, 3)
    lengths = np.linalg.norm(cand @ cell, axis=1)
    order = np.argsort(lengths, kind="stable")
    basis = []
    for i in order:
        if lengths[i] < _EPS:
            continue
        trial = basis + [cand[i]]
        if np.linalg.matrix_rank(np.array(trial), tol=1e-6) == len(trial):
            basis = trial
            if len(basis) == 3:
                break
    basis = np.array(basis)
    if len(basis) != 3 or not math.isclose(abs(np.linalg.det(basis)) * len(trans), 1.0, rel_tol=1e-6):
        return np.eye(3)  # not a consistent group of translations: fall back to the cell lattice
    return basis


def zone_axis(structure: Structure, uvw, max_index: int = 8, strain_tol: float = 1e-5,
              max_atoms: int = 100_000, return_info: bool = False):
    """Orthorhombic cell of ``structure`` with the beam (z) along the direct-lattice direction ``uvw``.

    Args:
        structure: a periodic crystal (any cell; e.g. a built-in conventional cell).
        uvw: direction [u, v, w] in the basis of ``structure.cell`` rows (three integers).
        max_index: largest lattice-vector coefficient searched for the in-plane vectors.
        strain_tol: largest accepted |cos| between the in-plane vectors (≈ shear strain) [1].
        max_atoms: refuse to build cells with more atoms than this.
        return_info: also return a :class:`ZoneAxisInfo`.

    Returns:
        The oriented :class:`Structure` (cell diag(|v1|, |v2|, |v3|) [Å], ``z_repeats = 1``), and
        its :class:`ZoneAxisInfo` when ``return_info`` is true.

    Raises:
        ValueError: bad ``uvw``/limits, a structure that is not periodic in all three directions
            (``pbc``), or no orthogonal cell within ``max_index``/``strain_tol``.
    """
    structure = as_structure(structure)
    uvw = _validate_uvw(uvw)
    max_index = validate.integer(max_index, "max_index", lo=1)
    strain_tol = validate.scalar(strain_tol, "strain_tol", lo=0.0, hi=0.1, hi_open=True)
    max_atoms = validate.integer(max_atoms, "max_atoms", lo=1)
    if not all(structure.pbc):
        raise validate.InputError(
            f"zone_axis builds a cell of the periodic crystal, but structure.pbc = {structure.pbc} is not "
            "periodic along every cell vector; give a periodic crystal (pbc=True)")
    cell = np.asarray(structure.cell, dtype=np.float64)
    # the true translation lattice (e.g. fcc centring); very large inputs use their cell lattice
    trans = pure_translations(structure) if len(structure) <= 5000 else np.zeros((1, 3))
    basis = _primitive_basis(cell, trans)  # rows: fractional (conventional) coordinates
    # shortest lattice vector along uvw: uvw / k with k the largest divisor still on the lattice
    inv_basis = np.linalg.inv(basis)
    v3 = uvw.astype(float)
    for k in range(12, 1, -1):
        c = (uvw / k) @ inv_basis
        if np.allclose(c, np.round(c), atol=1e-6):
            v3 = uvw / k
            break
    d = v3 @ cell
    dhat = d / np.linalg.norm(d)
    # candidate in-plane vectors: integer combinations of the primitive basis
    rng = np.arange(-max_index, max_index + 1)
    coef = np.array(np.meshgrid(rng, rng, rng, indexing="ij")).reshape(3, -1).T.astype(float)
    frac = coef @ basis
    cart = frac @ cell
    length = np.linalg.norm(cart, axis=1)
    ok = length > _EPS
    cos_d = np.zeros_like(length)
    cos_d[ok] = np.abs(cart[ok] @ dhat) / length[ok]
    perp = ok & (cos_d <= strain_tol)
    # keep one of ±v: first non-zero coefficient positive
    sign = np.sign(coef[np.arange(len(coef)), np.argmax(coef != 0, axis=1)])
    perp &= sign > 0
    fr, ca, ln = frac[perp], cart[perp], length[perp]
    order = np.argsort(ln, kind="stable")[:600]
    fr, ca, ln = fr[order], ca[order], ln[order]
    if len(ln) >= 2:
        cosm = np.abs(ca @ ca.T) / np.outer(ln, ln)
        area = np.linalg.norm(np.cross(ca[:, None, :], ca[None, :, :]), axis=-1)
        good = (cosm <= strain_tol) & (area > 1e-6)
        good = np.triu(good, 1)
    else:
        good = np.zeros((len(ln), len(ln)), bool)
    if not good.any():
        raise ValueError(
            f"no orthogonal cell for zone axis {uvw.tolist()} with lattice-vector coefficients up to "
            f"max_index={max_index} and strain_tol={strain_tol}; raise max_index or accept a small "
            f"strain with strain_tol (e.g. 1e-2)")
    i, j = np.argwhere(good).T
    ar = area[i, j] + 1e-9 * np.maximum(ln[i], ln[j])  # ties: prefer compact cells
    best = np.argsort(ar, kind="stable")[0]
    a_i, b_i = int(i[best]), int(j[best])
    vecs_frac = np.array([fr[a_i], fr[b_i], v3])
    vecs = vecs_frac @ cell
    if np.linalg.det(vecs) < 0:
        vecs_frac[1] *= -1
        vecs = vecs_frac @ cell
    lengths = np.linalg.norm(vecs, axis=1)
    vol_ratio = abs(np.linalg.det(vecs_frac))
    n_new = len(structure) * vol_ratio
    if abs(n_new - round(n_new)) > 1e-6:
        raise ValueError(f"internal: oriented cell holds a non-integer number of atoms ({n_new})")
    n_new = int(round(n_new))
    if n_new > max_atoms:
        raise validate.InputError(f"zone axis {uvw.tolist()} needs a cell of {n_new} atoms > max_atoms={max_atoms}; "
                                  "raise max_atoms or choose a lower-index direction")

    # atoms of the periodic crystal inside the new cell
    pos0 = ((np.asarray(structure.positions, dtype=np.float64) @ np.linalg.inv(cell)) % 1.0) @ cell
    inv_vecs = np.linalg.inv(vecs)
    corners = np.array(list(itertools.product((0, 1), repeat=3)), float) @ vecs_frac
    lo = np.floor(corners.min(0)) - 1
    hi = np.ceil(corners.max(0)) + 1
    shifts = np.array(list(itertools.product(*(np.arange(lo[k], hi[k] + 1) for k in range(3)))))
    frac_new = ((pos0[None] + (shifts @ cell)[:, None]) @ inv_vecs).reshape(-1, 3)
    inside = np.all((frac_new >= -_FRAC_EPS) & (frac_new < 1 - _FRAC_EPS), axis=1)
    idx_atom = np.tile(np.arange(len(structure)), len(shifts))[inside]
    frac_new = np.clip(frac_new[inside], 0.0, None)
    if len(idx_atom) != n_new:
        raise ValueError(f"internal: collected {len(idx_atom)} atoms for a cell that holds {n_new}")

    # x_new = x_old @ M maps the lattice vectors onto the orthorhombic cell; M = rotation × strain
    target = np.diag(lengths)
    M = inv_vecs @ target
    green = 0.5 * (M @ M.T - np.eye(3))
    strain = float(np.max(np.abs(green)))
    if strain > 1e-6:
        warnings.warn(f"zone_axis {uvw.tolist()}: cell made orthorhombic with a strain of {strain:.2e}",
                      stacklevel=2)
    w, _, vt = np.linalg.svd(M)
    rot = w @ vt  # rotation part of M (row convention)
    u2 = np.asarray(structure.u2, dtype=np.float64)[idx_atom]
    u2_new = u2 @ rot**2  # diagonal of R^T diag(u2) R
    out = Structure.create(
        frac_new @ target,
        np.asarray(structure.numbers)[idx_atom],
        target,
        u2=u2_new,
        occupancy=np.asarray(structure.occupancy, dtype=np.float64)[idx_atom],
    )
    if not return_info:
        return out
    info = ZoneAxisInfo(tuple(int(x) for x in uvw), vecs, vecs_frac, strain, float(vol_ratio))
    return out, info


__all__ = ["zone_axis", "ZoneAxisInfo", "pure_translations"]
