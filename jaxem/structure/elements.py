"""Chemical element symbols ↔ atomic numbers (Z = 1…103), with clear errors for unknown ones."""
from __future__ import annotations

SYMBOLS = (
    "X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr "
    "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb "
    "Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr"
).split()
_Z = {s: i for i, s in enumerate(SYMBOLS) if i > 0}
MAX_Z = len(SYMBOLS) - 1


def atomic_number(element) -> int:
    """Atomic number of ``element`` (symbol such as 'Sr' or an integer 1…103)."""
    if isinstance(element, str):
        z = _Z.get(element.strip().capitalize())
        if z is None:
            raise ValueError(f"unknown element {element!r}; expected a chemical symbol such as 'Si'")
        return z
    try:
        z = int(element)
    except (TypeError, ValueError):
        raise TypeError(f"element must be a symbol or an atomic number, got {element!r}") from None
    if z != element or not 1 <= z <= MAX_Z:
        raise ValueError(f"atomic number must be an integer in 1…{MAX_Z}, got {element!r}")
    return z


def symbol(z: int) -> str:
    """Chemical symbol of atomic number ``z``."""
    return SYMBOLS[atomic_number(z)]
