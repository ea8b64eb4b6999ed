"""The whole q–E analysis in one call: map → ZLP removal → deconvolution → loss function → per-q fits →
dispersion → space–time picture (each step of :mod:`jaxem.eels` with its defaults; every result a
Measurement or a small dataclass, with the wall time of each step)."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from .. import validate
from ..measurement import Measurement
from .dispersion import DispersionFit, fit_dispersion, width_onset
from .maps import as_qe_map
from .noise import loss_sigma
from .peaks import STATUS, PeakFit, fit_peaks
from .preprocess import deconvolve, fill_bad, loss_function, remove_zlp
from .spacetime import SpaceTime, spacetime

__all__ = ["QEAnalysis", "analyse"]


@dataclasses.dataclass(frozen=True)
class QEAnalysis:
    """Results of :func:`analyse`: the input ``map``, ``zlp`` and ``single`` (None when skipped), the
    ``loss`` function, the per-q ``fit``, the bulk ``dispersion`` (None if too few good q), the width
    ``onset`` of Landau damping (dict or None), the ``spacetime`` picture (or None) and ``timings`` [s]."""

    map: Measurement
    zlp: Measurement | None
    single: Measurement | None
    loss: Measurement
    fit: PeakFit
    dispersion: DispersionFit | None
    onset: dict | None
    spacetime: SpaceTime | None
    timings: dict


def analyse(qe, *, beam=None, zlp: str | None = "reflected", deconvolution: bool = True, slit_width=None,
            aperture=None, e_min=None, window=None, kind: str = "drude", n_peaks: int = 1,
            background: str = "constant", q_max=None, with_spacetime: bool = True, st_window="hann", pad: int = 2,
            st_source: str = "fit", noise_weighting: bool = True, resolution_correction: bool = True, memory_budget=None,
            precision=None) -> QEAnalysis:
    """Analyse a q–E map end to end.

    Args:
        qe: counts map (Measurement, HyperSpy signal, path …; :func:`~jaxem.eels.maps.as_qe_map`).
        beam: Beam or energy (default: the map's); without one (e.g. S(q, ω)) the map is taken as the
            loss function (no kinematic factor).
        zlp: ``"reflected"``, ``"fit"`` or ``None`` (the map has no ZLP).
        deconvolution: Fourier-log deconvolution (needs the ZLP).
        slit_width, aperture: see :func:`~jaxem.eels.preprocess.loss_function`.
        e_min: losses below it are masked [eV] (default: 3 × ZLP FWHM, or 0).
        window: peak-fit window [eV] (default: (e_min + 1 eV, E_max − 1 eV)).
        kind, n_peaks, background: the :class:`~jaxem.eels.peaks.PeakModel`.
        q_max: upper q of the bulk dispersion fit [1/Å] (default: below the width onset if one is
            significant, else all q).
        with_spacetime, st_window, pad: the space–time transform and its options.
        st_source: what the space–time transform takes for a count map: ``"fit"`` (default) the
            intrinsic loss function rebuilt from the per-q peak fits (Poisson ML, the ZLP convolved into
            the model, so the instrument resolution is removed; the noise enters only through the fitted
            parameters), or ``"data"`` the measured L (with ``noise_weighting`` and
            ``resolution_correction``). Maps that are not counts (S(q, ω), a loss function) use the data.
        noise_weighting: for ``st_source="data"`` and a count map, transform the Wiener estimate of L about the per-q fit with the
            Poisson σ of L (:mod:`~jaxem.eels.noise`) instead of the raw L (reported in the metadata).
        resolution_correction: divide the ZLP's characteristic function out of χ(x, t) (when the ZLP was
            removed and the map deconvolved, i.e. L is broadened by the ZLP).
    """
    timings = {}
    t0 = time.perf_counter()
    if e_min is not None:     # checked before the (slow) ZLP removal and deconvolution
        validate.scalar(e_min, "e_min", "eV", nonnegative=True)
    if zlp is not None:
        validate.choice(zlp, "zlp", ("reflected", "fit"))
    m = as_qe_map(qe, beam=beam, name="qe")
    try:
        b = m.beam()
    except validate.InputError:
        b = None
    z = single = None
    src = m
    fwhm = 0.0
    if zlp is not None:
        validate.choice(zlp, "zlp", ("reflected", "fit", None))
        z, rest = remove_zlp(m, zlp, precision=precision)
        fwhm = z.metadata["zlp_fwhm"]["value"]
        timings["zlp"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if deconvolution:
            single = deconvolve(m, z, precision=precision)
            timings["deconvolution"] = time.perf_counter() - t0
            t0 = time.perf_counter()
        else:
            single = rest
        src = single
    elif deconvolution and m.metadata.get("quantity") == "counts":
        raise validate.InputError("deconvolution needs the zero-loss peak: pass zlp='reflected' or 'fit', or "
                                  "deconvolution=False for a map without ZLP")
    e_min = 3 * fwhm if e_min is None else validate.scalar(e_min, "e_min", "eV", nonnegative=True)
    if b is not None:
        loss = loss_function(src, slit_width=slit_width, aperture=aperture, e_min=e_min)
    else:
        loss = src.with_array(np.where(src.axes[-1].values(src.shape[-1]) <= e_min, 0.0, src.numpy()),
                              quantity="loss function (map taken as is: no beam)")
    timings["loss_function"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    E = loss.axes[-1].values(loss.shape[-1])
    win = (e_min + 1.0, E[-1] - 1.0) if window is None else window
    # the fit sees the single-scattering counts scaled to the loss function's row sums, so that the
    # Poisson weights follow the measured counts
    counts = np.asarray(src.array, float)
    Lc = np.asarray(loss.array, float)
    Ecounts = src.axes[-1].values(src.shape[-1])
    sel = (Ecounts >= E[0] - 1e-9) & (Ecounts <= E[-1] + 1e-9)
    c = counts[..., sel] if sel.sum() == Lc.shape[-1] else None
    ratio = np.ones(Lc.shape[:-1])
    if c is not None:
        inw = (E >= win[0]) & (E <= win[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.nansum(np.where(inw, c, 0), -1) / np.nansum(np.where(inw, Lc, 0), -1)
        ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
        fit_in = loss.with_array(Lc * ratio[..., None])
    else:
        fit_in = loss
    validate.choice(st_source, "st_source", ("fit", "data"))
    broadened = z is not None and deconvolution          # L is the single scattering ⊛ the ZLP
    fit = fit_peaks(fit_in, win, kind=kind, n_peaks=n_peaks, background=background, memory_budget=memory_budget,
                    resolution=z if (broadened and resolution_correction) else None, precision=precision)
    timings["fits"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    disp = onset = None
    if loss.ndim == 2 and n_peaks == 1:
        q = loss.axes[0].values(loss.shape[0])
        good = fit.status == STATUS["ok"]
        cen, sc = fit.parameter("center")
        wid, sw = fit.parameter("width")
        try:
            onset = width_onset(q[good], wid[good, 0], sw[good, 0])
            onset = onset if onset["step_sigma"] > 5 and onset["gamma_above"] > 1.5 * onset["gamma_below"] else None
        except validate.InputError:
            onset = None
        qm = q_max if q_max is not None else (onset["q_c"] if onset else None)
        try:
            disp = fit_dispersion(q[good], cen[good, 0], sc[good, 0], q_max=qm)
        except validate.InputError:
            disp = None
    timings["dispersion"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    st = None
    if with_spacetime:   # masked pixels: filled (linear interpolation along E) for the transform, reported
        filled, bad = fill_bad(loss.array)
        src_st = loss.with_array(filled, spacetime_filled_pixels=int(bad.sum())) if bad.any() else loss
        kw = {}
        counts_map = m.metadata.get("quantity") == "counts"
        if counts_map and st_source == "fit":
            Lm, info = _fitted_loss(fit, E, ratio, disp, e_min)
            src_st = loss.with_array(Lm, quantity="loss function rebuilt from the per-q peak fits",
                                     spacetime_source=info)
        elif noise_weighting and counts_map:
            lam = fit.model_spectra(E)                               # counts scale of the fit (L × ratio)
            okrow = (fit.status == STATUS["ok"])[..., None] & np.isfinite(lam)
            lam = np.where(okrow, lam, 0.0)
            keep = E > e_min
            prior = np.where(keep, lam / ratio[..., None], 0.0)     # rows without a fit: prior 0 (dropped)
            sigma = np.where(keep, loss_sigma(m, loss, ratio, model_counts=lam), 0.0)
            kw = {"noise": sigma, "prior": prior}
        if resolution_correction and broadened and not (counts_map and st_source == "fit"):
            kw["resolution"] = z
        st = spacetime(src_st, window=st_window, pad=pad, precision=precision, **kw)
    if with_spacetime:
        timings["spacetime"] = time.perf_counter() - t0
    return QEAnalysis(m, z, single, loss, fit, disp, onset, st, timings)


def _wmean(y, sigma):
    """Inverse-variance weighted mean with an extra scatter τ² added to σ² when the points scatter more than
    their σ (DerSimonian–Laird moment estimate), and its standard error. Outliers (a failed row: a peak
    fitted as a broad background) are left out first: |y − median| > 5·max(σ, 1.4826·MAD)."""
    med = np.median(y)
    mad = 1.4826 * np.median(np.abs(y - med))
    keep = np.abs(y - med) <= 5 * np.maximum(sigma, mad)
    y, sigma = y[keep], sigma[keep]
    w = 1 / sigma ** 2
    m = np.sum(w * y) / w.sum()
    Q = float(np.sum(w * (y - m) ** 2))
    tau2 = max(0.0, (Q - (y.size - 1)) / max(w.sum() - (w ** 2).sum() / w.sum(), 1e-300))
    w = 1 / (sigma ** 2 + tau2)
    return float(np.sum(w * y) / w.sum()), float(1 / np.sqrt(w.sum()))


def _fitted_loss(fit: PeakFit, E, ratio, disp: DispersionFit | None, e_min: float):
    """The intrinsic loss function rebuilt from the fits (units of L).

    For a single Drude peak on a 2-D map with a dispersion fit: the Drude loss function
    L = C·Im[−1/ε(q, E)] with E_p(q) = E_p(0) + α(ħ²/m)q² (the fitted law), one damping Γ (the
    inverse-variance weighted mean of the per-q intrinsic widths, from rows with σ_Γ < 10 % Γ: low-count ML
    widths are biased) and one scale C for the whole map (the weighted mean of A(q)·Γ(q)/E(q), A the fitted
    peak height in units of L), over the q range of the dispersion fit (rows beyond it, e.g. Landau-damped
    above the width onset, are left out). Per-q noise in the centres would dephase the q components of the
    packet (a phase error σ_E·t/ħ), noise in the widths biases the norm's decay (a mixture of exponentials)
    and noise in the heights adds a field spread over all x (white in q) that hides the packet.
    Otherwise (other peak kinds, several peaks, 3-D maps): the per-q fitted peaks."""
    okrow = fit.status == STATUS["ok"]
    params = fit.params.copy()
    info = {"source": "per-q peak fits" + (" (intrinsic: ZLP deconvolved)" if fit.kernel is not None else "")}
    names = fit.model.names()
    if disp is not None and fit.model.n_peaks == 1 and len(fit.q_axes) == 1 and fit.model.kind == "drude":
        q = fit.q_axes[0].values(params.shape[0])
        inside = (q >= disp.q_range[0] - 1e-12) & (q <= disp.q_range[1] + 1e-12)
        ia, ic, iw = names.index("amplitude0"), names.index("center0"), names.index("width0")
        g, sg = fit.params[:, iw], fit.sigma[:, iw]
        use = okrow & inside & np.isfinite(g) & (sg > 0)
        precise = use & (sg < 0.1 * np.abs(g))
        use = precise if precise.sum() >= 2 else use
        if use.sum() >= 2:
            gam, sgam = _wmean(g[use], sg[use])
            a, sa = fit.params[:, ia] / ratio, fit.sigma[:, ia] / ratio
            c, sc = a * g / fit.params[:, ic], sa * g / fit.params[:, ic]
            ok = okrow & inside & np.isfinite(c) & (sc > 0)
            C, sC = _wmean(c[ok], sc[ok])
            Ec = disp.energy(q)
            params[:, ic], params[:, iw], params[:, ia] = Ec, gam, C * Ec / gam * ratio
            okrow = inside
            info.update({"model": "C·Im[−1/ε_Drude]: E_p(q) from the dispersion law, one Γ, one C",
                         "gamma": {"value": gam, "sigma": sgam, "units": "eV"}, "scale": {"value": C, "sigma": sC},
                         "q_range": {"value": list(disp.q_range), "units": "1/Å"}})
    lam = dataclasses.replace(fit, params=params).model_spectra(E, background=False, convolved=False)
    Lm = np.where(okrow[..., None] & np.isfinite(lam) & (E > e_min), lam / ratio[..., None], 0.0)
    info["rows_left_out"] = int((~okrow).sum())
    return Lm, info
