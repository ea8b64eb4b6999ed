"""Chemical element symbols ↔ atomic numbers (Z = 1…103), with clear errors for unknown ones.

An unknown symbol is rejected naming the argument and the closest element symbol (``'Sl'`` →
did you mean ``'Si'``?); an atomic number must be an integer in 1…103.
"""
from __future__ import annotations

import numpy as np

from .. import validate

SYMBOLS = (
    "X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr "
    "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb "
    "Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr"
).split()
_Z = {s: i for i, s in enumerate(SYMBOLS) if i > 0}
MAX_Z = len(SYMBOLS) - 1


def _suggest(text: str) -> str:
    """' (did you mean 'Si'?)' for the element symbol closest to ``text`` (case-insensitive), or ''."""
    folded = {s.lower(): s for s in SYMBOLS[1:]}
    hint = validate.closest(text.strip().lower(), folded)
    return f"; did you mean {folded[hint]!r}?" if hint else ""


def atomic_number(element, name: str = "element") -> int:
    """Atomic number of ``element`` (symbol such as 'Sr', any case, or an integer 1…103).

    ``name`` is the argument named in error messages.
    """
    if isinstance(element, (str, np.str_)):
        z = _Z.get(str(element).strip().capitalize())
        if z is None:
            raise validate.InputError(f"{name}: unknown element {str(element)!r}{_suggest(str(element))} "
                                      f"(expected a chemical symbol such as 'Si' or an atomic number 1…{MAX_Z})")
        return z
    if isinstance(element, (bool, np.bool_)):
        raise validate.InputTypeError(f"{name} must be a chemical symbol or an atomic number, got {element!r}")
    try:
        z = int(element)
    except (TypeError, ValueError):
        raise validate.InputTypeError(f"{name} must be a chemical symbol or an atomic number, got "
                                      f"{type(element).__name__} {element!r}") from None
    if z != element or not 1 <= z <= MAX_Z:
        raise validate.InputError(f"{name}: atomic number must be an integer in 1…{MAX_Z}, got {element!r}")
    return z


def atomic_numbers(elements, name: str = "numbers") -> np.ndarray:
    """(N,) int32 atomic numbers of a sequence of symbols and/or atomic numbers (errors name the
    first bad entry as ``name[i]``)."""
    flat = np.atleast_1d(np.asarray(elements, dtype=object))
    if flat.ndim != 1:
        raise validate.InputError(f"{name} must be a 1-D sequence of symbols or atomic numbers, got shape "
                                  f"{flat.shape}")
    return np.asarray([atomic_number(z, f"{name}[{i}]") for i, z in enumerate(flat)], dtype=np.int32).reshape(-1)


def symbol(z: int) -> str:
    """Chemical symbol of atomic number ``z``."""
    return SYMBOLS[atomic_number(z, "z")]
