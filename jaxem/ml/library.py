"""Structure library for the FFT database: crystals that ship inside installed packages, plus the
user's own CIFs, and their symmetry-reduced zone axes.

Sources (nothing is downloaded, no third-party CIF is vendored):

* ``ncrystal:<name>`` — NCrystal's standard library (``NCrystal.browseFiles(factory='stdlib')``,
  Apache-2.0): ~115 crystalline materials (gases, liquids and polymers are skipped) with space group,
  cell, Wyckoff-expanded positions and each atom's mean-square displacement ⟨u²⟩ [Å²] at the file's
  temperature (from its Debye temperature or VDOS), which becomes the Debye–Waller factor
  B = 8π²⟨u²⟩ of the kinematic structure factors.
* ``ase:<symbol>`` — ASE's ``ase.build.bulk`` reference state of an element (⟨u²⟩ = 0.005 Å²).
* ``cif:<path>`` (or a bare path ending in ``.cif``) — read by :func:`jaxem.structure.read_cif`.

Zone axes: direct-lattice directions [uvw] (in the basis of the conventional cell rows) with
|u|+|v|+|w| ≤ ``max_sum``, reduced by the crystal's point group (spglib rotations W act on
directions as W·[uvw]) and by inversion, because the FFT of an HRTEM image along −[uvw] is the
mirror of that along [uvw] and the indexer allows a mirror. The representative of each class is the
one with the most non-negative, then lexicographically largest, components.
"""
from __future__ import annotations

import functools
import itertools
import math
from pathlib import Path

import numpy as np

from .. import validate
from ..structure import Structure, from_ase, read_cif

DEFAULT_U2 = 0.005  # ⟨u²⟩ [Å²] for sources without Debye–Waller data (B ≈ 0.39 Å²)
MAX_ATOMS = 200  # larger conventional cells are skipped by ``list_structures`` (simulation cost)


@functools.lru_cache(maxsize=1)
def _ncrystal_names() -> tuple:
    import NCrystal

    names = []
    for f in NCrystal.browseFiles(factory="stdlib"):
        name = f.name
        if name.endswith(".ncmat") and "_sg" in name:  # crystalline materials carry their space group
            names.append(name[: -len(".ncmat")])
    return tuple(sorted(names))


def list_structures(source: str = "ncrystal", max_atoms: int = MAX_ATOMS) -> list[str]:
    """Structure ids available without downloads: ``ncrystal:<name>`` (default) or ``ase:<element>``.

    ``max_atoms`` drops conventional cells with more atoms than this (ncrystal only)."""
    source = validate.choice(source, "source", ("ncrystal", "ase"))
    max_atoms = validate.integer(max_atoms, "max_atoms", lo=1)
    if source == "ase":
        from ase.data import reference_states

        from ..structure.elements import symbol

        out = []
        for z, ref in enumerate(reference_states):
            if ref and ref.get("symmetry") in ("fcc", "bcc", "hcp", "diamond", "sc", "rocksalt", "zincblende"):
                out.append(f"ase:{symbol(z)}")
        return out
    out = []
    for name in _ncrystal_names():
        if _ncrystal_info(name)["n_atoms"] <= max_atoms:
            out.append(f"ncrystal:{name}")
    return out


@functools.lru_cache(maxsize=None)
def _ncrystal_info(name: str) -> dict:
    import NCrystal

    try:
        info = NCrystal.createInfo(f"stdlib::{name}.ncmat")
    except Exception as exc:  # NCrystal raises its own error classes
        raise validate.InputError(f"structure 'ncrystal:{name}' is not in NCrystal's stdlib ({exc})") from None
    si = info.structure_info
    if not si:
        raise validate.InputError(f"structure 'ncrystal:{name}' is not crystalline (no structure info)")
    numbers, frac, u2 = [], [], []
    for a in info.atominfos:
        msd = a.msd if a.msd is not None else DEFAULT_U2
        for p in a.positions:
            numbers.append(a.atomData.Z())
            frac.append(p)
            u2.append(msd)
    return {"cellpar": (si["a"], si["b"], si["c"], si["alpha"], si["beta"], si["gamma"]),
            "spacegroup": int(si["spacegroup"]), "numbers": numbers, "frac": frac, "u2": u2,
            "n_atoms": len(numbers), "temperature": float(info.getTemperature())}


def _from_frac(cellpar, numbers, frac, u2) -> Structure:
    import ase
    from ase.geometry import cellpar_to_cell

    atoms = ase.Atoms(numbers=numbers, scaled_positions=np.mod(np.asarray(frac, float), 1.0),
                      cell=cellpar_to_cell(cellpar), pbc=True)
    return from_ase(atoms, U_iso=np.asarray(u2, float))


def get_structure(structure_id: str) -> Structure:
    """The :class:`~jaxem.structure.Structure` (conventional cell, ⟨u²⟩ [Å²]) of a library id.

    Raises ``InputError`` naming ``structure_id`` for unknown sources or names; CIFs with unknown
    elements fail in :func:`~jaxem.structure.read_cif` with the element named."""
    if not isinstance(structure_id, str) or not structure_id:
        raise validate.InputTypeError(f"structure_id must be a string like 'ncrystal:Si_sg227', got {structure_id!r}")
    source, _, name = structure_id.partition(":")
    if not name and structure_id.lower().endswith(".cif"):
        source, name = "cif", structure_id
    if source == "ncrystal":
        d = _ncrystal_info(name)
        return _from_frac(d["cellpar"], d["numbers"], d["frac"], d["u2"])
    if source == "ase":
        from ase.build import bulk

        try:
            atoms = bulk(name, cubic=False)
        except Exception as exc:
            raise validate.InputError(f"structure_id {structure_id!r}: ASE has no bulk reference state ({exc})") from None
        return from_ase(atoms, U_iso=np.full(len(atoms), DEFAULT_U2))
    if source == "cif":
        path = validate.path(name, "structure_id (CIF path)", must_exist=True)
        s = read_cif(path)
        if float(np.max(np.asarray(s.u2))) == 0.0:
            s = s.replace(u2=np.full(np.shape(s.u2), DEFAULT_U2))
        return s
    raise validate.InputError(f"structure_id {structure_id!r} must start with 'ncrystal:', 'ase:' or 'cif:'")


def spacegroup(structure: Structure, symprec: float = 1e-3) -> tuple[int, np.ndarray]:
    """(international number, rotations (n, 3, 3) acting on fractional coordinates) from spglib."""
    import spglib

    cell = (np.asarray(structure.cell, float), np.asarray(structure.positions, float) @
            np.linalg.inv(np.asarray(structure.cell, float)), np.asarray(structure.numbers, int))
    ds = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if ds is None:
        return 1, np.eye(3, dtype=int)[None]
    return int(ds.number), np.asarray(ds.rotations, int)


def split(structure_ids, held_out_every: int = 4) -> tuple[list, list]:
    """Deterministic (training, held-out) split of structure ids: an id is held out when
    crc32(id) mod ``held_out_every`` is 0 (stable across runs and machines; never seen in training)."""
    import zlib

    ids = validate.strings(structure_ids, "structure_ids", min_len=0)
    held_out_every = validate.integer(held_out_every, "held_out_every", lo=1)
    held = [i for i in ids if zlib.crc32(i.encode()) % held_out_every == 0]
    return [i for i in ids if i not in held], held


def _key(v) -> tuple:
    return (int(np.sum(np.asarray(v) >= 0)), tuple(int(x) for x in v))


def zone_axes(structure: Structure, max_sum: int = 7, symprec: float = 1e-3) -> list[tuple]:
    """Symmetry-distinct zone axes [uvw] with |u|+|v|+|w| ≤ ``max_sum`` (gcd-reduced), sorted by
    |u|+|v|+|w| then by representative; [uvw] ≡ W·[uvw] for every point-group rotation W and ≡ −[uvw]."""
    validate.instance(structure, "structure", Structure, "a jaxem Structure")
    max_sum = validate.integer(max_sum, "max_sum", lo=1, hi=20)
    _, rots = spacegroup(structure, symprec)
    rots = np.concatenate([rots, -rots])
    seen, out = set(), []
    r = range(-max_sum, max_sum + 1)
    cands = [v for v in itertools.product(r, r, r) if 0 < sum(map(abs, v)) <= max_sum
             and math.gcd(*map(abs, v)) == 1]
    cands.sort(key=lambda v: (sum(map(abs, v)), tuple(-x for x in _key(v)[1])))
    for v in cands:
        if v in seen:
            continue
        orbit = {tuple(int(x) for x in (w @ np.asarray(v))) for w in rots}
        seen |= orbit
        out.append(max(orbit, key=_key))
    out.sort(key=lambda v: (sum(map(abs, v)), tuple(-x for x in v)))
    return out

