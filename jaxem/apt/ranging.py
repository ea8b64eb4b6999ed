"""Ranging, peak identification, isotope-overlap deconvolution and composition with errors.

* :func:`auto_ranges`: peaks of a background-subtracted histogram whose Poisson significance exceeds
  a threshold; each range extends from the peak maximum outwards until the net signal falls below
  ``edge_fraction`` of the peak height (or meets the next peak's range).
* :func:`identify_peaks`: nearest natural-isotope line (:func:`jaxem.apt.isotopes.isotope_pattern`)
  of candidate ions and charge states within a tolerance.
* :func:`deconvolve_overlaps`: N_j = Σ_s A_js·n_s, where A_js is the fraction of species s (an ion
  composition at a charge state) whose isotope pattern falls into range j; solved for n ≥ 0 by
  Poisson-weighted non-negative least squares, with standard errors from the weighted normal matrix.
* :func:`composition`: c_X = N_X / Σ N with the binomial standard error σ = √(c(1 − c)/N).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls
from scipy.signal import find_peaks

from .. import validate
from .isotopes import isotope_pattern
from .rangefile import RangeTable, ion_name


def _table(table) -> RangeTable:
    if not isinstance(table, RangeTable):
        raise validate.InputTypeError(f"table must be a RangeTable (e.g. from read_rrng), got {type(table).__name__}")
    return table


def _species(species) -> list:
    if isinstance(species, (str, dict)) or not len(species):
        raise validate.InputError(f"species must be a non-empty list of (composition, charge), got {species!r}")
    out = []
    for k, sp in enumerate(species):
        try:
            comp, q = sp
        except (TypeError, ValueError):
            raise validate.InputError(f"species[{k}] must be (composition dict or symbol, charge), got {sp!r}") from None
        isotope_pattern(comp, q)  # checks the elements (closest suggested) and the charge
        out.append((comp, q))
    return out


@validate.typed
def range_counts(mass, table: RangeTable, background=None, bin_width: float | None = None):
    """Counts per range, optionally background-corrected.

    Args:
        mass: m/q of all events [Da].
        table: :class:`RangeTable`.
        background: B(m) [counts per bin] from :func:`jaxem.apt.spectrum.fit_background`.
        bin_width: bin width [Da] of the histogram B was fitted to (needed with ``background``).

    Returns:
        (gross counts, net counts, background counts) per range, float64 arrays.
    """
    _table(table)
    validate.array(mass, "mass", kind="real", units="Da", min_size=0)
    m = np.sort(np.asarray(mass, np.float64).ravel())
    gross = (np.searchsorted(m, table.hi, "left") - np.searchsorted(m, table.lo, "left")).astype(np.float64)
    bg = np.zeros_like(gross)
    if background is not None:
        if bin_width is None:
            raise validate.InputError("bin_width [Da] of the histogram the background was fitted to is required "
                                      "with a background")
        bin_width = validate.scalar(bin_width, "bin_width", "Da", positive=True)
        for j, (lo, hi) in enumerate(zip(table.lo, table.hi)):
            x = np.linspace(lo, hi, 65)
            bg[j] = np.trapezoid(background(x), x) / bin_width
    return gross, gross - bg, bg


def auto_ranges(centres, counts, background=None, significance: float = 5.0,
                edge_fraction: float = 0.01, min_width: float = 0.02, smooth: int = 3):
    """Automatic ranges around significant peaks.

    Args:
        centres: histogram bin centres [Da] (uniform bins).
        counts: counts per bin.
        background: B(m) [counts per bin] or None (zero background).
        significance: minimum (peak − B)/√B in Poisson σ (with B ≥ 1).
        edge_fraction: range edge where the net signal drops below this fraction of the peak.
        min_width: minimum total range width [Da].
        smooth: boxcar length [bins] applied before peak search.

    Returns:
        (lo, hi, peak position) arrays [Da], sorted and non-overlapping.
    """
    validate.array(centres, "centres", ndim=1, kind="real", units="Da", min_size=2)
    c = np.asarray(centres, np.float64)
    validate.array(counts, "counts", shape=c.shape, kind="real", nonnegative=True)
    n = np.asarray(counts, np.float64)
    dc = np.diff(c)
    if not np.allclose(dc, dc[0], rtol=1e-6, atol=0) or dc[0] <= 0:
        raise validate.InputError("centres must be uniformly spaced and increasing [Da] (a histogram's bin centres)")
    significance = validate.scalar(significance, "significance", "σ", positive=True)
    edge_fraction = validate.scalar(edge_fraction, "edge_fraction", lo=0.0, hi=1.0, hi_open=True)
    min_width = validate.scalar(min_width, "min_width", "Da", nonnegative=True)
    smooth = validate.integer(smooth, "smooth", lo=1)
    b = np.zeros_like(n) if background is None else np.asarray(background(c), np.float64)
    if b.shape != n.shape or not np.all(np.isfinite(b)) or np.any(b < 0):
        raise validate.InputError("background(centres) must give finite counts ≥ 0, one per bin")
    k = smooth
    ns = np.convolve(n, np.ones(k) / k, mode="same")
    net = ns - b
    sig = net / np.sqrt(np.maximum(b, 1.0))
    # zero-padded so that a peak in the first or last bin counts (find_peaks never reports an end point:
    # all events in one bin, or the heaviest peak in the last bin of mass_spectrum's default range, was lost)
    padded = np.pad(np.where(sig > significance, net, 0.0), 1)
    peaks, _ = find_peaks(padded, prominence=significance * np.sqrt(np.maximum(b.max(), 1)))
    peaks = peaks - 1
    dx = c[1] - c[0] if c.size > 1 else 1.0
    lo, hi = [], []
    for p in peaks:
        thr = edge_fraction * net[p]
        left = p
        while left > 0 and net[left - 1] > thr and net[left - 1] <= net[left] * 1.5:
            left -= 1
        right = p
        while right < n.size - 1 and net[right + 1] > thr and net[right + 1] <= net[right] * 1.5:
            right += 1
        a, z = c[left] - dx / 2, c[right] + dx / 2
        if z - a < min_width:
            a, z = c[p] - min_width / 2, c[p] + min_width / 2
        lo.append(a), hi.append(z)
    lo, hi, pk = np.array(lo), np.array(hi), c[peaks]
    for i in range(len(lo) - 1):  # split overlaps at the midpoint between the peaks' edges
        if hi[i] > lo[i + 1]:
            mid = 0.5 * (hi[i] + lo[i + 1])
            hi[i], lo[i + 1] = mid, mid
    return lo, hi, pk


def identify_peaks(peaks, candidates, charges=(1, 2, 3), tolerance: float = 0.05,
                   min_abundance: float = 0.005):
    """Label peaks with the nearest isotope line of candidate ions.

    Args:
        peaks: peak positions [Da].
        candidates: element symbols or composition dicts (molecular ions).
        charges: charge states to consider.
        tolerance: maximum |Δ(m/q)| [Da].
        min_abundance: ignore isotope lines rarer than this.

    Returns:
        List (one per peak) of (ion composition dict, charge, line m/q [Da]) or None.
    """
    validate.array(peaks, "peaks", kind="real", units="Da", min_size=0)
    tolerance = validate.scalar(tolerance, "tolerance", "Da", positive=True)
    min_abundance = validate.scalar(min_abundance, "min_abundance", lo=0.0, hi=1.0)
    if isinstance(candidates, (str, dict)):
        candidates = [candidates]
    lines = []
    for cand in candidates:
        comp = {cand: 1} if isinstance(cand, str) else dict(cand)
        for q in charges:
            mq, ab = isotope_pattern(comp, q)
            lines += [(m, a, comp, q) for m, a in zip(mq, ab) if a >= min_abundance]
    out = []
    for p in np.asarray(peaks, np.float64):
        d = [abs(m - p) for m, *_ in lines]
        if not lines or min(d) > tolerance:
            out.append(None)
            continue
        # nearest line; ties (overlaps) resolved by the larger abundance
        best = min(range(len(lines)), key=lambda i: (round(d[i] / tolerance, 1), -lines[i][1]))
        m, _, comp, q = lines[best]
        out.append((comp, q, m))
    return out


@validate.typed
def overlap_matrix(table: RangeTable, species) -> np.ndarray:
    """Fraction A_js of each species' isotope pattern falling in each range.

    Args:
        table: ranges.
        species: list of (composition dict or symbol, charge).

    Returns:
        (n_ranges, n_species) array.
    """
    _table(table)
    species = _species(species)
    A = np.zeros((len(table.lo), len(species)))
    for s, (comp, q) in enumerate(species):
        mq, ab = isotope_pattern(comp, q)
        for j, (lo, hi) in enumerate(zip(table.lo, table.hi)):
            A[j, s] = ab[(mq >= lo) & (mq < hi)].sum()
    return A


@validate.typed
def deconvolve_overlaps(counts, table: RangeTable, species):
    """Species amounts from range counts with overlapping isotope patterns.

    Args:
        counts: net counts per range (background-corrected).
        table: the ranges (lo/hi used; ion labels ignored).
        species: list of (composition dict or symbol, charge).

    Returns:
        (amounts, standard errors) per species: total ions of that species over all its isotopes.

    Raises:
        ValueError: a species has no isotope line inside any range.
    """
    A = overlap_matrix(table, species)
    empty = np.flatnonzero(A.sum(0) == 0)
    if empty.size:
        raise validate.InputError(f"species {species[int(empty[0])]} has no isotope line inside any range")
    validate.array(counts, "counts", shape=(len(table.lo),), kind="real")
    y = np.asarray(counts, np.float64)
    w = 1 / np.sqrt(np.maximum(y, 1.0))
    n, _ = nnls(A * w[:, None], y * w)
    cov = np.linalg.pinv((A * w[:, None] ** 2).T @ A)
    return n, np.sqrt(np.clip(np.diag(cov), 0, None))


def composition(amounts, names=None, by_element: bool = False):
    """Composition with binomial errors.

    Args:
        amounts: counts per ion type (array) or a dict name → count.
        names: ion compositions (dicts or symbols) matching ``amounts``; needed with ``by_element``.
        by_element: decompose molecular ions into atoms (e.g. CrO₂ → 1 Cr + 2 O) first.

    Returns:
        dict name → (fraction, σ) with σ = √(c(1 − c)/N) [atom or ion fractions].
    """
    if isinstance(amounts, dict):
        names, vals = list(amounts), np.array(list(amounts.values()), np.float64)
    else:
        validate.array(amounts, "amounts", ndim=1, kind="real")
        vals = np.asarray(amounts, np.float64)
        names = list(names) if names is not None else [str(i) for i in range(vals.size)]
    validate.array(vals, "amounts", kind="real", nonnegative=True)
    if len(names) != vals.size:
        raise validate.InputError(f"names must match amounts ({vals.size}), got {len(names)}")
    if by_element:
        acc = {}
        for nm, v in zip(names, vals):
            comp = {nm: 1} if isinstance(nm, str) else dict(nm)
            for el, k in comp.items():
                acc[el] = acc.get(el, 0.0) + k * v
        names, vals = list(acc), np.array(list(acc.values()))
    keys = [nm if isinstance(nm, str) else ion_name(dict(nm)) for nm in names]
    total = vals.sum()
    if total <= 0:
        raise validate.InputError(f"amounts: total count must be > 0, got {total}")
    c = vals / total
    return {k: (float(ci), float(np.sqrt(ci * (1 - ci) / total))) for k, ci in zip(keys, c)}
