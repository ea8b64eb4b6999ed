"""Natural isotope patterns of atoms and molecular ions in a mass spectrum.

An ion of composition {El: n, …} and charge q produces peaks at m/q = Σ masses / q [Da] with the
multinomial abundance products of its constituents (natural abundances from
:mod:`jaxem.apt.isotope_table`, NIST SRD 144). Used for peak identification and for isotope-overlap
deconvolution (:mod:`jaxem.apt.ranging`).
"""
from __future__ import annotations

import numpy as np

from .. import validate
from .isotope_table import ISOTOPES


def element_isotopes(symbol: str) -> np.ndarray:
    """Natural isotopes of an element.

    Args:
        symbol: element symbol, e.g. ``"Fe"``.

    Returns:
        (k, 3) float64 array of (mass number, mass [Da], abundance [atom fraction]).

    Raises:
        ValueError: unknown element or one without natural isotopes.
    """
    if not isinstance(symbol, str):
        raise validate.InputTypeError(f"element symbol must be a str, got {type(symbol).__name__} {symbol!r}")
    if symbol not in ISOTOPES:
        hint = next((s for s in ISOTOPES if s.lower() == symbol.lower()), None) or validate.closest(symbol, ISOTOPES)
        raise validate.InputError(f"element {symbol!r} has no natural isotopes in the table (H–Bi, Th, U)"
                                  + (f"; did you mean {hint!r}?" if hint else ""))
    return np.array(ISOTOPES[symbol], np.float64)


def atomic_weight(symbol: str) -> float:
    """Abundance-weighted mean atomic mass [Da] of an element."""
    iso = element_isotopes(symbol)
    return float(np.sum(iso[:, 1] * iso[:, 2]))


def isotope_pattern(composition, charge: int = 1, min_abundance: float = 1e-6,
                    merge: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Peak positions and relative abundances of an ion.

    Args:
        composition: element → count mapping (or a single symbol).
        charge: charge state q ≥ 1.
        min_abundance: drop combinations rarer than this (atom fraction).
        merge: combine peaks closer than this [Da] (before dividing by q).

    Returns:
        (mass_to_charge [Da], abundance) arrays, sorted by m/q; abundances sum to ≈ 1.

    Raises:
        ValueError: charge < 1, empty composition or unknown element.
    """
    if isinstance(composition, str):
        composition = {composition: 1}
    try:
        composition = dict(composition)
    except (TypeError, ValueError):
        raise validate.InputTypeError(f"composition must be an element symbol or a mapping element → count, got "
                                      f"{composition!r}") from None
    charge = validate.integer(charge, "charge", lo=1)
    min_abundance = validate.scalar(min_abundance, "min_abundance", lo=0.0, hi=1.0)
    merge = validate.scalar(merge, "merge", "Da", nonnegative=True)
    if not composition:
        raise validate.InputError(f"composition must map elements to counts ≥ 1, got {composition}")
    for el, n in composition.items():
        element_isotopes(el)
        validate.integer(n, f"composition[{el!r}]", lo=1)
    masses, abund = np.zeros(1), np.ones(1)
    for el, n in composition.items():
        iso = element_isotopes(el)
        for _ in range(int(n)):
            m = (masses[:, None] + iso[None, :, 1]).ravel()
            a = (abund[:, None] * iso[None, :, 2]).ravel()
            keep = a >= min_abundance
            m, a = m[keep], a[keep]
            order = np.argsort(m)
            m, a = m[order], a[order]
            groups = np.concatenate([[0], np.cumsum(np.diff(m) > merge)])
            wsum = np.bincount(groups, a)
            masses = np.bincount(groups, a * m) / wsum
            abund = wsum
    return masses / int(charge), abund
