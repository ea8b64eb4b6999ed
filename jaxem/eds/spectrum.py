"""Net X-ray line intensities from spectra: background windows or a linear model fit.

Detector resolution: FWHM(E)² = FWHM(Mn Kα)² + 2.5 · (E − E_MnKα) [eV², E in eV] (C. E. Fiori &
D. E. Newbury, Scanning Electron Microscopy 1978/I, 401), E_MnKα = 5.8987 keV.

**Model fit** (:func:`fit_intensities`): each spectrum y (last axis = energy channels) is modelled
as y = Σ_l a_l g_l(E) + Σ_k b_k B_k(E), where g_l is a unit-area Gaussian (per channel) at every
line family of the listed elements inside the fit range (so overlapping lines — Zn Lα/Lβ1 — are
deconvolved), and B_k are background basis functions: Kramers' law (E₀ − E)/E times 1, E, E²…
(Bremsstrahlung shape; detector absorption and self-absorption are absorbed by the polynomial).
The amplitudes are the linear least-squares solution a = P y computed for all pixels at once with
one operator P (``einsum``); a_l is the net line area in counts. Counting variances follow from
var(a) = Σ_c P²_lc · y_c (Poisson y). ``weighting="none"``: P = G⁺, every pixel independent
of the others. ``weighting="pearson"`` (default): P = (W^½G)⁺W^½ with W = diag(1/max(m_c, 1)), m the model
fitted to the summed spectrum of all good pixels [counts] (two reweighting passes from m = the summed
spectrum), so the pixels share their weights (and a pixel changes the others' weights). The weights
matter on real spectra, whose counts span orders of magnitude between the low-energy lines and a weak
K line: unweighted, the residual of the (approximate) background model at low energy decides the weak
lines — on the Bruker ``test_TEM.bcf`` spectrum image Cu Kα comes out −186 counts where the
background windows give 26 ± 8 (Pearson-weighted: 8 ± 7).

**Windows** (:func:`window_intensities`): counts in ±``width``·FWHM/2 around the line minus the
linearly interpolated background estimated in two side windows of the same width at
``gap``·FWHM from the line centre; var = N_peak + (n_peak/n_bg)²·N_bg (n = channel counts).
Energy axes in keV.

**Bad pixels** (NaN policy for maps): in a spectrum image, a pixel whose spectrum holds a NaN/inf or
a negative count is not a measurement. It is masked: excluded from the fit, and its intensities and
variances are returned as NaN — the mask marker that :func:`jaxem.eds.zeta_factor` and
:func:`jaxem.eds.cliff_lorimer_quantification` turn into status ``BAD_INPUT`` and list in
``bad_pixels``. Every other pixel is computed exactly as without it. A single spectrum (1-D) with
NaN/inf or negative counts is rejected with the count and the first index.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import validate
from . import data as _data
from ..badpixels import bad_mask
from .composition import float_dtype

MNKA_KEV = 5.8987


def fwhm_ev(energy_kev, fwhm_mnka_ev: float = 130.0):
    """Detector FWHM [eV] at an X-ray energy [keV] (finite, ≥ 0) from the FWHM at Mn Kα [eV] (> 0)."""
    fwhm_mnka_ev = validate.scalar(fwhm_mnka_ev, "fwhm_mnka_ev", "eV", positive=True)
    if np.ndim(energy_kev) == 0:
        validate.scalar(energy_kev, "energy_kev", "keV", nonnegative=True)
    else:
        validate.array(energy_kev, "energy_kev", kind="real", units="keV", nonnegative=True)
    e = np.asarray(energy_kev, float)
    return np.sqrt(np.maximum(fwhm_mnka_ev**2 + 2.5 * (e - MNKA_KEV) * 1e3, 1.0))


def _check_axis(energy_axis, spectra):
    validate.array(energy_axis, "energy_axis", ndim=1, kind="real", units="keV", min_size=8)
    e = np.asarray(energy_axis, float)
    if np.any(np.diff(e) <= 0):
        k = int(np.flatnonzero(np.diff(e) <= 0)[0])
        raise validate.InputError(f"energy_axis must be strictly increasing [keV]; energy_axis[{k + 1}] = "
                                  f"{e[k + 1]:g} ≤ energy_axis[{k}] = {e[k]:g}")
    validate.array(spectra, "spectra", min_ndim=1, kind="real", finite=False)
    if np.shape(spectra)[-1] != e.size:
        raise validate.InputError(f"spectra have {np.shape(spectra)[-1]} channels on the last axis, "
                                  f"energy_axis has {e.size}")
    return e


def _mask_spectra(spectra):
    """(spectra with bad pixels zeroed, bad navigation mask); a single bad spectrum is rejected."""
    y = np.asarray(spectra)
    if y.ndim == 1:
        validate.array(y, "spectra", kind="real", units="counts", nonnegative=True)
        return y, np.zeros((), bool)
    bad = bad_mask(y, axis=-1, nonnegative=True)
    if bad.any():
        y = np.where(bad[..., None], 0, y)
    return y, bad


def _lines(lines):
    if isinstance(lines, str) or not len(lines):
        raise validate.InputTypeError(f"lines must be a non-empty sequence of X-ray line names such as "
                                      f"['O_Ka', 'Zn_Ka'], got {lines!r}")
    for line in lines:
        _data.parse_line(line)
    return list(lines)


def gaussian_line(energy_axis, center_kev, fwhm_mnka_ev: float = 130.0) -> np.ndarray:
    """Unit-area Gaussian sampled per channel (integrated over each channel width)."""
    from scipy.special import erf

    e = np.asarray(energy_axis, float)
    de = np.gradient(e)
    s = fwhm_ev(center_kev, fwhm_mnka_ev) * 1e-3 / (2 * np.sqrt(2 * np.log(2)))
    lo, hi = (e - de / 2 - center_kev) / (np.sqrt(2) * s), (e + de / 2 - center_kev) / (np.sqrt(2) * s)
    return 0.5 * (erf(hi) - erf(lo))


def fit_components(elements, e_lo: float, e_hi: float, min_weight: float = 0.01):
    """All line families of ``elements`` with energy in [e_lo, e_hi] keV and weight ≥ min_weight."""
    for el in elements:
        _data.element(el)
    comps = []
    for el in elements:
        for fam, rec in _data.element(el)["lines"].items():
            if e_lo <= rec["energy"] <= e_hi and rec["weight"] >= min_weight:
                comps.append(f"{el}_{fam}")
    return comps


def design_matrix(energy_axis, components, beam_energy_kev: float, fwhm_mnka_ev: float = 130.0,
                  n_background: int = 3):
    """Columns: unit-area Gaussians for ``components`` then Kramers × polynomial background."""
    e = np.asarray(energy_axis, float)
    cols = [gaussian_line(e, _data.line_energy(c), fwhm_mnka_ev) for c in components]
    kramers = np.clip(beam_energy_kev - e, 0, None) / np.maximum(e, 1e-3)
    x = (e - e.mean()) / max(np.ptp(e), 1e-9)
    for k in range(n_background):
        b = kramers * x**k
        cols.append(b / max(np.abs(b).max(), 1e-30))
    return np.stack(cols, -1)


def fit_intensities(spectra, energy_axis, lines, beam_energy_kev: float, *,
                    fwhm_mnka_ev: float = 130.0, fit_range=None, n_background: int = 3,
                    extra_elements=(), weighting: str = "pearson", precision=None):
    """Net line intensities by a linear model fit, for every pixel at once.

    Args:
        spectra: (..., n_channels) counts (≥ 0).
        energy_axis: (n_channels,) channel centres [keV], strictly increasing, ≥ 8 channels.
        lines: requested lines, e.g. ``["O_Ka", "Zn_La", "Zn_Ka"]``.
        beam_energy_kev: E₀ [keV] (> 0; Kramers background).
        fwhm_mnka_ev: detector resolution at Mn Kα [eV] (> 0).
        fit_range: (lo, hi) [keV]; default 0.2 keV … min(E₀, axis end).
        n_background: number of background basis functions (≥ 0).
        extra_elements: further elements present (their lines are fitted, not returned).
        weighting: ``"pearson"`` (default: weights 1/model of the summed spectrum of the good pixels,
            shared by all pixels; a bad pixel is left out of the sum, so the others are computed as if it
            were absent) or ``"none"`` (unweighted; each pixel independent; biased on real spectra whose
            counts span orders of magnitude, see the module docstring).

        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (default: follows ``spectra``).

    Returns:
        (intensities (..., n_lines), variances (..., n_lines)) as float arrays; NaN in the masked
        bad pixels of a spectrum image (see the module docstring).
    """
    e = _check_axis(energy_axis, spectra)
    lines = _lines(lines)
    beam_energy_kev = validate.scalar(beam_energy_kev, "beam_energy_kev", "keV", positive=True)
    fwhm_mnka_ev = validate.scalar(fwhm_mnka_ev, "fwhm_mnka_ev", "eV", positive=True)
    n_background = validate.integer(n_background, "n_background", lo=0, hi=64)
    validate.choice(weighting, "weighting", ("none", "pearson"))
    if fit_range is not None:
        lo, hi = validate.pair(fit_range, "fit_range", "keV", nonnegative=True)
        if not hi > lo:
            raise validate.InputError(f"fit_range must be (lo, hi) [keV] with lo < hi, got {fit_range}")
    else:
        lo, hi = 0.2, min(beam_energy_kev, e[-1])
    sel = (e >= lo) & (e <= hi)
    if sel.sum() < 8:
        raise validate.InputError(f"fit_range {lo:g}–{hi:g} keV covers {int(sel.sum())} channels of energy_axis; "
                                  f"need ≥ 8")
    elements = list(dict.fromkeys([l.split("_")[0] for l in lines] + list(extra_elements)))
    comps = fit_components(elements, lo, hi)
    for l in lines:
        if l not in comps:
            if not lo <= _data.line_energy(l) <= hi:
                raise validate.InputError(f"line {l} ({_data.line_energy(l)} keV) is outside fit_range "
                                          f"{lo:g}–{hi:g} keV")
            comps.append(l)
    g = design_matrix(e[sel], comps, beam_energy_kev, fwhm_mnka_ev, n_background)
    dt = float_dtype(spectra, precision)
    y, bad = _mask_spectra(spectra)
    y = y[..., sel]
    if weighting == "pearson":
        p = pearson_operator(g, y.reshape(-1, y.shape[-1]).sum(0, dtype=np.float64))
    else:
        p = np.linalg.pinv(g)  # (n_comp, n_sel)
    p = p[[comps.index(l) for l in lines]]
    y = jnp.asarray(y, dt)
    amp = jnp.einsum("...c,lc->...l", y, jnp.asarray(p, dt))
    var = jnp.einsum("...c,lc->...l", jnp.maximum(y, 0), jnp.asarray(p**2, dt))
    return _mark(amp, bad), _mark(var, bad)


def pearson_operator(g, total, passes: int = 2) -> np.ndarray:
    """Weighted least-squares operator P = (W^½G)⁺W^½ (n_comp, n_chan) with Pearson weights
    W = 1/max(m, 1), m = G·P·total the model of the summed spectrum ``total`` [counts] (module docstring)."""
    w = 1.0 / np.maximum(total, 1.0)
    for k in range(passes + 1):
        sw = np.sqrt(w)
        p = np.linalg.pinv(g * sw[:, None]) * sw[None, :]
        if k < passes:
            w = 1.0 / np.maximum(g @ (p @ total), 1.0)
    return p


def _mark(x, bad):
    """NaN (the mask marker) in the bad pixels of an intensity map."""
    if not np.any(bad):
        return x
    return jnp.where(jnp.asarray(bad)[..., None], jnp.nan, x)


def window_intensities(spectra, energy_axis, lines, *, fwhm_mnka_ev: float = 130.0,
                       width: float = 2.0, gap: float = 2.5, precision=None):
    """Net intensities by background windows (see module docstring).

    Args:
        spectra: (..., n_channels) counts (≥ 0).
        energy_axis: (n_channels,) [keV], strictly increasing.
        lines: line names.
        fwhm_mnka_ev: resolution at Mn Kα [eV] (> 0).
        width: peak (and each background) window width in units of the line FWHM (> 0).
        gap: distance of the background window centres from the line in FWHM (> width/2 + ½ keeps
            the windows apart; > 0).
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (default: follows ``spectra``).

    Returns:
        (intensities (..., n_lines), variances (..., n_lines)); NaN in the masked bad pixels of a
        spectrum image (see the module docstring).
    """
    e = _check_axis(energy_axis, spectra)
    lines = _lines(lines)
    fwhm_mnka_ev = validate.scalar(fwhm_mnka_ev, "fwhm_mnka_ev", "eV", positive=True)
    width = validate.scalar(width, "width", "FWHM", positive=True)
    gap = validate.scalar(gap, "gap", "FWHM", positive=True)
    dt = float_dtype(spectra, precision)
    y, bad = _mask_spectra(spectra)
    y = jnp.asarray(y, dt)
    nets, vars_ = [], []
    for l in lines:
        c = _data.line_energy(l)
        f = fwhm_ev(c, fwhm_mnka_ev) * 1e-3
        pk = np.abs(e - c) <= width * f / 2
        left = np.abs(e - (c - gap * f)) <= width * f / 2
        right = np.abs(e - (c + gap * f)) <= width * f / 2
        if pk.sum() == 0 or left.sum() == 0 or right.sum() == 0:
            raise validate.InputError(f"line {l} at {c:.3f} keV: its windows fall outside energy_axis "
                                      f"({e[0]:g}–{e[-1]:g} keV)")
        npk = pk.sum()
        bl = y[..., left].mean(-1)
        br = y[..., right].mean(-1)
        bg = 0.5 * (bl + br) * npk
        peak = y[..., pk].sum(-1)
        nets.append(peak - bg)
        vars_.append(peak + (0.5 * npk) ** 2 * (bl / left.sum() + br / right.sum()))
    return _mark(jnp.stack(nets, -1), bad), _mark(jnp.stack(vars_, -1), bad)


def model_spectrum(energy_axis, line_areas: dict, beam_energy_kev: float, *,
                   fwhm_mnka_ev: float = 130.0, background: float = 0.0):
    """Noise-free spectrum: Gaussian lines with given areas [counts] + a Kramers background
    (``background`` = counts per channel at 1 keV, ≥ 0; areas ≥ 0 [counts]). For tests and demos."""
    validate.array(energy_axis, "energy_axis", ndim=1, kind="real", units="keV")
    beam_energy_kev = validate.scalar(beam_energy_kev, "beam_energy_kev", "keV", lo=1.0, lo_open=True)
    background = validate.scalar(background, "background", "counts", nonnegative=True)
    for line, area in line_areas.items():
        _data.parse_line(line)
        validate.scalar(area, f"line_areas[{line!r}]", "counts", nonnegative=True)
    e = np.asarray(energy_axis, float)
    y = np.zeros_like(e)
    for line, area in line_areas.items():
        y = y + area * gaussian_line(e, _data.line_energy(line), fwhm_mnka_ev)
    y = y + background * np.clip(beam_energy_kev - e, 0, None) / np.maximum(e, 1e-3) / (beam_energy_kev - 1)
    return y
