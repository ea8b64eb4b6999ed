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
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

TINY = 1e-12


def poisson_loglik(y, lam):
    """ℓ = Σ y log λ − λ [nats] (without the constant −Σ log y!); λ ≤ 0 with y > 0 gives −inf."""
    lam = jnp.maximum(lam, TINY)
    return jnp.sum(jnp.where(y > 0, y * jnp.log(lam), 0.0) - lam, axis=-1)


def poisson_deviance(y, lam):
    """Deviance 2 Σ [y log(y/λ) − (y − λ)] (≥ 0; χ²-like goodness of fit)."""
    lam = jnp.maximum(lam, TINY)
    return 2 * jnp.sum(jnp.where(y > 0, y * jnp.log(jnp.maximum(y, TINY) / lam), 0.0) - (y - lam), axis=-1)


def linear_two_component(y, u, v, ab0, n_iter: int = 6):
    """Maximise ℓ for λ = a·u + b·v over a, b ≥ 0.

    Args:
        y: counts (T,). u, v: non-negative templates (T,). ab0: start (2,) (> 0).
        n_iter: fixed number of safeguarded Newton/EM iterations.

    Returns:
        (ab, loglik): the estimate (2,) and ℓ at it.
    """
    dt = y.dtype
    su, sv = jnp.maximum(jnp.sum(u), TINY), jnp.maximum(jnp.sum(v), TINY)

    def ll(a, b):
        return poisson_loglik(y, a * u + b * v)

    def body(_, c):
        a, b, cur = c
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
        ln, le = ll(na, nb), ll(ea, eb)
        use_n = (ln >= le) & jnp.isfinite(ln)
        ca, cb, cl = jnp.where(use_n, na, ea), jnp.where(use_n, nb, eb), jnp.where(use_n, ln, le)
        keep = cl < cur
        return (jnp.where(keep, a, ca).astype(dt), jnp.where(keep, b, cb).astype(dt),
                jnp.where(keep, cur, cl).astype(dt))

    a0, b0 = jnp.maximum(ab0[0], 0.0).astype(dt), jnp.maximum(ab0[1], 0.0).astype(dt)
    a, b, cur = jax.lax.fori_loop(0, n_iter, body, (a0, b0, ll(a0, b0).astype(dt)))
    return jnp.stack([a, b]), cur


def fisher_scoring(model, theta0, x, y, n_iter: int = 60, lower=None, upper=None):
    """Levenberg–Marquardt Fisher scoring for λ = model(θ, x) (pure; ``vmap`` over fits).

    Args:
        model: ``model(theta, x) -> λ`` (T,), differentiable in θ.
        theta0: start (P,). x: covariate (T,), e.g. dose [e⁻/Å²]. y: counts (T,).
        n_iter: fixed iteration count.
        lower, upper: optional box bounds (P,) applied by clipping each step.

    Returns:
        (theta, loglik, converged, fisher): estimate, ℓ, convergence flag, Fisher information (P, P).
    """
    P = theta0.shape[0]
    lo = -jnp.inf * jnp.ones(P) if lower is None else jnp.asarray(lower, theta0.dtype)
    hi = jnp.inf * jnp.ones(P) if upper is None else jnp.asarray(upper, theta0.dtype)

    def f(theta):
        return model(theta, x)

    def ll(theta):
        return poisson_loglik(y, f(theta))

    def body(_, carry):
        theta, mu, cur = carry
        lam = jnp.maximum(f(theta), TINY)
        J = jax.jacfwd(f)(theta)                               # (T, P)
        g = J.T @ (y / lam - 1.0)
        F = (J / lam[:, None]).T @ J
        A = F + mu * (jnp.diag(jnp.diag(F)) + 1e-9 * jnp.eye(P))
        step = jnp.linalg.solve(A, g)
        cand = jnp.clip(theta + jnp.where(jnp.isfinite(step), step, 0.0), lo, hi)
        new = ll(cand)
        ok = jnp.isfinite(new) & (new >= cur)
        theta = jnp.where(ok, cand, theta)
        cur = jnp.where(ok, new, cur)
        mu = jnp.where(ok, jnp.maximum(mu * 0.3, 1e-6), mu * 10.0)
        return theta.astype(dt), mu.astype(dt), cur.astype(dt)

    dt = theta0.dtype
    theta, _, cur = jax.lax.fori_loop(0, n_iter, body, (theta0, jnp.asarray(1e-2, dt), ll(theta0).astype(dt)))
    lam = jnp.maximum(f(theta), TINY)
    J = jax.jacfwd(f)(theta)
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
