"""Built-in crystals: conventional cells with published lattice parameters and Debye–Waller factors.

The data live in ``jaxem/data/crystals.json``; every lattice parameter, internal coordinate and
Debye–Waller factor there carries its source and how it was checked (``status``: verified,
secondary, derived or unverified). :func:`crystal_info` returns that record.

A builder returns the *conventional* cell as a :class:`~jaxem.structure.Structure`: cubic and
tetragonal cells are already orthorhombic (a ∥ x, b ∥ y, c ∥ z); hexagonal cells (ZnO, 4H-SiC) have
a1 = (a, 0, 0), a2 = (−a/2, a√3/2, 0), c ∥ z and need :func:`jaxem.structure.zone_axis` before a
multislice simulation::

    from jaxem.structure import crystals, zone_axis
    sto = zone_axis(crystals.SrTiO3(), [0, 0, 1]).repeat(8, 8, 26)
    zno = zone_axis(crystals.ZnO(), [1, 1, 0])        # [11-20] in four-index notation

Debye–Waller factors: each builder uses the tabulated room-temperature B [Å²] per species
(⟨u²⟩ = B/8π² per Cartesian direction) unless ``B``, ``U_iso`` or ``u2`` is given.
"""
from __future__ import annotations

import ast
import functools
import json
import math
from fractions import Fraction
from importlib import resources

import numpy as np

from .. import validate
from .structure import Structure

_F_CENTERING = ((0.0, 0.0, 0.0), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0))


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    text = (resources.files("jaxem") / "data" / "crystals.json").read_text(encoding="utf-8")
    return json.loads(text)["crystals"]


def list_crystals() -> list[str]:
    """Names of the built-in crystals (keys accepted by :func:`crystal`)."""
    return sorted(_table())


def _lookup(name: str) -> dict:
    if not isinstance(name, str):
        raise validate.InputTypeError(f"name (crystal) must be a string, got {type(name).__name__}")
    table = _table()
    folded = {k.lower().replace("-", "").replace("_", ""): k for k in table}
    key = folded.get(name.lower().replace("-", "").replace("_", ""))
    if key is None:
        hint = validate.closest(name, list_crystals())
        raise validate.InputError(f"name: unknown crystal {name!r}; expected one of {list_crystals()}"
                                  + (f" (did you mean {hint!r}?)" if hint else ""))
    return table[key]


def crystal_info(name: str) -> dict:
    """The data-file record of crystal ``name`` (lattice [Å], sites, B [Å²], sources, status)."""
    return json.loads(json.dumps(_lookup(name)))  # deep copy


def _eval_coordinate(expr, params: dict) -> float:
    """A fractional coordinate: a number, a fraction '1/3', or a sum with named parameters."""
    if isinstance(expr, (int, float)):
        return float(expr)

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(node.value).limit_denominator(10**9) if isinstance(node.value, float) \
                else Fraction(node.value)
        if isinstance(node, ast.Name):
            if node.id not in params:
                raise ValueError(f"unknown parameter {node.id!r} in coordinate {expr!r}")
            return float(params[node.id])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Div, ast.Mult)):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            return a / b
        raise ValueError(f"unsupported coordinate expression {expr!r}")

    return float(ev(ast.parse(str(expr), mode="eval")))


def lattice_vectors(lattice: dict) -> np.ndarray:
    """(3, 3) lattice vectors as rows [Å] for a ``{"system", "a", "c"}`` record (see module doc)."""
    if not isinstance(lattice, dict) or "system" not in lattice or "a" not in lattice:
        raise validate.InputError(f"lattice must be a {{'system', 'a' [Å], 'c' [Å]}} record, got {lattice!r}")
    system = lattice["system"]
    a = validate.scalar(lattice["a"], "lattice['a']", "Å", positive=True)
    if system not in ("cubic", "tetragonal", "hexagonal"):
        raise validate.InputError(f"lattice['system'] must be 'cubic', 'tetragonal' or 'hexagonal', got {system!r}")
    if system == "cubic":
        return np.diag([a, a, a])
    if "c" not in lattice:
        raise validate.InputError(f"lattice['c'] [Å] is needed for a {system} lattice, got {lattice!r}")
    c = validate.scalar(lattice["c"], "lattice['c']", "Å", positive=True)
    if system == "tetragonal":
        return np.diag([a, a, c])
    return np.array([[a, 0.0, 0.0], [-a / 2, a * math.sqrt(3) / 2, 0.0], [0.0, 0.0, c]])  # hexagonal


def crystal(name: str, B=None, U_iso=None, u2=None, occupancy=None, **params) -> Structure:
    """Conventional cell of built-in crystal ``name`` (see :func:`list_crystals`).

    Args:
        name: e.g. ``"Si"``, ``"diamond"``, ``"SrTiO3"``, ``"ZnO"``, ``"SiC-3C"``, ``"SiC-4H"``,
            ``"Ni"``, ``"BaTiO3"`` (case, '-' and '_' are ignored).
        B: Debye–Waller factor [Å²] overriding the table (scalar, per-atom array or {symbol: B}).
        U_iso: isotropic displacement parameter [Å²] overriding the table (same forms as ``B``).
        u2: ⟨u²⟩ per Cartesian direction [Å²] overriding the table (scalar, (N,), (N, 3) or dict).
        occupancy: site occupancy in [0, 1] (scalar or per atom), default 1.
        **params: overrides of the internal coordinates of the record (e.g. ``u=0.38`` for ZnO,
            ``dz_Ti=-0.02`` for BaTiO3) [fractions of the cell].

    Returns:
        The conventional cell as a :class:`Structure` (positions [Å], cell rows [Å]).
    """
    rec = _lookup(name)
    known = dict(rec.get("params", {}))
    unknown = sorted(set(params) - set(known))
    if unknown:
        hint = validate.closest(unknown[0], known)
        raise validate.InputError(f"crystal {name!r} has no parameter(s) {unknown}; known: {sorted(known)}"
                                  + (f" (did you mean {hint!r}?)" if hint else ""))
    for key, value in params.items():
        params[key] = validate.scalar(value, key)
    known.update(params)
    cell = lattice_vectors(rec["lattice"])
    shifts = _F_CENTERING if rec.get("centering", "P") == "F" else _F_CENTERING[:1]
    symbols, frac = [], []
    for shift in shifts:
        for site in rec["sites"]:
            f = np.array([_eval_coordinate(x, known) for x in site["frac"]]) + np.array(shift)
            symbols.append(site["element"])
            frac.append(f % 1.0)
    frac = np.array(frac)
    frac[np.isclose(frac, 1.0, atol=1e-12)] = 0.0
    given = [x is not None for x in (B, U_iso, u2)]
    if sum(given) > 1:
        raise validate.InputError("give at most one of B, U_iso and u2")
    if not any(given):
        B = dict(rec["B"])
    return Structure.create(frac @ cell, symbols, cell, B=B, U_iso=U_iso, u2=u2, occupancy=occupancy)


def Si(**kwargs) -> Structure:
    """Silicon, diamond cubic (8 atoms, a = 5.431 Å, B = 0.488 Å² at 295 K)."""
    return crystal("Si", **kwargs)


def diamond(**kwargs) -> Structure:
    """Diamond (C), diamond cubic (8 atoms, a = 3.567 Å, B = 0.143 Å² at 295 K)."""
    return crystal("diamond", **kwargs)


def Ni(**kwargs) -> Structure:
    """Nickel, fcc (4 atoms, a = 3.524 Å, B = 0.36 Å² at 295 K)."""
    return crystal("Ni", **kwargs)


def SrTiO3(**kwargs) -> Structure:
    """Strontium titanate, cubic perovskite (5 atoms, a = 3.905 Å)."""
    return crystal("SrTiO3", **kwargs)


def ZnO(**kwargs) -> Structure:
    """Zinc oxide, wurtzite (4 atoms, hexagonal a = 3.250 Å, c = 5.207 Å, u = 0.382)."""
    return crystal("ZnO", **kwargs)


def SiC_3C(**kwargs) -> Structure:
    """3C-SiC, zinc blende (8 atoms, a = 4.360 Å)."""
    return crystal("SiC-3C", **kwargs)


def SiC_4H(**kwargs) -> Structure:
    """4H-SiC (8 atoms, hexagonal a = 3.080 Å, c = 10.081 Å, ideal ABCB stacking)."""
    return crystal("SiC-4H", **kwargs)


def BaTiO3(**kwargs) -> Structure:
    """Barium titanate, tetragonal P4mm (5 atoms, a = 3.9998 Å, c = 4.0180 Å, polar Ti/O shifts)."""
    return crystal("BaTiO3", **kwargs)


__all__ = ["crystal", "crystal_info", "list_crystals", "lattice_vectors", "Si", "diamond", "Ni",
           "SrTiO3", "ZnO", "SiC_3C", "SiC_4H", "BaTiO3"]
