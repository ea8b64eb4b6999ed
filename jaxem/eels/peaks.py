"""Per-q fits of loss peaks by Poisson maximum likelihood, vectorised over q with ``vmap``.

Every spectrum (one q) is modelled as λ(E) = Σ_k A_k·p(E; E_k, Γ_k) + b with unit-height peak shapes
p (:class:`PeakModel`): ``"drude"`` (Γ_k·E_k⁻¹ × the Drude loss function, :func:`~jaxem.eels.model.drude_loss`),
``"lorentz"``, ``"gaussian"`` or ``"pseudo_voigt"`` (a mixing fraction η per peak), and an optional
constant background b ≥ 0. The counts y are Poisson: ℓ(θ) = Σ_E w_E·(y_E log λ_E − λ_E), where w masks
the fit window and bad (NaN) pixels; negative values (noise after a ZLP subtraction) enter as 0.

The maximiser is Levenberg–Marquardt-damped Fisher scoring, (F + μ·diag F)·δ = ∇ℓ with the Fisher
information F = Jᵀ diag(w/λ) J, steps clipped to the bounds, rejected (μ × 10) when ℓ falls. It has the
house's iteration shape: :func:`peak_fit_init` → :class:`PeakFitState`, :func:`peak_fit_step` (a
module-level ``jit``; every q row is one lane of a ``vmap``), :func:`peak_fit_result` → :class:`PeakFit`;
:func:`fit_peaks` is the driver (rows batched by :func:`jaxem.accel.batch_size`, padded to a fixed
bucket so repeated calls reuse one compilation). The uncertainties are the Cramér–Rao bounds
√diag(F⁻¹) of the free parameters (the Poisson likelihood's Fisher information at the optimum); they
assume the fitted values are counts (raw or single-scattering counts after deconvolution, whose noise
is close to Poisson when t/λ is small).

Written here rather than with exspy's ``multifit`` (GPL; a Python loop over pixels with least squares)
because the point is one vectorised, differentiable Poisson fit over all q on any JAX device.
"""
from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..measurement import Axis, Measurement
from .model import drude_loss, lorentz_peak

__all__ = ["PeakModel", "PeakFitState", "PeakFit", "peak_shape", "peak_fit_init", "peak_fit_step", "peak_fit_result",
           "fit_peaks", "initial_guess", "KINDS", "STATUS"]

KINDS = ("drude", "lorentz", "gaussian", "pseudo_voigt")
#: status codes of a fitted row
STATUS = {"ok": 0, "not_converged": 1, "at_bound": 2, "bad_input": 3}
_TINY = 1e-30


@pytree.dataclass
class PeakModel:
    """Static description of the per-q model: peak ``kind``, ``n_peaks``, ``background``
    (``"none"`` or ``"constant"``). Parameters per peak: amplitude A [counts], centre [eV], FWHM/damping
    Γ [eV] (and η for pseudo-Voigt), then b [counts]."""

    kind: str = pytree.field(static=True, default="drude")
    n_peaks: int = pytree.field(static=True, default=1)
    background: str = pytree.field(static=True, default="constant")

    def __post_init__(self):
        validate.choice(self.kind, "kind", KINDS)
        object.__setattr__(self, "n_peaks", validate.integer(self.n_peaks, "n_peaks", lo=1, hi=8))
        validate.choice(self.background, "background", ("none", "constant"))

    @property
    def per_peak(self) -> int:
        return 4 if self.kind == "pseudo_voigt" else 3

    @property
    def n_params(self) -> int:
        return self.per_peak * self.n_peaks + (self.background == "constant")

    def names(self) -> list:
        p = ["amplitude", "center", "width"] + (["eta"] if self.kind == "pseudo_voigt" else [])
        out = [f"{n}{k}" for k in range(self.n_peaks) for n in p]
        return out + (["background"] if self.background == "constant" else [])


def peak_shape(kind: str, energy, center, width, eta=0.0):
    """Unit-height peak of ``kind`` at ``center`` [eV] with FWHM (Drude: damping) ``width`` [eV]."""
    if kind == "drude":
        return drude_loss(energy, center, width) * width / center
    if kind == "lorentz":
        return lorentz_peak(energy, center, width)
    g = jnp.exp(-4 * jnp.log(2.0) * (energy - center) ** 2 / width ** 2)
    if kind == "gaussian":
        return g
    return eta * lorentz_peak(energy, center, width) + (1 - eta) * g


def _model(model: PeakModel, theta, energy, kernel=None):
    """λ(E) of one row; with ``kernel`` = (r, e_last) the peaks are convolved with the instrument function
    r (unit sum, channels at e_last − (K−1−m)·δE): evaluated on the grid extended by the kernel's
    support and reduced by a 'valid' convolution, (p ⊛ r)(E_k) = Σ_m r_m·p(E_k − e_m)."""
    grid = energy
    if kernel is not None:
        r, e_last = kernel
        grid = energy[0] - e_last + (energy[1] - energy[0]) * jnp.arange(energy.shape[0] + r.shape[0] - 1)
    out = jnp.zeros_like(grid)
    n = model.per_peak
    for k in range(model.n_peaks):  # static, ≤ 8 peaks: unrolled at trace time
        t = theta[k * n:(k + 1) * n]
        out = out + t[0] * peak_shape(model.kind, grid, t[1], t[2], t[3] if n == 4 else 0.0)
    if kernel is not None:   # single scattering vanishes at E ≤ 0; 'valid' part of a circular FFT convolution
        nfft, K = grid.shape[0], kernel[0].shape[0]
        full = jnp.fft.irfft(jnp.fft.rfft(jnp.where(grid > 0, out, 0.0), nfft) * jnp.fft.rfft(kernel[0], nfft), nfft)
        out = full[K - 1:]
    if model.background == "constant":
        out = out + theta[-1]
    return out


def _loglik(lam, y, w):
    lam = jnp.maximum(lam, _TINY)
    return jnp.sum(w * (jnp.where(y > 0, y * jnp.log(lam), 0.0) - lam), axis=-1)


@pytree.dataclass
class PeakFitState:
    """Fit state of every q row: parameters θ (n, P), damping μ (n,), ℓ(θ) (n,) [nats]."""

    theta: jax.Array
    damping: jax.Array
    loglik: jax.Array
    model: PeakModel = pytree.field(static=True, default=PeakModel())


def _check_rows(spectra, energy, weights, lower=None, upper=None):
    """Boundary checks of the fit's arrays (concrete values only: the step also runs under jit)."""
    validate.array(spectra, "spectra", ndim=2, kind="real", finite=False)
    validate.array(energy, "energy", ndim=1, kind="real", units="eV")
    validate.array(weights, "weights", kind="real", finite=False)
    for v, n in ((lower, "lower"), (upper, "upper")):
        if v is not None:
            validate.array(v, n, kind="real", finite=False)


@validate.typed
def peak_fit_init(spectra, energy, weights, model: PeakModel, theta0, kernel=None) -> PeakFitState:
    """Start every row at ``theta0`` (n, P) with damping 10⁻² (``kernel``: see :func:`fit_peaks`)."""
    _check_rows(spectra, energy, weights)
    validate.instance(model, "model", PeakModel)
    validate.array(theta0, "theta0", ndim=2, shape=(None, model.n_params), kind="real")
    y = jnp.maximum(jnp.asarray(spectra), 0.0)
    lam = jax.vmap(lambda t: _model(model, t, energy, kernel))(theta0)
    return PeakFitState(theta0, jnp.full(theta0.shape[:1], 1e-2, theta0.dtype), _loglik(lam, y, weights), model)


def _free(theta, g, F, lo, hi):
    """Parameters not held at a bound: a bound is active within 10⁻³ standard errors of it with the
    gradient of ℓ pointing outwards."""
    sd = 1.0 / jnp.sqrt(jnp.maximum(jnp.diag(F), _TINY))
    return ~(((theta - lo < 1e-3 * sd) & (g < 0)) | ((hi - theta < 1e-3 * sd) & (g > 0)))


def _row_step(model, theta, mu, cur, y, energy, w, lo, hi, kernel):
    P = theta.shape[0]
    f = lambda t: _model(model, t, energy, kernel)  # noqa: E731
    lam = jnp.maximum(f(theta), _TINY)
    J = jax.jacfwd(f)(theta)
    g = J.T @ (w * (y / lam - 1.0))
    F = (J * (w / lam)[:, None]).T @ J
    free = _free(theta, g, F, lo, hi)            # projected step: parameters held at a bound stay there
    g = jnp.where(free, g, 0.0)
    F = jnp.where(free[:, None] & free[None, :], F, jnp.diag(jnp.where(free, 0.0, 1.0)))
    # jitter relative to each parameter's own information: a trace-scaled one is swamped by a single
    # huge diagonal entry (η of a pseudo-Voigt against a clean Gaussian ZLP, whose far tails make
    # (∂λ/∂η)²/λ ~ 10³⁵) and froze the centre and width of the peak unconverged
    A = F + (mu + 1e-12) * jnp.diag(jnp.diag(F)) + _TINY * jnp.eye(P)
    step = jnp.linalg.solve(A, g)
    cand = jnp.clip(theta + jnp.where(jnp.isfinite(step), step, 0.0), lo, hi)
    new = _loglik(f(cand), y, w)
    ok = jnp.isfinite(new) & (new >= cur)
    return (jnp.where(ok, cand, theta), jnp.where(ok, jnp.maximum(mu * 0.3, 1e-7), jnp.minimum(mu * 10.0, 1e12)),
            jnp.where(ok, new, cur))


@jax.jit
@validate.typed
def peak_fit_step(state: PeakFitState, spectra, energy, weights, lower, upper, kernel=None) -> PeakFitState:
    """One damped Fisher-scoring step for every row (``vmap``); ℓ never decreases."""
    validate.instance(state, "state", PeakFitState, "a PeakFitState from peak_fit_init")
    _check_rows(spectra, energy, weights, lower, upper)
    y = jnp.maximum(spectra, 0.0)
    th, mu, ll = jax.vmap(partial(_row_step, state.model), in_axes=(0, 0, 0, 0, None, 0, None, None, None))(
        state.theta, state.damping, state.loglik, y, energy, weights, lower, upper, kernel)
    return PeakFitState(th, mu, ll, state.model)


@partial(jax.jit, static_argnames=("n_iter",))
def _run(state, spectra, energy, weights, lower, upper, n_iter: int, kernel=None):
    return jax.lax.fori_loop(0, n_iter, lambda _, s: peak_fit_step(s, spectra, energy, weights, lower, upper, kernel),
                             state)


@jax.jit
@validate.typed
def peak_fit_result(state: PeakFitState, spectra, energy, weights, lower, upper, kernel=None):
    """Read the answer out of a state: (θ, ℓ, covariance of the free parameters (inverse Fisher
    information), Newton decrement, Poisson deviance, free-parameter mask), each per row."""
    validate.instance(state, "state", PeakFitState, "a PeakFitState from peak_fit_init")
    _check_rows(spectra, energy, weights, lower, upper)
    model = state.model
    y = jnp.maximum(spectra, 0.0)

    def one(theta, y, w):
        f = lambda t: _model(model, t, energy, kernel)  # noqa: E731
        lam = jnp.maximum(f(theta), _TINY)
        J = jax.jacfwd(f)(theta)
        F = (J * (w / lam)[:, None]).T @ J
        g = J.T @ (w * (y / lam - 1.0))
        free = _free(theta, g, F, lower, upper)
        Ff = jnp.where(free[:, None] & free[None, :], F, jnp.eye(theta.shape[0]))
        cov = jnp.where(free[:, None] & free[None, :], jnp.linalg.inv(Ff), 0.0)
        gf = jnp.where(free, g, 0.0)
        dec = gf @ (cov @ gf)
        dev = 2 * jnp.sum(w * (jnp.where(y > 0, y * jnp.log(jnp.maximum(y, _TINY) / lam), 0.0) - (y - lam)))
        return cov, dec, dev, free

    return (state.theta, state.loglik, *jax.vmap(one)(state.theta, y, weights))


@dataclasses.dataclass(frozen=True)
class PeakFit:
    """Fitted peaks of every q (outer-layer result; NumPy arrays, leading shape = the map's q shape).

    Attributes:
        model: the :class:`PeakModel`. q_axes: the map's q axes [1/Å].
        params, sigma: (…q, P) estimates and Cramér–Rao standard errors (0 for parameters at a bound).
        cov: (…q, P, P) inverse Fisher information of the free parameters.
        loglik: ℓ [nats]; deviance: Poisson deviance (≈ χ² of the fit); dof: fitted points − free
            parameters. converged: Newton decrement < 10⁻⁴ + rounding; status: :data:`STATUS` codes.
    """

    model: PeakModel
    q_axes: tuple
    params: np.ndarray
    sigma: np.ndarray
    cov: np.ndarray
    loglik: np.ndarray
    deviance: np.ndarray
    dof: np.ndarray
    converged: np.ndarray
    status: np.ndarray
    window: tuple
    kernel: tuple | None = None

    def parameter(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, sigmas) of ``name`` (``"center"``, ``"width"``, ``"amplitude"``, ``"eta"``) for every
        peak, shape (…q, n_peaks), or of ``"background"`` (…q)."""
        names = self.model.names()
        if name == "background" and name in names:
            i = names.index(name)
            return self.params[..., i], self.sigma[..., i]
        cols = [i for i, n in enumerate(names) if n.rstrip("0123456789") == name]
        if not cols:
            validate.choice(name, "name", sorted({n.rstrip("0123456789") for n in names}))
        return self.params[..., cols], self.sigma[..., cols]

    @property
    def center(self):
        """Peak energies [eV] (…q, n_peaks)."""
        return self.parameter("center")[0]

    @property
    def width(self):
        """Peak widths Γ [eV] (…q, n_peaks)."""
        return self.parameter("width")[0]

    def model_spectra(self, energy, *, background: bool = True, convolved: bool = True) -> np.ndarray:
        """The fitted model λ(E) (…q, T) [counts] at ``energy`` (T,) [eV, uniform] (NaN for rows without a
        fit); ``background=False`` leaves out the constant, ``convolved=False`` the instrument function
        (the intrinsic peaks of a fit with ``resolution``)."""
        E = np.asarray(validate.array(energy, "energy", ndim=1, kind="real"), float)
        th = self.params.reshape(-1, self.model.n_params)
        if not background and self.model.background == "constant":
            th = th.copy()
            th[:, -1] = 0.0
        ok = np.isfinite(th).all(1)
        kern = None if (self.kernel is None or not convolved) else tuple(jnp.asarray(k) for k in self.kernel)
        lam = np.asarray(jax.vmap(lambda t: _model(self.model, t, jnp.asarray(E), kern))(jnp.asarray(np.where(
            ok[:, None], th, 1.0))), float)
        return np.where(ok[:, None], lam, np.nan).reshape(*self.params.shape[:-1], E.size)

    def measurement(self, name: str, with_sigma: bool = True) -> Measurement:
        """``name`` against q as a Measurement (signal axis q [1/Å]; a navigation ``peak`` axis when
        there are several peaks, a ``value`` axis [value, σ] with ``with_sigma``) → ``.to_hyperspy()``."""
        v, s = self.parameter(name)
        if name != "background" and self.model.n_peaks == 1:
            v, s = v[..., 0], s[..., 0]
        units = {"center": "eV", "width": "eV", "amplitude": "counts", "eta": "", "background": "counts"}[name]
        arr = v if v.ndim == len(self.q_axes) else np.moveaxis(v, -1, 0)
        sig = s if s.ndim == len(self.q_axes) else np.moveaxis(s, -1, 0)
        axes = list(self.q_axes)
        if arr.ndim > len(self.q_axes):
            axes = [Axis("peak", 1.0, "index")] + axes
        if with_sigma:
            arr = np.stack([arr, sig])
            axes = [Axis("estimate", 1.0, "value, sigma")] + axes
        md = {"quantity": f"{name}", "units": units, "model": dataclasses.asdict(self.model),
              "fit_window": {"value": list(self.window), "units": "eV"},
              "status": self.status.tolist(), "uncertainty": "Cramér–Rao (Poisson Fisher information)"}
        return Measurement(arr, tuple(axes), md, signal_ndim=len(self.q_axes))


def initial_guess(spectra, energy, model: PeakModel, window, centers=None) -> np.ndarray:
    """Starting parameters (n, P) from the spectra (n, T) [counts] on ``energy`` (T,) [eV] (NumPy):
    peaks are placed at successive maxima of the residual (half-maximum widths, amplitudes from the
    heights); ``centers`` (n_peaks,) or (n, n_peaks) [eV] overrides the positions."""
    y = np.where(np.isfinite(spectra), spectra, 0.0)
    inwin = (energy >= window[0]) & (energy <= window[1])
    y = np.where(inwin[None], np.maximum(y, 0.0), 0.0)
    n, T = y.shape
    dE = float(energy[1] - energy[0])
    k = max(1, int(round(0.1 / dE)))            # smooth over ~0.2 eV against noise
    ker = np.ones(2 * k + 1) / (2 * k + 1)
    ys = np.apply_along_axis(lambda r: np.convolve(r, ker, "same"), 1, y) if n else y
    bg = np.percentile(np.where(inwin[None], ys, np.inf), 5, axis=1) if model.background == "constant" else 0 * ys[:, 0]
    bg = np.where(np.isfinite(bg), np.maximum(bg, 0.0), 0.0)
    r = np.where(inwin[None], ys - bg[:, None], 0.0)
    idx = np.arange(T)
    params = []
    given = None if centers is None else np.broadcast_to(np.asarray(centers, float), (n, model.n_peaks))
    for p in range(model.n_peaks):  # ≤ 8 peaks; each step is vectorised over all rows
        c_i = np.argmax(r, 1) if given is None else np.abs(energy[None] - given[:, p:p + 1]).argmin(1)
        h = np.maximum(r[np.arange(n), c_i], 1e-12)
        below = r < h[:, None] / 2
        left = np.where(below & (idx[None] < c_i[:, None]), idx[None], -1).max(1)
        right = np.where(below & (idx[None] > c_i[:, None]), idx[None], T).min(1)
        w = np.clip((right - left - 1) * dE, 2 * dE, (window[1] - window[0]) / 2)
        c = energy[c_i]
        r = np.maximum(r - h[:, None] * lorentz_peak(energy[None], c[:, None], w[:, None]), 0.0)
        params.append([h, c, w] + ([np.full(n, 0.5)] if model.per_peak == 4 else []))
    if given is None and model.n_peaks > 1:   # merged peaks: a weak residual maximum → split the first
        h0 = params[0][0]
        for p in range(1, model.n_peaks):
            weak = params[p][0] < 0.1 * h0
            c0, w0 = params[0][1], params[0][2]
            params[p][1] = np.where(weak, c0 + w0 * (p / model.n_peaks - 0.25), params[p][1])
            params[p][0] = np.where(weak, h0 / 2, params[p][0])
            params[p][2] = np.where(weak, w0 / 2, params[p][2])
    flat = [np.asarray(v, float) for peak in params for v in peak] + ([bg] if model.background == "constant" else [])
    return np.stack(flat, -1)


def _bounds(model: PeakModel, window, dE):
    lo, hi = [], []
    for _ in range(model.n_peaks):
        lo += [0.0, window[0], dE / 4] + ([0.0] if model.per_peak == 4 else [])
        hi += [np.inf, window[1], window[1] - window[0]] + ([1.0] if model.per_peak == 4 else [])
    if model.background == "constant":
        lo.append(0.0)
        hi.append(np.inf)
    return np.array(lo), np.array(hi)


@validate.typed
def fit_peaks(qe, window, *, model: PeakModel | None = None, kind: str = "drude", n_peaks: int = 1,
              background: str = "constant", centers=None, n_iter: int = 60, resolution=None, memory_budget=None,
              precision=None) -> PeakFit:
    """Fit loss peaks at every q of a q–E map (Poisson ML, vectorised over q; see the module docstring).

    Args:
        qe: a q–E map (:func:`~jaxem.eels.maps.as_qe_map` input: Measurement, HyperSpy signal …), e.g. the
            single-scattering counts of :func:`~jaxem.eels.loss.remove_zlp`/``deconvolve``.
        window: (E_min, E_max) fit window [eV].
        model: a :class:`PeakModel` (or ``kind``, ``n_peaks``, ``background``).
        centers: starting peak energies (n_peaks,) or (…q, n_peaks) [eV] (default: from the data).
        n_iter: fixed number of scoring iterations.
        resolution: the instrument function (a ZLP Measurement on the map's energy step, e.g.
            :func:`~jaxem.eels.preprocess.remove_zlp`'s first output, summed over q and normalised): the
            peaks are convolved with it, so the fitted widths are the intrinsic ones (Fourier-log output
            is the single scattering broadened by the ZLP). The kernel is cut where it falls below 10⁻³
            of its maximum.
        memory_budget: bytes (or ``"512M"``) for the batch of rows fitted at once.
        precision: ``"float32"``/``"float64"`` (default: follows the data).

    Returns:
        :class:`PeakFit`; rows with no valid pixel in the window have status ``bad_input`` and NaN
        parameters.
    """
    from .maps import as_qe_map

    m = as_qe_map(qe, name="qe")
    model = model or PeakModel(kind, n_peaks, background)
    E = m.axes[-1].values(m.shape[-1])
    w0 = validate.pair(window, "window", "eV")
    if not (w0[0] < w0[1]) or w0[1] <= E[0] or w0[0] >= E[-1]:
        raise validate.InputError(f"window must be (E_min, E_max) with E_min < E_max inside the energy axis "
                                  f"[{E[0]:g}, {E[-1]:g}] eV, got {window!r}")
    n_iter = validate.integer(n_iter, "n_iter", lo=1, hi=10000)
    qshape = m.shape[:-1]
    y = np.asarray(m.array, float).reshape(-1, m.shape[-1])
    good = np.isfinite(y)
    inwin = (E >= w0[0]) & (E <= w0[1])
    w = (good & inwin[None]).astype(float)
    if centers is not None:
        centers = np.asarray(validate.array(centers, "centers", kind="real"), float)
        centers = np.broadcast_to(centers, qshape + (model.n_peaks,)).reshape(-1, model.n_peaks)
    theta0 = initial_guess(y, E, model, w0, centers)
    lo, hi = _bounds(model, w0, float(E[1] - E[0]))
    theta0 = np.clip(theta0, lo, np.where(np.isfinite(hi), hi, np.inf))
    yv = np.where(good, y, 0.0)
    kernel = None if resolution is None else _kernel(resolution, float(E[1] - E[0]))
    rdt = accel.real_dtype(accel.select_precision(precision, m.array if hasattr(m.array, "dtype") else yv))
    n, T = yv.shape
    P = model.n_params
    per_row = 8 * T * (P + 6) * 4
    b = accel.batch_size(per_row, n, memory_budget)
    bucket = 64
    b = bucket * int(np.ceil(b / bucket))
    outs = []
    Ej, loj, hij = jnp.asarray(E, rdt), jnp.asarray(lo, rdt), jnp.asarray(hi, rdt)
    kj = None if kernel is None else tuple(jnp.asarray(k, rdt) for k in kernel)
    for s0 in range(0, n, b):  # a few large batches, each one vmapped XLA program
        sl = slice(s0, s0 + b)
        blk = [yv[sl], w[sl], theta0[sl]]
        pad = b - blk[0].shape[0]
        if pad:
            blk = [np.concatenate([a, np.repeat(a[:1], pad, 0)]) for a in blk]
        yb, wb, tb = (jnp.asarray(a, rdt) for a in blk)
        st = peak_fit_init(yb, Ej, wb, model, tb, kj)
        st = _run(st, yb, Ej, wb, loj, hij, n_iter, kj)
        outs.append([np.asarray(a, np.float64)[:b - pad] for a in peak_fit_result(st, yb, Ej, wb, loj, hij, kj)])
    theta, ll, cov, dec, dev, free = (np.concatenate(p) for p in zip(*outs))
    fit = _assemble(model, m.axes[:-1], qshape, theta, ll, cov, dec, dev, free.astype(bool), w, w0)
    return fit if kernel is None else dataclasses.replace(fit, kernel=kernel)


def _kernel(resolution, step: float) -> tuple:
    """(r, e_last) of an instrument function for :func:`_model`: normalised, cut to the contiguous span
    where r ≥ 10⁻³·max, on the map's energy step."""
    from .noise import resolution_kernel

    r, e0, st = resolution_kernel(resolution)
    if abs(st - step) > 1e-6 * step:
        raise validate.InputError(f"resolution has an energy step of {st:g} eV, the map {step:g} eV; the ZLP must "
                                  f"be sampled on the map's energy axis")
    i = int(np.argmax(r))
    keep = r >= 1e-3 * r[i]
    lo = i - (np.argmin(keep[i::-1]) if not keep[:i + 1].all() else i + 1) + 1
    hi = i + (np.argmin(keep[i:]) if not keep[i:].all() else r.size - i)
    r = r[lo:hi]
    return r / r.sum(), np.float64(e0 + (hi - 1) * st)


def _assemble(model, q_axes, qshape, theta, loglik, cov, decrement, deviance, free, weights, window) -> PeakFit:
    """Assemble the :class:`PeakFit` (status, σ, NaN for rows without data) from the final state's
    arrays (flattened rows)."""
    npts = weights.sum(1)
    tol = 1e-4 + 1e-9 * np.abs(loglik)
    conv = np.isfinite(loglik) & (decrement < tol)
    sigma = np.sqrt(np.clip(np.diagonal(cov, axis1=-2, axis2=-1), 0, None))
    # the centre and width of every peak must be free (a peak pinned to a bound is not a measurement)
    n = model.per_peak
    key = np.concatenate([free[:, k * n + 1:k * n + 3] for k in range(model.n_peaks)], 1).all(1)
    status = np.where(conv, STATUS["ok"], STATUS["not_converged"])
    status = np.where(key, status, STATUS["at_bound"])
    bad = npts < model.n_params + 1
    status = np.where(bad, STATUS["bad_input"], status)
    theta = np.where(bad[:, None], np.nan, theta)
    sigma = np.where(bad[:, None], np.nan, sigma)
    P = model.n_params
    return PeakFit(model, tuple(q_axes), theta.reshape(*qshape, P), sigma.reshape(*qshape, P),
                   cov.reshape(*qshape, P, P), loglik.reshape(qshape), deviance.reshape(qshape),
                   (npts - free.sum(1)).reshape(qshape), conv.reshape(qshape), status.reshape(qshape), tuple(window))
