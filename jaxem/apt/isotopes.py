"""Natural isotope patterns of atoms and molecular ions in a mass spectrum.

An ion of composition {El: n, …} and charge q produces peaks at m/q = Σ masses / q [Da] with the
multinomial abundance products of its constituents (natural abundances from
:mod:`jaxem.apt.isotope_table`, NIST SRD 144). Used for peak identification and for isotope-overlap
deconvolution (:mod:`jaxem.apt.ranging`).
"""
from __future__ import annotations

import numpy as np

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
    if symbol not in ISOTOPES:
        raise ValueError(f"element {symbol!r} has no natural isotopes in the table (H–Bi, Th, U)")
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
    composition = dict(composition)
    if int(charge) < 1:
        raise ValueError(f"charge must be ≥ 1, got {charge}")
    if not composition or any(int(n) < 1 for n in composition.values()):
        raise ValueError(f"composition must map elements to counts ≥ 1, got {composition}")
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
