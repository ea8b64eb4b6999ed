"""The Structure pytree: atoms in a periodic cell.

Frame: positions are Cartesian (x, y, z) [Å]; the beam travels along +z; the cell rows are the
lattice vectors a, b, c [Å]. Multislice needs a cell whose c vector is along z and whose a, b
vectors span the x–y plane along x and y (an orthorhombic cell); :meth:`Structure.check_orthorhombic`
says so clearly otherwise (orient with ``jaxem.structure.zone_axis``).

Thermal vibrations: each atom carries its mean-square displacement per Cartesian direction
``u2`` (N, 3) [Å²]; B = 8π²⟨u²⟩ (isotropic B → the same u² in x, y, z).

``z_repeats`` (static) records that the structure is ``z_repeats`` identical copies of a unit stacked
along z (set by :meth:`repeat`); the potential then computes the slices of one unit only.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from flax import struct

from .elements import atomic_number


def _as_float_array(x, shape, name):
    a = np.asarray(x, dtype=np.float64)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} contains NaN/inf (first at index {tuple(int(i) for i in bad)})")
    return a


@struct.dataclass
class Structure:
    """Atoms in a periodic cell (a pytree: positions, u2 and occupancy are differentiable leaves).

    Attributes:
        positions: (N, 3) Cartesian positions (x, y, z) [Å].
        numbers: (N,) atomic numbers.
        cell: (3, 3) lattice vectors as rows [Å].
        u2: (N, 3) mean-square displacement per Cartesian direction ⟨u²⟩ [Å²] (B = 8π²⟨u²⟩).
        occupancy: (N,) site occupancy in [0, 1].
        z_repeats: number of identical units stacked along z (static).
    """

    positions: jnp.ndarray
    numbers: jnp.ndarray
    cell: jnp.ndarray
    u2: jnp.ndarray
    occupancy: jnp.ndarray
    z_repeats: int = struct.field(pytree_node=False, default=1)

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def create(cls, positions, numbers, cell, B=None, u2=None, U_iso=None, occupancy=None,
               z_repeats: int = 1) -> "Structure":
        """Validated constructor.

        Args:
            positions: (N, 3) Cartesian positions [Å].
            numbers: (N,) atomic numbers or chemical symbols.
            cell: (3,) orthorhombic lengths or (3, 3) lattice vectors as rows [Å].
            B: isotropic Debye–Waller factor [Å²] per atom (scalar, (N,)) or a {symbol: B} dict.
            u2: ⟨u²⟩ per direction [Å²]: scalar, (N,), (N, 3) or {symbol: u2}.
            U_iso: alias of ``u2`` for isotropic displacement parameters [Å²].
            occupancy: (N,) or scalar in [0, 1] (default 1).
            z_repeats: identical units along z (≥ 1).
        """
        numbers = np.asarray([atomic_number(z) for z in np.atleast_1d(np.asarray(numbers, dtype=object))],
                             dtype=np.int32)
        n = len(numbers)
        positions = _as_float_array(positions, (n, 3), "positions")
        cell = np.asarray(cell, dtype=np.float64)
        if cell.shape == (3,):
            cell = np.diag(cell)
        cell = _as_float_array(cell, (3, 3), "cell")
        if abs(np.linalg.det(cell)) < 1e-9:
            raise ValueError(f"cell must have a non-zero volume, got {cell.tolist()}")
        given = [x is not None for x in (B, u2, U_iso)]
        if sum(given) > 1:
            raise ValueError("give at most one of B, u2 and U_iso")
        if B is not None:
            u2v = _per_atom(B, numbers, "B") / (8 * math.pi**2)
        elif u2 is not None or U_iso is not None:
            u2v = _per_atom(u2 if u2 is not None else U_iso, numbers, "u2")
        else:
            u2v = np.zeros(n)
        u2v = np.asarray(u2v, dtype=np.float64)
        if u2v.ndim == 1:
            u2v = np.repeat(u2v[:, None], 3, axis=1)
        u2v = _as_float_array(u2v, (n, 3), "u2")
        if np.any(u2v < 0):
            raise ValueError(f"Debye–Waller factors must be ≥ 0 Å², got min {u2v.min():.4g}")
        occ = np.ones(n) if occupancy is None else np.broadcast_to(np.asarray(occupancy, float), (n,)).copy()
        occ = _as_float_array(occ, (n,), "occupancy")
        if np.any((occ < 0) | (occ > 1)):
            raise ValueError(f"occupancy must lie in [0, 1], got range [{occ.min()}, {occ.max()}]")
        if int(z_repeats) != z_repeats or z_repeats < 1:
            raise ValueError(f"z_repeats must be a positive integer, got {z_repeats!r}")
        return cls(jnp.asarray(positions), jnp.asarray(numbers), jnp.asarray(cell), jnp.asarray(u2v),
                   jnp.asarray(occ), int(z_repeats))

    # ---- properties -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(np.shape(self.numbers)[0])

    @property
    def B(self):
        """Isotropic-equivalent Debye–Waller factor B = 8π² mean(⟨u²⟩) per atom [Å²]."""
        return 8 * math.pi**2 * jnp.mean(self.u2, axis=-1)

    @property
    def species(self) -> tuple[int, ...]:
        """Sorted unique atomic numbers (host values)."""
        return tuple(int(z) for z in np.unique(np.asarray(self.numbers)))

    @property
    def lengths(self) -> tuple[float, float, float]:
        """Cell lengths along x, y, z of an orthorhombic cell [Å]."""
        c = np.asarray(self.cell)
        return float(c[0, 0]), float(c[1, 1]), float(c[2, 2])

    def check_orthorhombic(self, tol: float = 1e-6) -> None:
        """Raise ``ValueError`` unless the cell is diagonal (a ∥ x, b ∥ y, c ∥ z)."""
        c = np.asarray(self.cell)
        off = c - np.diag(np.diag(c))
        if np.max(np.abs(off)) > tol or np.any(np.diag(c) <= 0):
            raise ValueError(
                "multislice needs an orthorhombic cell with a ∥ x, b ∥ y, c ∥ z (the beam); got cell "
                f"{c.round(4).tolist()}; orient it with jaxem.structure.zone_axis(...) first"
            )

    # ---- transformations ------------------------------------------------------------------------
    def replace(self, **changes) -> "Structure":
        return struct.dataclasses.replace(self, **changes)

    def with_positions(self, positions) -> "Structure":
        return self.replace(positions=positions)

    def repeat(self, nx: int = 1, ny: int = 1, nz: int = 1) -> "Structure":
        """Supercell of nx × ny × nz copies of the cell (z copies are recorded in ``z_repeats``)."""
        reps = (nx, ny, nz)
        if any(int(r) != r or r < 1 for r in reps):
            raise ValueError(f"repeats must be positive integers, got {reps}")
        cell = np.asarray(self.cell)
        shifts = np.array([(i, j, k) for k in range(nz) for j in range(ny) for i in range(nx)], float) @ cell
        pos = (np.asarray(self.positions)[None] + shifts[:, None]).reshape(-1, 3)
        m = len(shifts)
        return Structure(
            jnp.asarray(pos),
            jnp.tile(self.numbers, m),
            jnp.asarray(cell * np.array(reps, float)[:, None]),
            jnp.tile(self.u2, (m, 1)),
            jnp.tile(self.occupancy, m),
            self.z_repeats * int(nz),
        )

    def translate(self, shift) -> "Structure":
        """Shift all atoms by ``shift`` (x, y, z) [Å]."""
        return self.with_positions(self.positions + jnp.asarray(shift, self.positions.dtype))

    def wrap(self) -> "Structure":
        """Map positions into the cell (fractional coordinates in [0, 1))."""
        cell = jnp.asarray(self.cell)
        frac = self.positions @ jnp.linalg.inv(cell)
        return self.with_positions((frac % 1.0) @ cell)

    def center(self, axes=(0, 1, 2)) -> "Structure":
        """Translate so the atoms' bounding box is centred in an orthorhombic cell along ``axes``."""
        pos = np.asarray(self.positions)
        shift = np.zeros(3)
        lengths = self.lengths
        for a in axes:
            shift[a] = lengths[a] / 2 - (pos[:, a].min() + pos[:, a].max()) / 2
        return self.translate(shift)

    def zone_axis(self, uvw, **kwargs) -> "Structure":
        """Orthorhombic cell with the beam (z) along the lattice direction ``uvw``; see
        :func:`jaxem.structure.zone_axis` for the keyword arguments."""
        from .orientation import zone_axis

        return zone_axis(self, uvw, **kwargs)

    # ---- interop --------------------------------------------------------------------------------
    @classmethod
    def from_ase(cls, atoms, B=None, u2=None, occupancy=None) -> "Structure":
        """From an ``ase.Atoms`` (positions, numbers, cell; occupancies from ``atoms.info`` if set)."""
        return cls.create(atoms.get_positions(), atoms.get_atomic_numbers(), np.asarray(atoms.get_cell()),
                          B=B, u2=u2, occupancy=occupancy)

    def to_ase(self):
        """To an ``ase.Atoms`` (periodic in all directions); ⟨u²⟩ goes to the ``u2`` array."""
        from ase import Atoms

        atoms = Atoms(numbers=np.asarray(self.numbers), positions=np.asarray(self.positions),
                      cell=np.asarray(self.cell), pbc=True)
        atoms.set_array("u2", np.asarray(self.u2))
        atoms.set_array("occupancy", np.asarray(self.occupancy))
        return atoms


def _per_atom(value, numbers, name):
    from .elements import symbol

    if isinstance(value, dict):
        keyed = {atomic_number(k): v for k, v in value.items()}
        missing = sorted({symbol(z) for z in numbers} - {symbol(z) for z in keyed})
        if missing:
            raise ValueError(f"{name} given per species is missing {missing}")
        return np.array([keyed[z] for z in numbers], dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(len(numbers), float(arr))
    if arr.shape[0] != len(numbers):
        raise ValueError(f"{name} must be a scalar, per-atom array of length {len(numbers)} or a dict, "
                         f"got shape {arr.shape}")
    if name == "B" and np.any(arr < 0):
        raise ValueError(f"B must be ≥ 0 Å², got min {arr.min():.4g}")
    return arr
