"""Beam-induced crystallisation kinetics: emergence dose of new reflections and JMAK/Avrami growth.

**Emergence (change point).** For the counts y_k of a reflection in frame k, compare "constant rate"
with "rate b₁ before frame τ, b₂ > b₁ from τ on" by the Poisson likelihood ratio

    LR(τ) = 2[ℓ(b̂₁; y_<τ) + ℓ(b̂₂; y_≥τ) − ℓ(b̂; y)],    ℓ(b; y) = S log b − n b,  b̂ = S/n,

computed for every τ at once from prefix sums. The reflection has emerged when max_τ LR exceeds a
threshold (default: the χ²₁ quantile at α/n_frames, a Bonferroni bound over the candidate frames);
the emergence dose is the dose at the start of frame τ̂ [e⁻/Å²].

**JMAK/Avrami growth.** With the kinematic intensity proportional to the crystalline volume,

    λ_k = B + S·X(D_k),    X(D) = 1 − exp(−[K·(D − D₀)₊]ⁿ)

(Johnson–Mehl–Avrami–Kolmogorov; n the Avrami exponent, K [Å²/e⁻] the rate, D₀ [e⁻/Å²] the
incubation dose), fitted by Poisson maximum likelihood (:func:`jaxem.ltr.poisson.fisher_scoring`,
parameters (B, S, log K, D₀, log n)) from several starts per series, all vectorised with ``vmap``.
:func:`avrami_linearisation` gives the classic diagnostic ln(−ln(1 − X)) against ln(D − D₀), slope n.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from .critical_dose import check_series
from .poisson import fisher_scoring, run_bucketed

#: status bits
OK, NOT_DETECTED, TOO_FEW_COUNTS, NOT_CONVERGED = 0, 1, 2, 4
#: bytes of one JMAK fit's working set per frame (starts × (Jacobian, Fisher, temporaries))
_JMAK_BYTES_PER_FRAME = 8 * 8 * 64


def _check(counts, doses):
    return check_series(counts, doses, min_frames=4)


@pytree.dataclass
class ChangePoint:
    """Emergence of a reflection per series.

    Attributes:
        emergence_dose: dose at the start of the first frame of the higher rate [e⁻/Å²] (NaN when not
            detected; see ``status``).
        frame: that frame index (−1 when not detected).
        statistic: max_τ LR. rate_before, rate_after: b̂₁, b̂₂ [counts/frame]. status: bitmask.
    """

    emergence_dose: np.ndarray = pytree.field(units="e⁻/Å²")
    frame: np.ndarray
    statistic: np.ndarray
    rate_before: np.ndarray = pytree.field(units="counts/frame")
    rate_after: np.ndarray = pytree.field(units="counts/frame")
    status: np.ndarray
    metadata: dict = pytree.field(static=True, default_factory=dict)


def _xlogx_rate(S, n):
    b = S / jnp.maximum(n, 1)
    return jnp.where(S > 0, S * jnp.log(jnp.maximum(b, 1e-30)), 0.0) - S


@jax.jit
def _change_point(y):
    T = y.shape[-1]
    c = jnp.cumsum(y, -1)
    tot = c[..., -1:]
    tau = jnp.arange(1, T)                                    # split before frame tau
    S1 = c[..., :-1]
    S2 = tot - S1
    n1, n2 = tau.astype(y.dtype), (T - tau).astype(y.dtype)
    lr = 2 * (_xlogx_rate(S1, n1) + _xlogx_rate(S2, n2) - _xlogx_rate(tot, jnp.asarray(T, y.dtype)))
    rising = S2 / n2 > S1 / n1
    lr = jnp.where(rising, lr, 0.0)
    k = jnp.argmax(lr, -1)
    best = jnp.take_along_axis(lr, k[..., None], -1)[..., 0]
    b1 = jnp.take_along_axis(S1, k[..., None], -1)[..., 0] / (k + 1)
    b2 = jnp.take_along_axis(S2, k[..., None], -1)[..., 0] / (T - k - 1)
    return best, k + 1, b1, b2


def emergence_dose(counts, doses, alpha: float = 0.01, threshold: float | None = None,
                   min_counts: float = 5.0, precision=None) -> ChangePoint:
    """Likelihood-ratio change point of every series in ``counts`` (…, n_frames).

    Args:
        counts: counts per frame (virtual detector on the new reflection), any leading shape.
        doses: cumulative dose at frame centres (n_frames,) [e⁻/Å²].
        alpha: family-wise false-detection probability per series (sets the default threshold).
        threshold: LR threshold overriding ``alpha``.
        min_counts: series with fewer total counts get TOO_FEW_COUNTS.
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (default: follows ``counts``; integer
            counts → float32).
    """
    from scipy.stats import chi2

    y, D = _check(counts, doses)
    alpha = validate.scalar(alpha, "alpha", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    min_counts = validate.scalar(min_counts, "min_counts", "counts", nonnegative=True)
    thr = float(chi2.isf(alpha / D.size, 1)) if threshold is None else validate.scalar(threshold, "threshold",
                                                                                        positive=True)
    if precision is None:
        dt = accel.dtypes_of(y)[0] if y.dtype.kind == "f" else accel.real_dtype(None)
    else:
        dt = accel.real_dtype(precision)
    stat, k, b1, b2 = (np.asarray(a) for a in _change_point(jnp.asarray(y, dt)))
    starts = np.concatenate([[max(0.0, D[0] - 0.5 * (D[1] - D[0]))], 0.5 * (D[1:] + D[:-1])])  # frame starts
    few = y.sum(-1) < min_counts
    det = (stat > thr) & ~few
    status = np.where(det, OK, NOT_DETECTED) | np.where(few, TOO_FEW_COUNTS, 0)
    return ChangePoint(emergence_dose=np.where(det, starts[k], np.nan), frame=np.where(det, k, -1),
                       statistic=stat, rate_before=b1, rate_after=b2, status=status.astype(np.int32),
                       metadata={"cumulative_dose": D.tolist(), "dose_unit": "e-/A^2", "threshold": thr})


def jmak_model(theta, dose):
    """λ = B + S·(1 − exp(−[K(D − D₀)₊]ⁿ)) with θ = (B, S, log K, D₀, log n) [counts/frame]."""
    B, S, logK, D0, logn = theta[0], theta[1], theta[2], theta[3], theta[4]
    x = jnp.maximum(dose - D0, 0.0) * jnp.exp(logK)
    xn = jnp.where(x > 0, jnp.exp(jnp.exp(logn) * jnp.log(jnp.maximum(x, 1e-30))), 0.0)
    return B + S * (1.0 - jnp.exp(-xn))


@pytree.dataclass
class JMAKFit:
    """JMAK fit per series: rate K [Å²/e⁻], exponent n, onset D₀ [e⁻/Å²], background B and saturation S
    [counts/frame], their Wald standard errors (``*_se``), log-likelihood and status bitmask."""

    K: np.ndarray = pytree.field(units="Å²/e⁻")
    n: np.ndarray
    D0: np.ndarray = pytree.field(units="e⁻/Å²")
    background: np.ndarray = pytree.field(units="counts/frame")
    saturation: np.ndarray = pytree.field(units="counts/frame")
    K_se: np.ndarray = pytree.field(units="Å²/e⁻")
    n_se: np.ndarray
    D0_se: np.ndarray = pytree.field(units="e⁻/Å²")
    loglik: np.ndarray = pytree.field(units="nats")
    status: np.ndarray
    metadata: dict = pytree.field(static=True, default_factory=dict)


@functools.lru_cache(maxsize=8)
def _jmak_compiled(n_iter: int):
    def one(y, starts, D):
        lo = jnp.array([0.0, 0.0, -12.0, D[0] - (D[-1] - D[0]), np.log(0.3)], y.dtype)
        hi = jnp.array([jnp.inf, jnp.inf, 5.0, D[-1], np.log(8.0)], y.dtype)

        def fit(t0):
            return fisher_scoring(jmak_model, t0, D, y, n_iter, lo, hi)

        th, ll, conv, F = jax.vmap(fit)(starts)
        i = jnp.argmax(jnp.where(jnp.isfinite(ll), ll, -jnp.inf))
        cov = jnp.linalg.pinv(F[i])
        return th[i], ll[i], conv[i], jnp.sqrt(jnp.maximum(jnp.diag(cov), 0.0))
    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


def _starts(y, D):
    """Several starts per series from the smoothed curve: n ∈ {1, 2, 3, 4} × two onset guesses."""
    T = D.size
    m = max(2, T // 10)
    B = np.maximum(y[:, :m].mean(1), 0.05)
    top = np.maximum(y[:, -m:].mean(1) - B, 0.5)
    ker = np.ones(m) / m
    sm = np.apply_along_axis(lambda r: np.convolve(r, ker, mode="same"), 1, y)
    frac = (sm - B[:, None]) / top[:, None]
    i10 = np.argmax(frac > 0.1, 1)
    i63 = np.argmax(frac > 0.63, 1)
    starts = []
    for n0 in (1.0, 2.0, 3.0, 4.0):
        for shift in (0.0, 0.5):
            D63 = D[i63]
            D10 = D[i10]
            D0 = D10 - shift * (D63 - D10)
            # X(D63) = 1 − e^{-1}  ⇒  K = 1/(D63 − D0)
            K = 1.0 / np.maximum(D63 - D0, D[1] - D[0])
            starts.append(np.stack([B, top, np.log(K), D0, np.full_like(B, np.log(n0))], -1))
    return np.stack(starts, 1)                               # (N, n_starts, 5)


def fit_jmak(counts, doses, n_iter: int = 80, min_counts: float = 20.0, precision=None,
             memory_budget=None) -> JMAKFit:
    """Poisson ML JMAK fit of every growth series in ``counts`` (…, n_frames).

    Args:
        counts: counts per frame of a growing reflection (virtual detector), any leading shape.
        doses: cumulative dose at frame centres (n_frames,) [e⁻/Å²].
        n_iter: Fisher-scoring iterations per start (fixed, ≥ 1).
        min_counts: series with fewer total counts are flagged TOO_FEW_COUNTS (values NaN).
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (float32 default).
        memory_budget: memory budget [bytes or '256M'] for the number of series fitted at once.
    """
    y, D = _check(counts, doses)
    n_iter = validate.integer(n_iter, "n_iter", lo=1)
    min_counts = validate.scalar(min_counts, "min_counts", "counts", nonnegative=True)
    lead = y.shape[:-1]
    Y = y.reshape(-1, D.size).astype(np.float64)
    dt = accel.real_dtype(precision)
    st = _starts(Y, D)
    th, ll, conv, se = run_bucketed(_jmak_compiled(n_iter), (Y, st), (D,), dt, 32,
                                 _JMAK_BYTES_PER_FRAME * D.size, memory_budget)
    few = Y.sum(-1) < min_counts
    status = (np.where(conv > 0, OK, NOT_CONVERGED) | np.where(few, TOO_FEW_COUNTS, 0)).astype(np.int32)

    def r(a):
        return np.where(few, np.nan, a).reshape(lead)

    K, n = np.exp(th[:, 2]), np.exp(th[:, 4])
    return JMAKFit(K=r(K), n=r(n), D0=r(th[:, 3]), background=r(th[:, 0]), saturation=r(th[:, 1]),
                   K_se=r(K * se[:, 2]), n_se=r(n * se[:, 4]), D0_se=r(se[:, 3]), loglik=r(ll),
                   status=status.reshape(lead),
                   metadata={"cumulative_dose": D.tolist(), "dose_unit": "e-/A^2",
                             "model": "B + S (1 - exp(-[K (D - D0)+]^n))"})


def avrami_linearisation(fraction, doses, D0: float):
    """(ln(D − D₀), ln(−ln(1 − X))) for 0 < X < 1 and D > D₀: a straight line of slope n (JMAK).

    Args:
        fraction: transformed fraction X per frame (0..1). doses: dose [e⁻/Å²]. D0: onset [e⁻/Å²].
    """
    validate.array(fraction, "fraction", ndim=1, kind="real")
    X = np.asarray(fraction, np.float64)
    validate.array(doses, "doses", shape=X.shape, kind="real", units="e⁻/Å²")
    D = np.asarray(doses, np.float64)
    D0 = validate.scalar(D0, "D0", "e⁻/Å²")
    ok = (X > 0) & (X < 1) & (D > D0)
    return np.log(D[ok] - D0), np.log(-np.log(1 - X[ok]))
