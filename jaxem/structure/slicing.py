"""Assigning atoms to slices along the beam (z), following the cell's periodicity (``pbc``).

Slice i covers z ∈ [i·dz, (i+1)·dz). The assignment is ``floor(z / dz + ε)``, computed in float64
on the host; ε = 1e-4 (in slice units) puts an atom that lies on a slice boundary — up to the
rounding of float32 coordinates ~100 Å from the origin — consistently into the slice that starts
there, whatever the precision of the positions.

**The rule for atoms on or outside the cell faces** (the convention of ASE and of ASE-based
multislice codes, which follow ``Atoms.pbc``), per cell axis:

* *periodic* axis (``pbc`` true, the default of :class:`~jaxem.structure.Structure` and of every
  crystal): atoms are wrapped into the cell. An atom exactly on the top face z = L (or within ε of
  it) is the periodic image of one on the bottom face and goes into the **first** slice; an atom at
  z = 50 Å in a 5 Å cell goes where z = 0 would. Wrapping any atom by a lattice vector leaves the
  potential unchanged (a tested invariant). Along x and y the potential is periodic on the grid
  anyway, so wrapping there changes nothing.
* *non-periodic* axis (``pbc`` false, e.g. an ``ase.Atoms`` slab or cluster): atoms must lie in the
  closed cell [0, L] (to within :data:`OUTSIDE_TOLERANCE`); an atom on the top face z = L goes into
  the **last** slice. Atoms outside are rejected with their count, the first offender and the cell's
  range — never silently clipped into the first/last slice.

Public API: :func:`slice_assignment`, :func:`slices_for_structure`, :func:`check_in_cell`.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import validate

#: tolerance [slice units] for atoms on slice boundaries and for depths that are whole numbers of slices
BOUNDARY_TOLERANCE = 1e-4
#: tolerance [Å] (plus 1e-6 of the cell length) for atoms on the faces of a non-periodic cell
OUTSIDE_TOLERANCE = 1e-4
_AXES = "xyz"


def slice_assignment(z, thickness: float, n_slices: int, periodic: bool = False) -> np.ndarray:
    """Slice index (int32) of each atom at height ``z`` [Å] for ``n_slices`` slices of ``thickness`` [Å].

    ``periodic``: the stack of slices is periodic along z (atoms outside are wrapped, an atom on the
    top face goes into slice 0); otherwise atoms within the tolerance of the faces are kept in the
    first/last slice and atoms further outside are rejected (see the module docstring).
    """
    z = np.asarray(validate.array(z, "z", ndim=1, kind="real", units="Å", min_size=0), dtype=np.float64)
    thickness = validate.scalar(thickness, "thickness", "Å", positive=True)
    n_slices = validate.integer(n_slices, "n_slices", lo=1)
    idx = np.floor(z / thickness + BOUNDARY_TOLERANCE).astype(np.int64)
    if periodic:
        return np.mod(idx, n_slices).astype(np.int32)
    depth = thickness * n_slices
    tol = OUTSIDE_TOLERANCE + 1e-6 * depth
    _reject_outside(z, depth, tol, "z", "z", "not periodic")
    return np.clip(idx, 0, n_slices - 1).astype(np.int32)


def _reject_outside(values, length, tol, axis, name, why):
    bad = (values < -tol) | (values > length + tol)
    if np.any(bad):
        first = int(np.argmax(bad))
        raise validate.InputError(
            f"{name}: {int(bad.sum())} atom(s) lie outside the cell along {axis} (first: atom {first} at "
            f"{axis} = {values[first]:.6g} Å; the cell spans {axis} ∈ [0, {length:.6g}] Å) and the cell is "
            f"{why} along {axis}; move the atoms into the cell, or make the cell periodic along {axis} "
            f"(pbc) to wrap them")


def check_in_cell(positions, cell, pbc, name: str = "structure.positions") -> None:
    """Raise unless every atom lies inside ``cell`` along each non-periodic axis (see module doc).

    Args:
        positions: (N, 3) Cartesian positions [Å].
        cell: (3, 3) lattice vectors as rows [Å].
        pbc: three booleans, periodicity along a, b, c.
        name: the argument named in the message.
    """
    if all(pbc):
        return
    cell = np.asarray(cell, np.float64)
    frac = np.asarray(positions, np.float64) @ np.linalg.inv(cell)
    lengths = np.linalg.norm(cell, axis=1)
    for a in range(3):
        if not pbc[a]:
            # distance along the lattice vector (the Cartesian coordinate for a diagonal cell)
            _reject_outside(frac[:, a] * lengths[a], lengths[a], OUTSIDE_TOLERANCE + 1e-6 * lengths[a],
                            _AXES[a], name, "not periodic")


#: an atom closer than this [Å] to a non-periodic lateral face feels its periodic images through the face
LATERAL_MARGIN = 1.0


def check_lateral_vacuum(positions, cell, pbc, name: str = "structure") -> None:
    """Warn when atoms lie within :data:`LATERAL_MARGIN` of a non-periodic lateral face (x or y).

    The multislice grid is periodic along x and y whatever ``pbc`` says, so an isolated object (a
    cluster, a particle; ``pbc`` false as ASE's default) touching a lateral face of its cell overlaps its
    own periodic image there. Orthorhombic ``cell`` only (the multislice frame).
    """
    pos = np.asarray(positions, np.float64)
    if not len(pos):
        return
    lengths = np.abs(np.diag(np.asarray(cell, np.float64)))
    for a in (0, 1):
        if pbc[a]:
            continue
        gap = float(min(pos[:, a].min(), lengths[a] - pos[:, a].max()))
        if gap < LATERAL_MARGIN:
            warnings.warn(
                f"{name}: the cell is not periodic along {_AXES[a]} (pbc false) but an atom lies {gap:.3g} Å from "
                f"its face; the multislice grid is periodic along x and y, so the atoms there meet their periodic "
                f"images across the face; add ≥ {LATERAL_MARGIN:g} Å of vacuum (e.g. ase Atoms.center(vacuum=...)) "
                f"or set pbc true if the structure is periodic", stacklevel=3)
            return


#: atoms closer than this [Å] occupy one site (no two real atoms are within 0.5 Å of each other)
SITE_TOLERANCE = 0.05


def check_sites(positions, cell, pbc, occupancy, name: str = "structure") -> None:
    """Raise if atoms that coincide (closer than :data:`SITE_TOLERANCE`, across periodic faces too) have a
    total occupancy above 1.

    Mixed sites (two species sharing a site with occupancies summing to ≤ 1) are accepted; duplicated
    atoms (a CIF expanded without merging symmetry-equivalent positions, a structure concatenated with
    itself, every atom put at one point) would silently add their potentials, so they are an error
    naming the first pair, their distance and the site's total occupancy. Orthorhombic ``cell`` only
    (the multislice frame; used by the potential).
    """
    pos = np.asarray(positions, np.float64)
    if len(pos) < 2:
        return
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    lengths = np.abs(np.diag(np.asarray(cell, np.float64)))
    lo = pos.min(axis=0)
    box = np.where(pbc, lengths, (pos.max(axis=0) - lo) * 2 + 10 * SITE_TOLERANCE + 1.0)
    wrapped = np.where(pbc, np.mod(pos, lengths), pos - lo)
    wrapped = np.where(wrapped >= box, wrapped - box, wrapped)  # mod can round up to the box length
    pairs = cKDTree(wrapped, boxsize=box).query_pairs(SITE_TOLERANCE, output_type="ndarray")
    if not len(pairs):
        return
    n = len(pos)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    occ = np.broadcast_to(np.asarray(occupancy, np.float64), (n,))
    total = np.bincount(label, weights=occ, minlength=label.max() + 1)
    bad = total > 1 + 1e-6
    if np.any(bad):
        i, j = next((int(a), int(b)) for a, b in pairs if bad[label[a]])
        diff = pos[i] - pos[j]
        diff = np.where(pbc, diff - lengths * np.round(diff / lengths), diff)  # nearest periodic image
        d = float(np.linalg.norm(diff))
        raise validate.InputError(
            f"{name}: atoms {i} and {j} coincide (distance {d:.3g} Å, nearest periodic image) with a total "
            f"site occupancy of {total[label[i]]:.4g} > 1 ({int(bad.sum())} such site(s)): "
            f"duplicated atoms would add their potentials; remove the duplicates or give the atoms sharing a "
            f"site occupancies summing to ≤ 1")


def slices_for_structure(depth: float, slice_thickness: float) -> tuple[int, float]:
    """(number of slices, actual thickness [Å]) dividing ``depth`` [Å] into slices of at most
    ``slice_thickness`` [Å] of equal thickness."""
    slice_thickness = validate.scalar(slice_thickness, "slice_thickness", "Å", positive=True)
    depth = validate.scalar(depth, "depth", "Å", positive=True)
    n = max(1, int(np.ceil(depth / slice_thickness - BOUNDARY_TOLERANCE)))
    return n, depth / n
