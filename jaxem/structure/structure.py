"""The Structure pytree: atoms in a (possibly) periodic cell.

Frame: positions are Cartesian (x, y, z) [Å]; the beam travels along +z; the cell rows are the
lattice vectors a, b, c [Å]. Multislice needs a cell whose c vector is along z and whose a, b
vectors span the x–y plane along x and y (an orthorhombic cell); :meth:`Structure.check_orthorhombic`
says so clearly otherwise (orient with ``jaxem.structure.zone_axis``).

Periodicity: ``pbc`` (static, three booleans along a, b, c, as ASE's ``Atoms.pbc``) says along which
cell vectors the structure repeats. Crystals are periodic in all three (the default). Slicing follows
it (:mod:`jaxem.structure.slicing`): along a periodic axis atoms outside the cell or on its top face
are wrapped; along a non-periodic one they are rejected.

Thermal vibrations: each atom carries its mean-square displacement per Cartesian direction
``u2`` (N, 3) [Å²]; B = 8π²⟨u²⟩ (isotropic B → the same u² in x, y, z).

``z_repeats`` (static) records that the structure is ``z_repeats`` identical copies of a unit stacked
along z (set by :meth:`repeat`); the potential then computes the slices of one unit only.

Validation: every concrete Structure — from :meth:`Structure.create`, the constructor,
:meth:`~Structure.replace`, :meth:`~Structure.with_positions` … — is checked when it is built:
finite positions, cell and ⟨u²⟩ (NaN/inf reported with their count and first index), 0 ≤ ⟨u²⟩ ≤
:data:`MAX_U2`, occupancy in [0, 1], atomic numbers 1…103, a cell of non-zero volume, consistent shapes. Inside
``jit``/``grad`` the leaves are tracers and only shapes are checked.

ASE: :func:`from_ase` is the one converter from ``ase.Atoms`` (``Structure.from_ase`` is the same
function); :func:`as_structure` accepts either at public boundaries.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from .elements import MAX_Z, atomic_number, atomic_numbers, symbol

_EIGHT_PI2 = 8 * math.pi**2
#: largest accepted mean-square displacement ⟨u²⟩ [Å²] (B ≈ 395 Å²): an rms displacement of 2.2 Å per
#: direction is beyond any solid (Lindemann melting at ≈ 0.1–0.2 of the bond length; the most disordered
#: protein loops have B ≈ 150 Å²); larger values are unit slips (pm² for Å²) and would smear atoms away
MAX_U2 = 5.0
#: largest |coordinate| [Å] accepted in single precision: float32 spacing there is 0.0078 Å (an atom is
#: misplaced by ≤ 0.004 Å); beyond, wrap into the cell in float64 first
MAX_POSITION_SINGLE = 65536.0
#: largest number of atoms a structure may be built with (:meth:`Structure.repeat`)
MAX_ATOMS = 50_000_000


def _pbc(value, name: str = "pbc") -> tuple:
    """Three booleans from a bool or a sequence of three."""
    if isinstance(value, (bool, np.bool_)):
        return (bool(value),) * 3
    try:
        vals = tuple(value)
    except TypeError:
        raise validate.InputTypeError(f"{name} must be a bool or three bools (a, b, c), got {value!r}") from None
    if len(vals) != 3 or not all(isinstance(v, (bool, np.bool_)) or v in (0, 1) for v in vals):
        raise validate.InputError(f"{name} must be a bool or three bools (a, b, c), got {value!r}")
    return tuple(bool(v) for v in vals)


def _concrete(x) -> bool:
    """True for a leaf whose values can be inspected now (not a tracer, not a pytree placeholder)."""
    return isinstance(x, (np.ndarray, jax.Array, np.generic)) and not validate.is_traced(x)


def _shape(x):
    """Shape of an array or tracer; None for pytree placeholders (object(), None, ints of in_axes)."""
    return tuple(x.shape) if hasattr(x, "shape") and not isinstance(x, type) else None


@pytree.dataclass
class Structure:
    """Atoms in a cell (a pytree: positions, u2 and occupancy are differentiable leaves).

    Attributes:
        positions: (N, 3) Cartesian positions (x, y, z) [Å].
        numbers: (N,) atomic numbers.
        cell: (3, 3) lattice vectors as rows [Å].
        u2: (N, 3) mean-square displacement per Cartesian direction ⟨u²⟩ [Å²] (B = 8π²⟨u²⟩).
        occupancy: (N,) site occupancy in [0, 1].
        z_repeats: number of identical units stacked along z (static).
        pbc: periodicity along the cell vectors a, b, c (static; default all periodic).
    """

    positions: jnp.ndarray = pytree.field(units="Å")
    numbers: jnp.ndarray
    cell: jnp.ndarray = pytree.field(units="Å")
    u2: jnp.ndarray = pytree.field(units="Å²")
    occupancy: jnp.ndarray
    z_repeats: int = pytree.field(static=True, default=1)
    pbc: tuple = pytree.field(static=True, default=(True, True, True))

    def __post_init__(self):
        object.__setattr__(self, "z_repeats", validate.integer(self.z_repeats, "z_repeats", lo=1))
        object.__setattr__(self, "pbc", _pbc(self.pbc))
        names = ("positions", "numbers", "cell", "u2", "occupancy")
        for name in names:  # user input: lists, scalars
            value = getattr(self, name)
            if isinstance(value, (str, bytes, dict, complex)):
                raise validate.InputTypeError(f"{name} must be an array, got {type(value).__name__} {value!r:.60}")
            if isinstance(value, (list, tuple, int, float)):
                object.__setattr__(self, name, jnp.asarray(value))
        # None leaves are pytree placeholders; beside concrete arrays they are a missing argument
        if any(getattr(self, n) is None for n in names) and any(_concrete(getattr(self, n)) for n in names):
            missing = [n for n in names if getattr(self, n) is None]
            raise validate.InputTypeError(f"{', '.join(missing)} must be an array, got None")
        self._check_shapes()
        leaves = (self.positions, self.numbers, self.cell, self.u2, self.occupancy)
        if all(_concrete(x) for x in leaves) and np.ndim(self.positions) == 2:
            self._check_values()

    def _check_shapes(self):
        """Consistent shapes (also for tracers; leading batch axes allowed)."""
        p, z, c, u, o = (_shape(getattr(self, n)) for n in ("positions", "numbers", "cell", "u2", "occupancy"))
        if p is None:
            return  # a pytree placeholder (e.g. vmap's in_axes): nothing to check
        if len(p) < 2 or p[-1] != 3:
            raise validate.InputError(f"positions must have shape (N, 3) [Å], got {p}")
        n = p[-2]
        for name, shp, tail in (("numbers", z, (n,)), ("u2", u, (n, 3)), ("occupancy", o, (n,)),
                                ("cell", c, (3, 3))):
            if shp is not None and tuple(shp[len(shp) - len(tail):]) != tail:
                want = "(" + ", ".join(map(str, tail)) + ("," if len(tail) == 1 else "") + ")"
                raise validate.InputError(f"{name} must have shape {want} to match positions of shape {p} ({n} "
                                          f"atoms), got {shp}")

    def _check_values(self):
        validate.array(self.positions, "positions", kind="real", units="Å", min_size=0)
        pos = np.asarray(self.positions)
        if pos.size and np.finfo(pos.dtype).eps > 1e-10 and np.abs(pos).max() > MAX_POSITION_SINGLE:
            i = int(np.argmax(np.abs(pos).max(axis=-1)))
            raise validate.InputError(
                f"positions[{i}] = {pos[i].tolist()} Å lies beyond ±{MAX_POSITION_SINGLE:g} Å, where {pos.dtype} "
                f"resolves positions only to {float(np.spacing(np.float32(np.abs(pos).max()))):.2g} Å (the atom would "
                f"be silently misplaced); wrap the atoms into the cell in float64 first (ase Atoms.wrap()) or "
                f"build it inside jaxem.accel.float64_mode() (64-bit mode)")
        nums = np.asarray(self.numbers)
        if nums.dtype.kind not in "iu":
            raise validate.InputTypeError(f"numbers must be integer atomic numbers, got dtype {nums.dtype}")
        bad = (nums < 1) | (nums > MAX_Z)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise validate.InputError(f"numbers[{i}] = {int(nums[i])} is not an atomic number in 1…{MAX_Z}")
        cell = np.asarray(validate.array(self.cell, "cell", kind="real", units="Å"), np.float64)
        if abs(np.linalg.det(cell)) < 1e-9:
            raise validate.InputError(f"cell must have a non-zero volume [Å³], got {cell.tolist()}")
        u2 = np.asarray(validate.array(self.u2, "u2", kind="real", units="Å²", min_size=0))
        if u2.size and u2.min() < 0:
            i = tuple(int(k) for k in np.unravel_index(int(np.argmin(u2)), u2.shape))
            raise validate.InputError(f"u2 (Debye–Waller ⟨u²⟩) must be ≥ 0 Å², got {u2.min():.4g} at index {i} "
                                      f"(B = 8π²⟨u²⟩ = {_EIGHT_PI2 * u2.min():.4g} Å²)")
        if u2.size and u2.max() > MAX_U2:
            i = tuple(int(k) for k in np.unravel_index(int(np.argmax(u2)), u2.shape))
            raise validate.InputError(
                f"u2 (Debye–Waller ⟨u²⟩) must be ≤ {MAX_U2:g} Å² (B ≤ {_EIGHT_PI2 * MAX_U2:.0f} Å²), "
                f"got {u2.max():.4g} Å² at index {i} (B = {_EIGHT_PI2 * u2.max():.4g} Å²): an rms displacement of "
                f"{math.sqrt(u2.max()):.3g} Å per direction is no solid (B in pm² or U in pm² instead of Å²?)")
        occ = np.asarray(validate.array(self.occupancy, "occupancy", kind="real", min_size=0))
        if occ.size and (occ.min() < 0 or occ.max() > 1):
            i = int(np.argmax((occ < 0) | (occ > 1)))
            raise validate.InputError(f"occupancy must lie in [0, 1], got {occ[i]:.6g} at atom {i} "
                                      f"(range [{occ.min():.6g}, {occ.max():.6g}])")

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def create(cls, positions, numbers, cell, B=None, u2=None, U_iso=None, occupancy=None,
               z_repeats: int = 1, pbc=True) -> "Structure":
        """Validated constructor from user data.

        Args:
            positions: (N, 3) Cartesian positions [Å].
            numbers: (N,) atomic numbers or chemical symbols.
            cell: (3,) orthorhombic lengths or (3, 3) lattice vectors as rows [Å].
            B: isotropic Debye–Waller factor [Å²] per atom (scalar, (N,)) or a {symbol: B} dict.
            u2: ⟨u²⟩ per direction [Å²]: scalar, (N,), (N, 3) or {symbol: u2}.
            U_iso: isotropic displacement parameter U_iso = ⟨u²⟩ [Å²] (same forms as ``u2``).
            occupancy: (N,) or scalar in [0, 1] (default 1).
            z_repeats: identical units along z (≥ 1).
            pbc: periodicity along a, b, c (a bool or three; default periodic in all three).
        """
        numbers = atomic_numbers(numbers, "numbers")
        n = len(numbers)
        positions = np.asarray(validate.array(positions, "positions", shape=(n, 3), ndim=2, kind="real", units="Å",
                                              min_size=0), np.float64)
        cell = validate.array(cell, "cell", kind="real", units="Å")
        cell = np.asarray(cell, dtype=np.float64)
        if cell.shape == (3,):
            cell = np.diag(cell)
        if cell.shape != (3, 3):
            raise validate.InputError(f"cell must be (3,) lengths or (3, 3) lattice vectors [Å], got shape {cell.shape}")
        given = [name for name, x in (("B", B), ("u2", u2), ("U_iso", U_iso)) if x is not None]
        if len(given) > 1:
            raise validate.InputError(f"give at most one of B, u2 and U_iso, got {' and '.join(given)}")
        if B is not None:
            u2v = _per_atom(B, numbers, "B", "Å²") / _EIGHT_PI2
        elif u2 is not None or U_iso is not None:
            u2v = _per_atom(u2 if u2 is not None else U_iso, numbers, given[0], "Å²")
        else:
            u2v = np.zeros(n)
        if u2v.ndim == 1:
            u2v = np.repeat(u2v[:, None], 3, axis=1)
        if occupancy is None:
            occ = np.ones(n)
        else:
            occ = np.asarray(validate.array(occupancy, "occupancy", kind="real", min_size=0), np.float64)
            if occ.ndim > 1 or (occ.ndim == 1 and occ.shape != (n,)):
                raise validate.InputError(f"occupancy must be a scalar or have shape ({n},), got {occ.shape}")
            occ = np.broadcast_to(occ, (n,)).copy()
        return cls(jnp.asarray(positions), jnp.asarray(numbers), jnp.asarray(cell), jnp.asarray(u2v),
                   jnp.asarray(occ), z_repeats, _pbc(pbc))

    # ---- properties -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(np.shape(self.numbers)[-1])

    @property
    def B(self):
        """Isotropic-equivalent Debye–Waller factor B = 8π² mean(⟨u²⟩) per atom [Å²]."""
        return _EIGHT_PI2 * jnp.mean(self.u2, axis=-1)

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
            raise validate.InputError(
                "multislice needs an orthorhombic cell with a ∥ x, b ∥ y, c ∥ z (the beam); got cell "
                f"{c.round(4).tolist()}; orient it with jaxem.structure.zone_axis(...) first"
            )

    # ---- transformations ------------------------------------------------------------------------
    def with_positions(self, positions) -> "Structure":
        """The same atoms at ``positions`` (N, 3) [Å] (validated when concrete)."""
        return self.replace(positions=positions)

    def repeat(self, nx: int = 1, ny: int = 1, nz: int = 1) -> "Structure":
        """Supercell of nx × ny × nz copies of the cell (z copies are recorded in ``z_repeats``).

        Each count must be an integer ≥ 1.
        """
        reps = tuple(validate.integer(r, name, lo=1) for r, name in ((nx, "nx"), (ny, "ny"), (nz, "nz")))
        nx, ny, nz = reps
        total = len(self) * nx * ny * nz
        if total > MAX_ATOMS:
            raise validate.InputError(f"repeat({nx}, {ny}, {nz}) of {len(self)} atoms gives {total:.3g} atoms, more "
                                      f"than the limit of {MAX_ATOMS:.3g} (nx, ny, nz too large?)")
        cell = np.asarray(self.cell)
        k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")  # x fastest
        shifts = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float) @ cell
        pos = (np.asarray(self.positions)[None] + shifts[:, None]).reshape(-1, 3)
        m = len(shifts)
        return Structure(
            jnp.asarray(pos),
            jnp.tile(self.numbers, m),
            jnp.asarray(cell * np.array(reps, float)[:, None]),
            jnp.tile(self.u2, (m, 1)),
            jnp.tile(self.occupancy, m),
            self.z_repeats * nz,
            self.pbc,
        )

    def translate(self, shift) -> "Structure":
        """Shift all atoms by ``shift`` (x, y, z) [Å]."""
        shift = validate.array(shift, "shift", shape=(3,), kind="real", units="Å")
        return self.with_positions(self.positions + jnp.asarray(shift, self.positions.dtype))

    def wrap(self) -> "Structure":
        """Map positions into the cell along the periodic axes (fractional coordinates in [0, 1));
        along non-periodic axes (``pbc`` false) positions are kept, as ASE's ``Atoms.wrap`` does."""
        cell = jnp.asarray(self.cell)
        frac = self.positions @ jnp.linalg.inv(cell)
        frac = jnp.where(jnp.asarray(self.pbc), frac % 1.0, frac)
        return self.with_positions(frac @ cell)

    def center(self, axes=(0, 1, 2)) -> "Structure":
        """Translate so the atoms' bounding box is centred in an orthorhombic cell along ``axes``."""
        pos = np.asarray(self.positions)
        shift = np.zeros(3)
        lengths = self.lengths
        for a in axes:
            a = validate.integer(a, "axes", lo=0, hi=2)
            shift[a] = lengths[a] / 2 - (pos[:, a].min() + pos[:, a].max()) / 2
        return self.translate(shift)

    def zone_axis(self, uvw, **kwargs) -> "Structure":
        """Orthorhombic cell with the beam (z) along the lattice direction ``uvw``; see
        :func:`jaxem.structure.zone_axis` for the keyword arguments."""
        from .orientation import zone_axis

        return zone_axis(self, uvw, **kwargs)

    # ---- interop --------------------------------------------------------------------------------
    @classmethod
    def from_ase(cls, atoms, B=None, U_iso=None, u2=None, occupancy=None) -> "Structure":
        """From an ``ase.Atoms``: the same function as :func:`jaxem.structure.from_ase`."""
        return from_ase(atoms, B=B, U_iso=U_iso, u2=u2, occupancy=occupancy)

    def to_ase(self):
        """To an ``ase.Atoms`` with this ``pbc``; ⟨u²⟩ goes to the ``u2`` array [Å²], occupancy to the
        ``occupancy`` array (both read back by :func:`from_ase`)."""
        from ase import Atoms

        atoms = Atoms(numbers=np.asarray(self.numbers), positions=np.asarray(self.positions),
                      cell=np.asarray(self.cell), pbc=self.pbc)
        atoms.set_array("u2", np.asarray(self.u2))
        atoms.set_array("occupancy", np.asarray(self.occupancy))
        return atoms


def _per_atom(value, numbers, name, units):
    """Per-atom float64 values (N,) or (N, 3) from a scalar, an array or a {symbol: value} dict."""
    if isinstance(value, dict):
        keyed = {atomic_number(k, f"{name} key"): v for k, v in value.items()}
        missing = sorted({symbol(z) for z in numbers} - {symbol(z) for z in keyed})
        if missing:
            raise validate.InputError(f"{name} given per species is missing {missing} [{units}]")
        extra = sorted({symbol(z) for z in keyed} - {symbol(z) for z in numbers})
        if extra:  # would be silently ignored (a typo'd or misremembered species)
            raise validate.InputError(f"{name} given per species names {extra}, which the structure does not "
                                      f"contain (it has {sorted({symbol(z) for z in numbers})}) [{units}]")
        rows = [np.asarray(validate.array(keyed[z], f"{name}[{symbol(z)!r}]", kind="real", units=units),
                           np.float64) for z in numbers]
        try:
            arr = np.array(rows, dtype=np.float64)
        except ValueError:
            raise validate.InputError(f"{name} per species must all be scalars or all (3,) [{units}]") from None
    else:
        arr = np.asarray(validate.array(value, name, kind="real", units=units, min_size=0), np.float64)
        if arr.ndim == 0:
            arr = np.full(len(numbers), float(arr))
    if arr.ndim not in (1, 2) or arr.shape[0] != len(numbers) or (arr.ndim == 2 and arr.shape[1] != 3):
        raise validate.InputError(f"{name} must be a scalar, a per-atom array of length {len(numbers)} (or "
                                  f"({len(numbers)}, 3)) or a {{symbol: value}} dict [{units}], got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise validate.InputError(f"{name} must be ≥ 0 {units}, got min {arr.min():.4g}")
    return arr


# ---- ASE ----------------------------------------------------------------------------------------
def _is_ase_atoms(obj) -> bool:
    return type(obj).__module__.startswith("ase.") and hasattr(obj, "get_positions") and hasattr(obj, "arrays")


def as_structure(obj, name: str = "structure") -> Structure:
    """``obj`` as a :class:`Structure`: a Structure unchanged, an ``ase.Atoms`` through :func:`from_ase`."""
    if isinstance(obj, Structure):
        return obj
    if _is_ase_atoms(obj):
        return from_ase(obj)
    raise validate.InputTypeError(f"{name} must be a jaxem Structure or an ase.Atoms, got {type(obj).__name__}")


def _float_column(values, name, n, default):
    """An ASE per-atom array as float64 (None entries → ``default``)."""
    arr = np.asarray(values, dtype=object).reshape(len(values), -1) if len(values) else np.zeros((0, 1))
    if arr.shape[0] != n:
        raise validate.InputError(f"atoms.arrays[{name!r}] has {arr.shape[0]} rows for {n} atoms")
    out = np.where(arr == None, default, arr)  # noqa: E711 - elementwise comparison with None
    try:
        out = out.astype(np.float64)
    except (TypeError, ValueError):
        raise validate.InputError(f"atoms.arrays[{name!r}] must hold numbers, got {values[:3]!r}…") from None
    return out[:, 0] if out.shape[1] == 1 else out


def from_ase(atoms, B=None, U_iso=None, u2=None, occupancy=None) -> Structure:
    """:class:`Structure` from an ``ase.Atoms`` (positions, numbers, cell, ``pbc``), keeping the
    Debye–Waller factors and occupancies that ASE's readers and jaxem store on the atoms.

    Debye–Waller factors, the first found of (explicit ``B``/``U_iso``/``u2`` arguments override all):

    - ``atoms.arrays["u2"]``: ⟨u²⟩ [Å²] per atom, (N,) or (N, 3) per Cartesian direction (written by
      :meth:`Structure.to_ase`);
    - ``atoms.arrays["U_iso"]``: isotropic U [Å²] per atom;
    - ``atoms.arrays["bfactor"]`` (ASE's PDB reader) or ``atoms.arrays["B"]``: B [Å²] per atom;
    - ``atoms.info["u2"]``, ``atoms.info["U_iso"]`` or ``atoms.info["B"]`` [Å²]: a scalar or a
      {symbol: value} dict.

    Occupancy (explicit ``occupancy`` overrides): ``atoms.arrays["occupancy"]`` (ASE's PDB reader,
    :meth:`Structure.to_ase`), else ASE's CIF convention ``atoms.info["occupancy"]`` =
    {site kind: {symbol: occupancy}} with ``atoms.arrays["spacegroup_kinds"]`` (or the tags) naming
    each atom's site. On a site shared by several species ASE keeps one atom; the others are added at
    the same position with their own occupancy (and the same ⟨u²⟩), as :func:`read_cif` does.
    Missing values: ⟨u²⟩ = 0, occupancy 1.
    """
    if not _is_ase_atoms(atoms):
        raise validate.InputTypeError(f"atoms must be an ase.Atoms, got {type(atoms).__name__}")
    arrays, info = atoms.arrays, atoms.info
    n = len(atoms)
    positions = np.asarray(atoms.get_positions(), np.float64)
    numbers = np.asarray(atoms.get_atomic_numbers(), np.int64)
    cell = np.asarray(atoms.get_cell(), np.float64)
    if abs(np.linalg.det(cell)) < 1e-9:
        raise validate.InputError(f"atoms: the cell must have a non-zero volume for a potential [Å³], got "
                                  f"{cell.round(4).tolist()}; set one with atoms.set_cell(...) or atoms.center(vacuum=...)")
    dw = {}
    if B is None and U_iso is None and u2 is None:
        for key, kind in (("u2", "u2"), ("U_iso", "U_iso"), ("bfactor", "B"), ("B", "B")):
            if key in arrays:
                dw = {kind: _float_column(arrays[key], key, n, 0.0)}
                break
        else:
            for key in ("u2", "U_iso", "B"):
                if key in info:
                    dw = {key: info[key]}
                    break
    else:
        dw = {"B": B, "U_iso": U_iso, "u2": u2}
    extra_pos, extra_num, extra_src, occ = [], [], [], None
    if occupancy is not None:
        occ = occupancy
    elif "occupancy" in arrays:
        occ = _float_column(arrays["occupancy"], "occupancy", n, 1.0)
    elif isinstance(info.get("occupancy"), dict):
        occ_info = info["occupancy"]
        if "spacegroup_kinds" in arrays:
            kinds = arrays["spacegroup_kinds"]
        else:  # ASE's reader for cells without symmetry keys the dict by atom index (or by tag)
            tags = atoms.get_tags()
            kinds = tags if np.any(tags) else np.arange(n)
        occ = np.ones(n)
        for i, (kind, z) in enumerate(zip(kinds, numbers)):
            site = occ_info.get(str(kind), occ_info.get(kind))
            if site is None:
                continue
            by_z = {atomic_number(s, "atoms.info['occupancy'] symbol"): float(v) for s, v in site.items()}
            occ[i] = by_z.get(int(z), 1.0)
            for z2, v in by_z.items():
                if z2 != int(z):
                    extra_pos.append(positions[i])
                    extra_num.append(z2)
                    extra_src.append(i)
                    occ = np.append(occ, v)
    if extra_num:
        positions = np.concatenate([positions, np.array(extra_pos)])
        numbers = np.concatenate([numbers, np.array(extra_num)])
        src = np.concatenate([np.arange(n), np.array(extra_src)])
        for key, value in list(dw.items()):
            if isinstance(value, np.ndarray) and value.shape[:1] == (n,):
                dw[key] = value[src]
    return Structure.create(positions, numbers, cell, occupancy=occ, pbc=tuple(bool(p) for p in atoms.pbc),
                            **{k: v for k, v in dw.items() if v is not None})


__all__ = ["Structure", "from_ase", "as_structure"]
