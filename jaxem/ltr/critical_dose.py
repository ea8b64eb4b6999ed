"""Critical dose from the temporal decay of diffracted intensity, by Poisson maximum likelihood.

Model for the counts y_k of one reflection at one position in frame k (cumulative dose D_k at the
frame centre [e⁻/Å²]):

    λ_k = B + I₀·exp(−(D_k − D_on)₊ / D_c)

with a floor B ≥ 0 [counts/frame] (amorphous/diffuse background under the disk), the initial
intensity I₀ ≥ 0 [counts/frame], the characteristic (critical, 1/e) dose D_c [e⁻/Å²] and an optional
onset (incubation) dose D_on [e⁻/Å²] (Egerton, Li & Malac, Micron 35 (2004) 399; D_1/2 = D_c ln 2).

Fit (pure, ``vmap``-ed over positions × reflections, fixed work per fit):

1. profile likelihood ℓ_p(D_c) = max_{B, I₀ ≥ 0} ℓ on a log-spaced D_c grid (the inner problem is
   concave; :func:`jaxem.ltr.poisson.linear_two_component`, warm-started along the grid by
   ``lax.scan``);
2. golden-section refinement of log D_c around the best grid point;
3. the 95 % profile-likelihood interval {D_c : 2[ℓ̂ − ℓ_p(D_c)] ≤ χ²₁(0.95) = 3.841} by bisection
   between bracketing grid points; the Wald interval exp(log D̂_c ± 1.96·σ) from the Fisher
   information of (B, I₀, log D_c) is returned for comparison.

Each fit has a status bitmask (:data:`STATUS`); flagged values are NaN or ±inf only together with a
non-zero status, never silently. The log-linear fit of log y against D (:func:`fit_log_linear`) is the
baseline that fails with a floor or at low counts.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, noise, pytree, validate
from .poisson import linear_two_component, poisson_loglik

#: status bits of a decay fit
OK, TOO_FEW_COUNTS, NO_DECAY, FAST_DECAY, CI_OPEN, NOT_CONVERGED = 0, 1, 2, 4, 8, 16
STATUS = {"ok": OK, "too_few_counts": TOO_FEW_COUNTS, "no_decay": NO_DECAY, "fast_decay": FAST_DECAY,
          "ci_open": CI_OPEN, "not_converged": NOT_CONVERGED}
CHI2_1_95 = 3.841458820694124
_GOLD = 0.6180339887498949


@pytree.dataclass
class DecayFit:
    """Per-series results (all arrays share the leading shape of the counts).

    Attributes:
        critical_dose: D_c [e⁻/Å²] (NaN if too few counts, inf if no decay; see ``status``);
            bootstrap bias-corrected when requested, else equal to ``critical_dose_mle``.
        critical_dose_mle: the maximum-likelihood D_c [e⁻/Å²].
        ci_low, ci_high: profile-likelihood interval of D_c [e⁻/Å²] at ``level``.
        wald_low, wald_high: Wald interval of D_c [e⁻/Å²] (log scale).
        background: floor B [counts/frame]. amplitude: I₀ [counts/frame]. onset: D_on [e⁻/Å²].
        loglik: maximum log-likelihood [nats]. n_counts: total counts. status: bitmask (:data:`STATUS`).
        metadata: the dose axis used (cumulative dose per frame [e⁻/Å²]), level, model and options.
    """

    critical_dose: jax.Array = pytree.field(units="e⁻/Å²")
    critical_dose_mle: jax.Array = pytree.field(units="e⁻/Å²")
    ci_low: jax.Array = pytree.field(units="e⁻/Å²")
    ci_high: jax.Array = pytree.field(units="e⁻/Å²")
    wald_low: jax.Array = pytree.field(units="e⁻/Å²")
    wald_high: jax.Array = pytree.field(units="e⁻/Å²")
    background: jax.Array = pytree.field(units="counts/frame")
    amplitude: jax.Array = pytree.field(units="counts/frame")
    onset: jax.Array = pytree.field(units="e⁻/Å²")
    loglik: jax.Array = pytree.field(units="nats")
    n_counts: jax.Array = pytree.field(units="counts")
    status: jax.Array = pytree.field(units="bits")
    metadata: dict = pytree.field(static=True, default_factory=dict)

    @property
    def ok(self):
        """True where the fit is usable (status 0 or only an open interval side)."""
        return (self.status & ~CI_OPEN) == 0

    def masked(self, name: str = "critical_dose") -> np.ma.MaskedArray:
        """A field as a masked array, masked where the fit is flagged (:attr:`ok` is False)."""
        return np.ma.masked_array(np.asarray(getattr(self, name)), mask=~np.asarray(self.ok))


def check_series(counts, doses, min_frames: int = 3):
    """Counts (…, n_frames) [finite, ≥ 0] and cumulative doses (n_frames,) [e⁻/Å², finite, strictly
    increasing], checked at the boundary (NaN/inf and negative counts reported with count and index)."""
    validate.array(doses, "doses", ndim=1, kind="real", units="e⁻/Å²")
    D = np.asarray(doses, np.float64)
    if D.size < min_frames:
        raise validate.InputError(f"doses must be 1-D with ≥ {min_frames} frames [e⁻/Å²], got shape {D.shape}")
    if np.any(np.diff(D) <= 0):
        k = int(np.flatnonzero(np.diff(D) <= 0)[0])
        raise validate.InputError(f"doses must be strictly increasing [e⁻/Å²]; doses[{k + 1}] = {D[k + 1]:g} ≤ "
                                  f"doses[{k}] = {D[k]:g}")
    validate.array(counts, "counts", min_ndim=1, kind="real", units="counts")
    y = np.asarray(counts)
    if y.shape[-1] != D.size:
        raise validate.InputError(f"counts must end with the frame axis of length {D.size}, got shape {y.shape}")
    if y.size and y.min() < 0:
        first = tuple(int(i) for i in np.argwhere(y < 0)[0])
        raise validate.InputError(f"counts must be ≥ 0; {int(np.sum(y < 0))} value(s) are negative (first at "
                                  f"index {first})")
    return y, D


def _grid(doses, n_grid):
    d = np.asarray(doses, np.float64)
    step = np.min(np.diff(d)) if d.size > 1 else d[0]
    lo, hi = 0.25 * step, 50.0 * d[-1]
    return np.linspace(np.log(lo), np.log(hi), n_grid)


def _fit_one(y, D, log_grid, onset, floor_on, q, n_inner, n_refine, n_bisect):
    T = y.shape[0]
    u = jnp.ones(T, y.dtype) * floor_on
    Don = jnp.maximum(D - onset, 0.0)

    def h(logdc):
        return jnp.exp(-Don / jnp.exp(logdc))

    ymean = jnp.mean(y)
    ab_start = jnp.stack([(0.1 * ymean + 1e-3) * floor_on, ymean + 1e-3]).astype(y.dtype)

    def prof(logdc, ab0):
        return linear_two_component(y, u, h(logdc), ab0, n_inner)

    def scan_body(ab, logdc):
        ab, l = prof(logdc, ab)
        return ab.astype(y.dtype), (l, ab)

    # descending D_c: from flat templates to sharp ones keeps warm starts feasible
    _, (ls, abs_) = jax.lax.scan(scan_body, ab_start, log_grid[::-1])
    ls, abs_ = ls[::-1], abs_[::-1]
    n = log_grid.shape[0]
    i = jnp.argmax(ls)
    a = log_grid[jnp.maximum(i - 1, 0)]
    b = log_grid[jnp.minimum(i + 1, n - 1)]
    ab_i = abs_[i]

    def golden(_, c):
        a, b = c
        x1 = b - _GOLD * (b - a)
        x2 = a + _GOLD * (b - a)
        l1 = prof(x1, ab_i)[1]
        l2 = prof(x2, ab_i)[1]
        return jnp.where(l1 > l2, a, x1).astype(y.dtype), jnp.where(l1 > l2, x2, b).astype(y.dtype)

    a, b = jax.lax.fori_loop(0, n_refine, golden, (a, b))
    x_hat = 0.5 * (a + b)
    ab_hat, l_hat = prof(x_hat, ab_i)
    better = ls[i] > l_hat
    x_hat = jnp.where(better, log_grid[i], x_hat)
    ab_hat = jnp.where(better, ab_i, ab_hat)
    l_hat = jnp.maximum(l_hat, ls[i])
    thr = l_hat - 0.5 * q
    idx = jnp.arange(n)

    def bisect(x_out, x_in):
        def body(_, c):
            lo, hi = c                                     # lo: outside (ℓ < thr), hi: inside
            mid = 0.5 * (lo + hi)
            inside = prof(mid, ab_hat)[1] >= thr
            return jnp.where(inside, lo, mid).astype(y.dtype), jnp.where(inside, mid, hi).astype(y.dtype)
        lo, hi = jax.lax.fori_loop(0, n_bisect, body, (x_out, x_in))
        return 0.5 * (lo + hi)

    below = ls < thr
    j_lo = jnp.max(jnp.where(below & (idx < i), idx, -1))
    j_hi = jnp.min(jnp.where(below & (idx > i), idx, n))
    lo_open, hi_open = j_lo < 0, j_hi >= n
    ci_lo = jnp.where(lo_open, -jnp.inf, bisect(log_grid[jnp.maximum(j_lo, 0)], x_hat))
    ci_hi = jnp.where(hi_open, jnp.inf, bisect(log_grid[jnp.minimum(j_hi, n - 1)], x_hat))

    # Wald interval from the Fisher information of (B, I0, log Dc)
    B, I0 = ab_hat[0], ab_hat[1]
    e = h(x_hat)
    lam = jnp.maximum(B + I0 * e, 1e-12)
    J = jnp.stack([jnp.ones(T, y.dtype), e, I0 * e * Don / jnp.exp(x_hat)], -1)
    F = (J / lam[:, None]).T @ J
    keep = jnp.stack([jnp.where((B > 1e-6 * (ymean + 1e-3)) & (floor_on > 0), 1.0, 0.0), 1.0, 1.0]).astype(y.dtype)
    Fk = F * keep[:, None] * keep[None, :] + jnp.diag(1.0 - keep)
    var = jnp.linalg.inv(Fk + 1e-12 * jnp.eye(3, dtype=y.dtype))[2, 2]
    sd = jnp.sqrt(jnp.maximum(var, 0.0))
    z = jnp.sqrt(q)
    status = (jnp.where(i == n - 1, NO_DECAY, 0) | jnp.where(I0 <= 1e-9 * (ymean + 1e-3), NO_DECAY, 0)
              | jnp.where(i == 0, FAST_DECAY, 0) | jnp.where(lo_open | hi_open, CI_OPEN, 0)
              | jnp.where(jnp.isfinite(l_hat), 0, NOT_CONVERGED))
    return (x_hat, ci_lo, ci_hi, x_hat - z * sd, x_hat + z * sd, B, I0, l_hat, status)


@functools.lru_cache(maxsize=32)
def _compiled(n_grid: int, floor: str):
    def one(yy, Dj, log_grid, onsets, q, penalty):
        fl = {"free": [1.0], "zero": [0.0], "auto": [1.0, 0.0]}[floor]
        o, f = jnp.meshgrid(onsets, jnp.asarray(fl, yy.dtype), indexing="ij")
        res = jax.vmap(lambda o, f: _fit_one(yy, Dj, log_grid, o, f, q, 5, 12, 10))(o.ravel(), f.ravel())
        # the floor costs one parameter: it is kept only if it raises ℓ by more than `penalty`
        score = res[7] - penalty * f.ravel()
        best = jnp.argmax(score)
        return tuple(r[best] for r in res) + (o.ravel()[best],)
    return jax.jit(jax.vmap(one, in_axes=(0, None, None, None, None, None)))


def _run_batches(Y, args, n_grid, floor, bytes_per_fit, memory_budget):
    """Fixed-shape batches (powers of two) so repeated calls reuse one compiled program."""
    n = Y.shape[0]
    cap = accel.batch_size(bytes_per_fit, 1 << 16, memory_budget)
    # one fixed batch shape (≤ 256 fits) so that every call reuses the same compiled program
    bs = int(min(256, 1 << int(np.floor(np.log2(max(cap, 1))))))
    fn = _compiled(n_grid, floor)
    outs = []
    for start in range(0, n, bs):  # a handful of large batches, each one vmapped XLA call
        blk = Y[start:start + bs]
        pad = bs - blk.shape[0]
        if pad:
            blk = jnp.concatenate([blk, jnp.zeros((pad, Y.shape[1]), Y.dtype)])
        outs.append([np.asarray(o)[:bs - pad] for o in fn(blk, *args)])
    return [np.concatenate(parts) for parts in zip(*outs)]


#: series with a fitted amplitude below this [counts/frame] get the bootstrap bias correction by default
AUTO_LOW_COUNTS = 5.0
#: bootstrap replicates of the default ("auto") bias correction
AUTO_BOOTSTRAP = 8


def fit_decay(counts, doses, onset=None, *, level: float = 0.95, min_counts: float = 10.0, n_grid: int = 24,
              n_onset: int = 8, floor: str = "free", floor_penalty: float = 1.0, precision=None,
               bias_correction="auto", seed: int = 0, memory_budget=None) -> DecayFit:
    """Poisson ML fit of λ = B + I₀·exp(−(D − D_on)₊/D_c) to every series in ``counts``.

    Args:
        counts: counts (…, n_frames), e.g. a (scan_y, scan_x, n_frames, n_reflections) series moved
            to put frames last; any leading shape.
        doses: cumulative dose at frame centres (n_frames,) [e⁻/Å²], increasing.
        onset: ``None`` (no onset), a fixed onset dose [e⁻/Å²], or ``"fit"`` (profile over ``n_onset``
            onset values in [0, D_max/2]; the D_c interval is then conditional on the chosen onset).
        level: confidence level of the intervals (0 < level < 1).
        floor: ``"free"`` (B ≥ 0 fitted), ``"zero"`` (B = 0) or ``"auto"`` (default: B is fitted
            only when it raises ℓ by more than ``floor_penalty`` nats — Akaike's one-parameter
            penalty for 1.0 — which removes the downward bias of a boundary floor at low counts).
        floor_penalty: log-likelihood gain [nats] a floor must bring in ``"auto"`` mode.
        bias_correction: number of parametric-bootstrap replicates used to remove the small-count
            bias of log D̂_c (0 = plain MLE; each replicate costs one more fit per series), or
            ``"auto"`` (default): :data:`AUTO_BOOTSTRAP` replicates for the series whose fitted
            amplitude is below :data:`AUTO_LOW_COUNTS` counts/frame, where the plain MLE is ~10 %
            low, and the plain MLE elsewhere. The intervals stay the profile-likelihood ones.
        seed: random seed of the bootstrap.
        min_counts: series with fewer total counts get status TOO_FEW_COUNTS and D_c = NaN.
        n_grid: points of the log D_c profile grid.
        precision: 'float32' (default) or 'float64'.
        memory_budget: memory budget [bytes or a string such as '256M'] for the batch size.

    Returns:
        :class:`DecayFit` with arrays of the leading shape of ``counts``.
    """
    from scipy.stats import chi2

    y, D = check_series(counts, doses, min_frames=3)
    if D[0] < 0:
        raise validate.InputError(f"doses must be ≥ 0 [e⁻/Å²], got doses[0] = {D[0]:g}")
    validate.choice(floor, "floor", ("auto", "free", "zero"))
    level = validate.scalar(level, "level", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    min_counts = validate.scalar(min_counts, "min_counts", "counts", nonnegative=True)
    n_grid = validate.integer(n_grid, "n_grid", lo=3, hi=4096)
    n_onset = validate.integer(n_onset, "n_onset", lo=1, hi=4096)
    floor_penalty = validate.scalar(floor_penalty, "floor_penalty", "nats", nonnegative=True)
    seed = validate.integer(seed, "seed", lo=0)
    dt = accel.real_dtype(precision)
    lead = y.shape[:-1]
    Y = jnp.asarray(y.reshape(-1, D.size), dt)
    q = float(chi2.ppf(level, 1))
    log_grid = jnp.asarray(_grid(D, n_grid), dt)
    Dj = jnp.asarray(D, dt)
    if isinstance(onset, str) and onset == "fit":
        onsets = jnp.asarray(np.linspace(0.0, D[-1] / 2, n_onset), dt)
    elif onset is None or (not isinstance(onset, str) and np.ndim(onset) == 0):
        try:
            on = 0.0 if onset is None else validate.scalar(onset, "onset", "e⁻/Å²", nonnegative=True)
        except validate.InputTypeError:
            raise validate.InputError(f"onset must be None, a dose [e⁻/Å²] ≥ 0 or 'fit', got {onset!r}") from None
        onsets = jnp.asarray([on], dt)
    else:
        raise validate.InputError(f"onset must be None, a dose [e⁻/Å²] ≥ 0 or 'fit', got {onset!r}")

    out = _run_batches(Y, (Dj, log_grid, onsets, jnp.asarray(q, dt), jnp.asarray(floor_penalty, dt)),
                       int(n_grid), floor, 8 * n_grid * D.size * 16 * int(onsets.shape[0]), memory_budget)
    x, lo, hi, wlo, whi, B, I0, ll, status, on = (np.asarray(o) for o in out)
    n_counts = np.asarray(y.reshape(-1, D.size).sum(-1))
    few = n_counts < min_counts
    status = np.where(few, status | TOO_FEW_COUNTS, status).astype(np.int32)
    dc = np.exp(x.astype(np.float64))
    dc = np.where(status & NO_DECAY, np.inf, dc)
    dc = np.where(few, np.nan, dc)

    dc_mle = dc.copy()
    if bias_correction == "auto":
        n_boot, select = AUTO_BOOTSTRAP, np.isfinite(dc) & (I0 < AUTO_LOW_COUNTS)
    else:
        if isinstance(bias_correction, str):
            raise validate.InputError(f"bias_correction must be 'auto' or a number of replicates ≥ 0, got "
                                      f"{bias_correction!r}")
        n_boot, select = validate.integer(bias_correction, "bias_correction", lo=0), np.isfinite(dc)
    if n_boot and np.any(select):
        # parametric bootstrap in log D_c: refit n_boot Poisson draws of the fitted model
        idx = np.flatnonzero(select)
        lam = (B[idx, None] + I0[idx, None] * np.exp(-np.maximum(D[None] - on[idx, None], 0.0) / dc[idx, None]))
        rng = np.random.default_rng(seed)
        yb = noise.poisson_numpy(rng, np.broadcast_to(lam[:, None, :], (idx.size, n_boot, D.size)),
                                 "bootstrap expected counts (the fitted B + I0·exp(−(D − D_on)₊/D_c) of counts)",
                                 integer=True)
        fb = fit_decay(yb, D, onset=onset, level=level, min_counts=0.0, n_grid=n_grid, n_onset=n_onset, floor=floor,
                       floor_penalty=floor_penalty, precision=precision, bias_correction=0,
                       memory_budget=memory_budget)
        lb = np.where(fb.ok & np.isfinite(fb.critical_dose), np.log(np.where(np.isfinite(fb.critical_dose),
                                                                             fb.critical_dose, 1.0)), np.nan)
        n_ok = np.sum(np.isfinite(lb), axis=1)
        with np.errstate(all="ignore"):
            bias = np.nansum(lb, axis=1) / np.where(n_ok > 0, n_ok, np.nan) - np.log(dc[idx])
        dc[idx] = np.where(np.isfinite(bias), dc[idx] * np.exp(-np.nan_to_num(bias)), dc[idx])

    def r(a):
        return np.asarray(a).reshape(lead)

    with np.errstate(over="ignore"):
        ex = [r(np.exp(a.astype(np.float64))) for a in (lo, hi, wlo, whi)]
    return DecayFit(critical_dose=r(dc), critical_dose_mle=r(dc_mle), ci_low=ex[0], ci_high=ex[1],
                    wald_low=ex[2], wald_high=ex[3], background=r(B), amplitude=r(I0),
                    onset=r(on), loglik=r(ll), n_counts=r(n_counts), status=r(status),
                    metadata={"cumulative_dose": D.tolist(), "dose_unit": "e-/A^2", "level": level,
                              "model": "B + I0 exp(-(D - D_on)+ / Dc)", "floor": floor, "onset": str(onset),
                              "bias_correction": str(bias_correction), "status_bits": STATUS})


def decay_model(doses, background, amplitude, critical_dose, onset=0.0):
    """λ(D) = B + I₀·exp(−(D − D_on)₊/D_c) [counts/frame] (for plots and tests; D_c [e⁻/Å²] > 0, inf =
    no decay)."""
    if not validate.is_traced(critical_dose):
        dc = np.asarray(critical_dose, float)
        if np.any(np.isnan(dc)) or np.any(dc <= 0):
            raise validate.InputError(f"critical_dose must be > 0 [e⁻/Å²] (inf: no decay), got {critical_dose}")
    D = jnp.asarray(doses)
    return background + amplitude * jnp.exp(-jnp.maximum(D - onset, 0.0) / critical_dose)


def fit_log_linear(counts, doses):
    """Baseline: least-squares line through log(y) vs D over frames with y > 0; D_c = −1/slope [e⁻/Å²].

    Biased when there is a floor (the log flattens) and at low counts (zeros dropped, log of
    small integers); returned as an array with ``inf`` where the slope is ≥ 0 and NaN where fewer
    than 3 frames have counts.
    """
    y, D = check_series(counts, doses, min_frames=2)
    y = y.astype(np.float64)
    D = np.broadcast_to(D, y.shape)
    w = (y > 0).astype(np.float64)
    ly = np.log(np.where(y > 0, y, 1.0))
    n = w.sum(-1)
    md = (w * D).sum(-1) / np.maximum(n, 1)
    ml = (w * ly).sum(-1) / np.maximum(n, 1)
    cov = (w * (D - md[..., None]) * (ly - ml[..., None])).sum(-1)
    var = (w * (D - md[..., None]) ** 2).sum(-1)
    slope = cov / np.maximum(var, 1e-300)
    with np.errstate(divide="ignore"):
        dc = np.where(slope < 0, -1.0 / np.where(slope < 0, slope, -1.0), np.inf)
    return np.where(n >= 3, dc, np.nan)


def average_critical_dose(series, doses, **kwargs) -> DecayFit:
    """Material-average D_c per reflection: fit the position-summed series (sum of Poissons is Poisson).

    Args:
        series: counts (scan_y, scan_x, n_frames, n_reflections) (e.g. :func:`jaxem.ltr.label_series`).
        doses: cumulative dose per frame [e⁻/Å²].
    """
    validate.array(series, "series", ndim=4, kind="real", units="counts", nonnegative=True)
    s = np.asarray(series)
    return fit_decay(np.moveaxis(s.sum((0, 1)), 0, -1), doses, **kwargs)


__all__ = ["DecayFit", "STATUS", "fit_decay", "fit_log_linear", "average_critical_dose", "decay_model",
           "poisson_loglik"]
