"""Chemical element symbols ↔ atomic numbers (Z = 1…103), with clear errors for unknown ones.

An unknown symbol is rejected naming the argument and the closest element symbol (``'Sl'`` →
did you mean ``'Si'``?); an atomic number must be an integer in 1…103.
"""
from __future__ import annotations

import difflib

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
    """'; did you mean 'Si'?' for the element symbol closest to ``text`` (an element's name, e.g.
    'silicon', or a symbol of the same length; case-insensitive), or ''."""
    word = text.strip().lower()
    try:
        from ase.data import atomic_names

        names = {n.lower(): SYMBOLS[z] for z, n in enumerate(atomic_names) if 0 < z <= MAX_Z}
    except ImportError:  # pragma: no cover - ase is a dependency
        names = {}
    if word in names:
        return f"; did you mean {names[word]!r} ({word})?"
    if not word:
        return ""
    # symbols: same first letter, then same length, then spelling similarity; ties → the lighter element
    score = {s: 2 * (s[0].lower() == word[0]) + (len(s) == len(word))
             + difflib.SequenceMatcher(None, word, s.lower()).ratio() for s in SYMBOLS[1:]}
    best = max(SYMBOLS[1:], key=lambda s: score[s])  # max keeps the first (lightest) of equal scores
    if score[best] >= 2.5:
        return f"; did you mean {best!r}?"
    hint = validate.closest(word, names)
    return f"; did you mean {names[hint]!r} ({hint})?" if hint else ""


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
