"""Poisson maximum-likelihood building blocks shared by the critical-dose and kinetics fits.

For counts y_k with expectation λ_k(θ) the log-likelihood (dropping log y!) is
ℓ(θ) = Σ_k y_k log λ_k − λ_k. Two solvers, both pure, jit-compatible and ``vmap``-able with a fixed
iteration count (so a batch of fits is one XLA program and nothing raises inside jit):

* :func:`linear_two_component` — the concave problem λ = a·u + b·v with a, b ≥ 0 (background plus
  one template), solved by a safeguarded projected Newton iteration: each step keeps the better of
  the Newton step and the monotone EM (MLEM) step, so ℓ never decreases.
* :func:`fisher_scoring` — Levenberg–Marquardt-damped Fisher scoring for a general smooth model
  λ(θ): (JᵀWJ + μ·diag(JᵀWJ))·δ = Jᵀ(y/λ − 1) with W = diag(1/λ); steps that lower ℓ are rejected
  and μ increased. Returns the estimate and a convergence flag (relative gradient small).

Both are written in the house's iteration shape: an ``init`` that returns a pytree state
(:class:`TwoComponentState`, :class:`ScoringState`), a pure ``step(state, …) -> state``, and the
driver (:func:`linear_two_component`, :func:`fisher_scoring`) that runs a fixed number of steps with
``lax.fori_loop`` inside the caller's jitted, vmapped program.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree

TINY = 1e-12


def poisson_loglik(y, lam):
    """ℓ = Σ y log λ − λ [nats] (without the constant −Σ log y!); λ ≤ 0 with y > 0 gives −inf."""
    lam = jnp.maximum(lam, TINY)
    return jnp.sum(jnp.where(y > 0, y * jnp.log(lam), 0.0) - lam, axis=-1)


def poisson_deviance(y, lam):
    """Deviance 2 Σ [y log(y/λ) − (y − λ)] (≥ 0; χ²-like goodness of fit)."""
    lam = jnp.maximum(lam, TINY)
    return 2 * jnp.sum(jnp.where(y > 0, y * jnp.log(jnp.maximum(y, TINY) / lam), 0.0) - (y - lam), axis=-1)


@pytree.dataclass
class TwoComponentState:
    """State of the two-component fit: amplitudes a, b ≥ 0 and ℓ at them [nats]."""

    a: jax.Array
    b: jax.Array
    loglik: jax.Array


def _ll2(y, u, v, a, b):
    return poisson_loglik(y, a * u + b * v)


def two_component_init(y, u, v, ab0) -> TwoComponentState:
    """Start at ``ab0`` (2,) (clipped to ≥ 0)."""
    dt = y.dtype
    a0, b0 = jnp.maximum(ab0[0], 0.0).astype(dt), jnp.maximum(ab0[1], 0.0).astype(dt)
    return TwoComponentState(a0, b0, _ll2(y, u, v, a0, b0).astype(dt))


def two_component_step(state: TwoComponentState, y, u, v) -> TwoComponentState:
    """One safeguarded step: the better of the projected Newton and the EM (MLEM) step; ℓ never
    decreases."""
    dt = y.dtype
    a, b, cur = state.a, state.b, state.loglik
    su, sv = jnp.maximum(jnp.sum(u), TINY), jnp.maximum(jnp.sum(v), TINY)
    lam = jnp.maximum(a * u + b * v, TINY)
    r = y / lam
    w = r / lam
    ga, gb = jnp.sum(u * r) - su, jnp.sum(v * r) - sv
    haa, hab, hbb = jnp.sum(w * u * u), jnp.sum(w * u * v), jnp.sum(w * v * v)
    eps = 1e-9 * (haa + hbb) + 1e-30
    haa, hbb = haa + eps, hbb + eps
    det = haa * hbb - hab * hab
    na = jnp.maximum(a + (hbb * ga - hab * gb) / det, 0.0)      # closed-form 2×2 Newton step
    nb = jnp.maximum(b + (haa * gb - hab * ga) / det, 0.0)
    ea, eb = a * jnp.sum(u * r) / su, b * jnp.sum(v * r) / sv   # EM (MLEM) step: monotone
    ln, le = _ll2(y, u, v, na, nb), _ll2(y, u, v, ea, eb)
    use_n = (ln >= le) & jnp.isfinite(ln)
    ca, cb, cl = jnp.where(use_n, na, ea), jnp.where(use_n, nb, eb), jnp.where(use_n, ln, le)
    keep = cl < cur
    return TwoComponentState(jnp.where(keep, a, ca).astype(dt), jnp.where(keep, b, cb).astype(dt),
                             jnp.where(keep, cur, cl).astype(dt))


def linear_two_component(y, u, v, ab0, n_iter: int = 6):
    """Maximise ℓ for λ = a·u + b·v over a, b ≥ 0 (driver of :func:`two_component_init` /
    :func:`two_component_step`).

    Args:
        y: counts (T,). u, v: non-negative templates (T,). ab0: start (2,) (> 0).
        n_iter: fixed number of safeguarded Newton/EM iterations.

    Returns:
        (ab, loglik): the estimate (2,) and ℓ at it.
    """
    st = jax.lax.fori_loop(0, n_iter, lambda _, s: two_component_step(s, y, u, v), two_component_init(y, u, v, ab0))
    return jnp.stack([st.a, st.b]), st.loglik


@pytree.dataclass
class ScoringState:
    """State of the Fisher-scoring fit: parameters θ, Levenberg–Marquardt damping μ, ℓ(θ) [nats]."""

    theta: jax.Array
    damping: jax.Array
    loglik: jax.Array


def fisher_scoring_init(model, theta0, x, y) -> ScoringState:
    """Start at ``theta0`` with damping 10⁻²."""
    dt = theta0.dtype
    return ScoringState(theta0, jnp.asarray(1e-2, dt), poisson_loglik(y, model(theta0, x)).astype(dt))


def fisher_scoring_step(state: ScoringState, model, x, y, lower, upper) -> ScoringState:
    """One damped scoring step (JᵀWJ + μ·diag)·δ = Jᵀ(y/λ − 1), clipped to [lower, upper]; a step that
    lowers ℓ is rejected and μ raised ×10, an accepted one lowers μ ×0.3."""
    dt = state.theta.dtype
    theta, mu, cur = state.theta, state.damping, state.loglik
    P = theta.shape[0]
    lam = jnp.maximum(model(theta, x), TINY)
    J = jax.jacfwd(model)(theta, x)                            # (T, P)
    g = J.T @ (y / lam - 1.0)
    F = (J / lam[:, None]).T @ J
    A = F + mu * (jnp.diag(jnp.diag(F)) + 1e-9 * jnp.eye(P))
    step = jnp.linalg.solve(A, g)
    cand = jnp.clip(theta + jnp.where(jnp.isfinite(step), step, 0.0), lower, upper)
    new = poisson_loglik(y, model(cand, x))
    ok = jnp.isfinite(new) & (new >= cur)
    return ScoringState(jnp.where(ok, cand, theta).astype(dt),
                        jnp.where(ok, jnp.maximum(mu * 0.3, 1e-6), mu * 10.0).astype(dt),
                        jnp.where(ok, new, cur).astype(dt))


def fisher_scoring(model, theta0, x, y, n_iter: int = 60, lower=None, upper=None):
    """Levenberg–Marquardt Fisher scoring for λ = model(θ, x) (pure; ``vmap`` over fits); the driver
    of :func:`fisher_scoring_init` / :func:`fisher_scoring_step`.

    Args:
        model: ``model(theta, x) -> λ`` (T,), differentiable in θ.
        theta0: start (P,). x: covariate (T,), e.g. dose [e⁻/Å²]. y: counts (T,).
        n_iter: fixed iteration count.
        lower, upper: optional box bounds (P,) applied by clipping each step.

    Returns:
        (theta, loglik, converged, fisher): estimate, ℓ, convergence flag, Fisher information (P, P).
    """
    P = theta0.shape[0]
    dt = theta0.dtype
    lo = -jnp.inf * jnp.ones(P, dt) if lower is None else jnp.asarray(lower, dt)
    hi = jnp.inf * jnp.ones(P, dt) if upper is None else jnp.asarray(upper, dt)
    st = jax.lax.fori_loop(0, n_iter, lambda _, s: fisher_scoring_step(s, model, x, y, lo, hi),
                           fisher_scoring_init(model, theta0, x, y))
    theta, cur = st.theta, st.loglik
    lam = jnp.maximum(model(theta, x), TINY)
    J = jax.jacfwd(model)(theta, x)
    F = (J / lam[:, None]).T @ J
    g = J.T @ (y / lam - 1.0)
    # converged: Newton decrement gᵀF⁻¹g small (free coordinates only: clipped ones may keep a gradient)
    free = (theta > lo + 1e-9) & (theta < hi - 1e-9)
    gf = jnp.where(free, g, 0.0)
    Ff = jnp.where(free[:, None] & free[None, :], F, jnp.eye(P))
    dec = gf @ jnp.linalg.solve(Ff + 1e-12 * jnp.eye(P), gf)
    tol = 1e-4 + 10 * jnp.finfo(dt).eps * jnp.abs(cur)   # ℓ is only known to its rounding error
    converged = jnp.isfinite(cur) & (dec < tol)
    return theta, cur, converged, F


def run_bucketed(fn, batched, shared, dt, bucket: int, bytes_per_item: int, memory_budget):
    """Run ``fn(*batched, *shared)`` over the leading axis of ``batched`` in batches whose size comes
    from the memory budget, rounded to a multiple of ``bucket`` (padded with the first item) so that a
    handful of compiled shapes serve every call. Returns the outputs as float64 NumPy arrays."""
    N = batched[0].shape[0]
    b = accel.batch_size(bytes_per_item, N, memory_budget)
    b = bucket * int(np.ceil(b / bucket))
    shared = tuple(jnp.asarray(a, dt) for a in shared)
    outs = []
    for start in range(0, N, b):  # a few large batches, each one vmapped XLA call
        blk = [a[start:start + b] for a in batched]
        pad = b - blk[0].shape[0]
        if pad:
            blk = [np.concatenate([a, np.repeat(a[:1], pad, 0)]) for a in blk]
        res = fn(*(jnp.asarray(a, dt) for a in blk), *shared)
        outs.append([np.asarray(r, np.float64)[:b - pad] for r in res])
    return [np.concatenate(parts) for parts in zip(*outs)]
