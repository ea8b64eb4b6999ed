"""A small exact Gaussian process in JAX for Bayesian optimisation (Matérn-5/2 ARD kernel).

    k(x, x') = s² (1 + √5 r + 5r²/3) exp(−√5 r),   r² = Σ_i (x_i − x'_i)² / ℓ_i²

with a constant mean μ and Gaussian noise σ_n². Inputs live in the unit cube; outputs are
standardised by the caller. Hyperparameters θ = (ℓ, s², σ_n², μ) are kept inside the TuRBO box
constraints (ℓ ∈ [0.005, 2], s² ∈ [0.05, 20], σ_n² ∈ [5e-4, 0.2]; Eriksson et al. 2019) by a
sigmoid reparameterisation and fitted by maximising the log marginal likelihood

    log p(y | X, θ) = −½ (y − μ)ᵀ K⁻¹ (y − μ) − ½ log|K| − (n/2) log 2π,   K = K_θ(X, X) + σ_n² I

with optax Adam. The Cholesky factor gets a small jitter. Data are held in fixed-capacity buffers
with a validity mask (padding rows are decoupled and contribute nothing), so the jitted functions
compile once per capacity, not once per data size.
"""
from __future__ import annotations

import math

from typing import Any

import jax
import jax.numpy as jnp
import optax

from .. import accel, pytree

LS_BOUNDS = (0.005, 2.0)
OS_BOUNDS = (0.05, 20.0)
NOISE_BOUNDS = (5e-4, 0.2)
JITTER = 1e-6


@pytree.dataclass
class GPParams:
    """Unconstrained GP hyperparameters (map with :func:`constrain`): lengthscales (d,), outputscale,
    noise variance (sigmoid-boxed) and the constant mean (in standardised output units)."""

    raw_ls: Any
    raw_os: Any
    raw_noise: Any
    mean: Any


def _box(raw, lo, hi):
    return lo + (hi - lo) * jax.nn.sigmoid(raw)


def _unbox(x, lo, hi):
    u = (x - lo) / (hi - lo)
    return jnp.log(u) - jnp.log1p(-u)


def constrain(p: GPParams):
    """(lengthscales (d,), outputscale s², noise σ_n², mean μ) inside the TuRBO boxes."""
    return (_box(p.raw_ls, *LS_BOUNDS), _box(p.raw_os, *OS_BOUNDS), _box(p.raw_noise, *NOISE_BOUNDS), p.mean)


def init_params(d: int, precision=None) -> GPParams:
    """Start: ℓ = 0.5, s² = 1, σ_n² = 0.005, μ = 0 (``precision``: any ``accel`` alias)."""
    dtype = accel.dtypes(precision)[0]
    return GPParams(jnp.full(d, _unbox(0.5, *LS_BOUNDS), dtype), jnp.asarray(_unbox(1.0, *OS_BOUNDS), dtype),
                    jnp.asarray(_unbox(0.005, *NOISE_BOUNDS), dtype), jnp.asarray(0.0, dtype))


def matern52(x1, x2, lengthscales, outputscale):
    """Matérn-5/2 ARD covariance matrix (n1, n2) between points x1 (n1, d) and x2 (n2, d)."""
    d = (x1[:, None, :] - x2[None, :, :]) / lengthscales
    r2 = jnp.sum(d * d, axis=-1)
    r = jnp.sqrt(jnp.where(r2 > 0, r2, 1.0)) * (r2 > 0)
    s5 = math.sqrt(5.0) * r
    return outputscale * (1 + s5 + 5.0 * r2 / 3.0) * jnp.exp(-s5)


def _gram(p: GPParams, X, mask):
    ls, os_, noise, _ = constrain(p)
    K = matern52(X, X, ls, os_)
    m = mask.astype(X.dtype)
    K = K * m[:, None] * m[None, :]
    diag = jnp.where(mask, noise + JITTER * os_, 1.0)
    return K + jnp.diag(diag)


def neg_log_marginal_likelihood(p: GPParams, X, y, mask):
    """−log p(y | X, θ) / n over the valid rows (``mask``) of the buffers X (cap, d), y (cap,)."""
    K = _gram(p, X, mask)
    L = jnp.linalg.cholesky(K)
    r = jnp.where(mask, y - p.mean, 0.0)
    a = jax.scipy.linalg.solve_triangular(L, r, lower=True)
    n = jnp.maximum(jnp.sum(mask), 1)
    nll = 0.5 * jnp.sum(a * a) + jnp.sum(jnp.log(jnp.diagonal(L))) + 0.5 * n * math.log(2 * math.pi)
    return nll / n


def fit(X, y, mask, steps: int = 50, learning_rate: float = 0.1, init: GPParams | None = None) -> GPParams:
    """Maximise the marginal likelihood with Adam (``steps`` iterations, pure and jit-able)."""
    p0 = init_params(X.shape[1], accel.precision_of(X)) if init is None else init
    opt = optax.adam(learning_rate)
    vg = jax.value_and_grad(neg_log_marginal_likelihood)

    def body(carry, _):
        p, s = carry
        _, g = vg(p, X, y, mask)
        g = jax.tree.map(lambda v: jnp.where(jnp.isfinite(v), v, 0.0), g)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    (p, _), _ = jax.lax.scan(body, (p0, opt.init(p0)), None, length=steps)
    return p


def posterior(p: GPParams, X, y, mask, Xs, full_cov: bool = True):
    """Posterior mean (m,) and covariance (m, m) (or variance (m,)) of the latent f at Xs (m, d)."""
    ls, os_, _, mean = constrain(p)
    K = _gram(p, X, mask)
    L = jnp.linalg.cholesky(K)
    Ks = matern52(X, Xs, ls, os_) * mask.astype(X.dtype)[:, None]
    r = jnp.where(mask, y - mean, 0.0)
    alpha = jax.scipy.linalg.cho_solve((L, True), r)
    mu = mean + Ks.T @ alpha
    v = jax.scipy.linalg.solve_triangular(L, Ks, lower=True)
    if not full_cov:
        return mu, jnp.maximum(os_ - jnp.sum(v * v, axis=0), 0.0)
    cov = matern52(Xs, Xs, ls, os_) - v.T @ v
    return mu, cov


def sample_jitter(m: int, dtype) -> float:
    """Diagonal jitter, relative to s², that keeps the Cholesky factor of an m × m posterior
    covariance finite: 1e-6, or 10·m·ε of ``dtype`` when that is larger (float32: 6e-4 for
    m = 500; float64: always 1e-6)."""
    return max(1e-6, 10.0 * m * float(jnp.finfo(dtype).eps))


def sample_posterior(key, p: GPParams, X, y, mask, Xs, n_samples: int):
    """Joint posterior samples (m, n_samples) of f at Xs (Cholesky with the jitter of
    :func:`sample_jitter` relative to s²). Should the factor still fail (non-finite), the samples are
    drawn from the marginal posterior instead (independent per point), never NaN."""
    mu, cov = posterior(p, X, y, mask, Xs)
    os_ = constrain(p)[1]
    m = Xs.shape[0]
    Lc = jnp.linalg.cholesky(cov + (sample_jitter(m, cov.dtype) * os_ + 1e-10) * jnp.eye(m, dtype=cov.dtype))
    eps = jax.random.normal(key, (m, n_samples), cov.dtype)
    joint = mu[:, None] + Lc @ eps
    marginal = mu[:, None] + jnp.sqrt(jnp.maximum(jnp.diagonal(cov), 0.0))[:, None] * eps
    return jnp.where(jnp.all(jnp.isfinite(joint)), joint, marginal)
