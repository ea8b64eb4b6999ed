"""TuRBO-1: trust-region Bayesian optimisation (Eriksson, Pearce, Gardner, Turner & Poloczek,
NeurIPS 2019, arXiv:1910.01739), in JAX as a pure ``ask``/``tell`` pair plus a driver.

Minimises f over the unit cube [0, 1]^d (map parameters with ``params.to_unit``/``from_unit``):

1. initial design of ``n_init`` points (randomly rotated scrambled Sobol points);
2. a local GP (:mod:`.gp`, Matérn-5/2 ARD) on the points of the current trust region, outputs
   standardised as (y − median)/std, hyperparameters by maximum marginal likelihood;
3. trust region: a box centred on the best point with sides L·w_i, w_i = ℓ_i/(Π ℓ_j)^{1/d}, clipped
   to the cube; candidates = Sobol points in the box (a fresh random rotation each step), each
   coordinate taken with probability p = min(20/d, 1) (at least one per candidate), else the centre;
4. Thompson sampling: a joint posterior sample over the candidates per batch slot; the argmin is
   taken without replacement, giving a batch of q points evaluated in parallel (``vmap``);
5. success if the batch improves the region's best by more than 1e-3·|best|; τ_succ = 3 successes
   double L (≤ L_max = 1.6), τ_fail = ⌈max(4/q, d/q)⌉ failures halve it; L < L_min = 2⁻⁷ (or a full
   buffer) restarts the region with a new initial design.

Data live in fixed-capacity buffers with a mask so ``ask``/``tell`` compile once.
"""
from __future__ import annotations

import math
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from scipy.stats import qmc

from . import gp


@struct.dataclass
class TurboConfig:
    """Static settings (all ``pytree_node=False``)."""

    dim: int = struct.field(pytree_node=False)
    batch: int = struct.field(pytree_node=False, default=4)
    n_init: int = struct.field(pytree_node=False, default=10)
    n_cand: int = struct.field(pytree_node=False, default=1000)
    capacity: int = struct.field(pytree_node=False, default=256)
    length_init: float = struct.field(pytree_node=False, default=0.8)
    length_min: float = struct.field(pytree_node=False, default=0.5**7)
    length_max: float = struct.field(pytree_node=False, default=1.6)
    succ_tol: int = struct.field(pytree_node=False, default=3)
    fail_tol: int = struct.field(pytree_node=False, default=0)
    gp_steps: int = struct.field(pytree_node=False, default=50)

    @property
    def failure_tolerance(self) -> int:
        return self.fail_tol or int(math.ceil(max(4.0 / self.batch, self.dim / self.batch)))


@struct.dataclass
class TurboState:
    """Trust-region state: local data buffers, side length, counters, incumbents, random key."""

    X: jnp.ndarray
    y: jnp.ndarray
    n: jnp.ndarray
    length: jnp.ndarray
    n_succ: jnp.ndarray
    n_fail: jnp.ndarray
    restarts: jnp.ndarray
    best_x: jnp.ndarray
    best_y: jnp.ndarray
    n_evals: jnp.ndarray
    key: jnp.ndarray
    sobol: jnp.ndarray  # (n_cand, d) scrambled Sobol base points in [0, 1)
    design_key: jnp.ndarray


def sobol_points(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Scrambled Sobol points (n, d) in [0, 1) (scipy.stats.qmc)."""
    m = int(math.ceil(math.log2(max(n, 2))))
    return qmc.Sobol(d, scramble=True, seed=seed).random_base2(m)[:n]


def init(config: TurboConfig, key, dtype=None) -> TurboState:
    """Empty trust region of side ``length_init`` (the first asks return the initial design)."""
    d, cap = config.dim, config.capacity
    dtype = jnp.asarray(0.0).dtype if dtype is None else dtype
    if config.n_init < 2 or config.capacity < config.n_init + config.batch:
        raise ValueError(f"need n_init ≥ 2 and capacity ≥ n_init + batch, got n_init={config.n_init}, "
                         f"capacity={config.capacity}, batch={config.batch}")
    k1, k2, k3 = jax.random.split(key, 3)
    sob = jnp.asarray(sobol_points(config.n_cand, d, int(jax.random.randint(k1, (), 0, 2**30))), dtype)
    return TurboState(jnp.zeros((cap, d), dtype), jnp.zeros(cap, dtype), jnp.asarray(0, jnp.int32),
                      jnp.asarray(config.length_init, dtype), jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32),
                      jnp.asarray(0, jnp.int32), jnp.full(d, 0.5, dtype), jnp.asarray(jnp.inf, dtype),
                      jnp.asarray(0, jnp.int32), k2, sob, k3)


def _initial_design(state: TurboState, config: TurboConfig):
    # one random rotation per restart, so the n_init design points stay a rotated Sobol set
    shift = jax.random.uniform(jax.random.fold_in(state.design_key, state.restarts), (config.dim,), state.X.dtype)
    idx = (state.n + jnp.arange(config.batch)) % config.n_cand
    return (state.sobol[idx] + shift) % 1.0


def _thompson(state: TurboState, config: TurboConfig, key):
    d, q = config.dim, config.batch
    mask = jnp.arange(config.capacity) < state.n
    yv = jnp.where(mask, state.y, jnp.nan)
    med = jnp.nanmedian(yv)
    sd = jnp.nanstd(yv)
    sd = jnp.where(sd > 0, sd, 1.0)
    ys = jnp.where(mask, (state.y - med) / sd, 0.0)
    p = gp.fit(state.X, ys, mask, config.gp_steps)
    ls = gp.constrain(p)[0]
    w = ls / jnp.exp(jnp.mean(jnp.log(ls)))
    i_best = jnp.argmin(jnp.where(mask, state.y, jnp.inf))
    centre = state.X[i_best]
    lb = jnp.clip(centre - w * state.length / 2, 0.0, 1.0)
    ub = jnp.clip(centre + w * state.length / 2, 0.0, 1.0)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    sob = (state.sobol + jax.random.uniform(k1, (d,), state.X.dtype)) % 1.0
    pert = lb + (ub - lb) * sob
    prob = min(20.0 / d, 1.0)
    pmask = jax.random.uniform(k2, pert.shape) < prob
    force = jax.nn.one_hot(jax.random.randint(k3, (config.n_cand,), 0, d), d, dtype=bool)
    pmask = pmask | (force & ~jnp.any(pmask, axis=1, keepdims=True))
    cand = jnp.where(pmask, pert, centre)
    f = gp.sample_posterior(k4, p, state.X, ys, mask, cand, q)

    def pick(taken, j):
        fj = jnp.where(taken, jnp.inf, f[:, j])
        i = jnp.argmin(fj)
        return taken.at[i].set(True), cand[i]

    _, xs = jax.lax.scan(pick, jnp.zeros(config.n_cand, bool), jnp.arange(q))
    return xs


def ask(state: TurboState, config: TurboConfig):
    """Next batch (q, d) in [0, 1]^d and the state with an advanced key (pure)."""
    key, sub = jax.random.split(state.key)
    xs = jax.lax.cond(state.n < config.n_init, lambda: _initial_design(state, config),
                      lambda: _thompson(state, config, sub))
    return xs, state.replace(key=key)


def tell(state: TurboState, config: TurboConfig, xs, ys) -> TurboState:
    """Add evaluated points; update counters, side length, incumbents; restart when L < L_min (pure).

    Non-finite values are stored as the worst finite value seen (a failed evaluation is a failure).
    """
    q = config.batch
    mask = jnp.arange(config.capacity) < state.n
    worst = jnp.max(jnp.where(mask, state.y, -jnp.inf))
    worst = jnp.where(jnp.isfinite(worst), worst, 1e30)
    ys = jnp.where(jnp.isfinite(ys), ys, jnp.maximum(worst, jnp.max(jnp.where(jnp.isfinite(ys), ys, -jnp.inf))))
    ys = jnp.where(jnp.isfinite(ys), ys, 1e30)
    local_best = jnp.min(jnp.where(mask, state.y, jnp.inf))
    in_design = state.n < config.n_init
    X = jax.lax.dynamic_update_slice_in_dim(state.X, xs.astype(state.X.dtype), state.n, axis=0)
    y = jax.lax.dynamic_update_slice_in_dim(state.y, ys.astype(state.y.dtype), state.n, axis=0)
    n = state.n + q
    bmin = jnp.min(ys)
    success = bmin < local_best - 1e-3 * jnp.abs(local_best)
    n_succ = jnp.where(in_design, 0, jnp.where(success, state.n_succ + 1, 0))
    n_fail = jnp.where(in_design, 0, jnp.where(success, 0, state.n_fail + 1))
    length = state.length
    grow = n_succ >= config.succ_tol
    shrink = n_fail >= config.failure_tolerance
    length = jnp.where(grow, jnp.minimum(2 * length, config.length_max), length)
    length = jnp.where(shrink, length / 2, length)
    n_succ = jnp.where(grow, 0, n_succ)
    n_fail = jnp.where(shrink, 0, n_fail)
    ib = jnp.argmin(ys)
    better = ys[ib] < state.best_y
    best_y = jnp.where(better, ys[ib], state.best_y)
    best_x = jnp.where(better, xs[ib].astype(state.X.dtype), state.best_x)
    restart = (length < config.length_min) | (n + q > config.capacity)
    return state.replace(
        X=X, y=y, n=jnp.where(restart, 0, n), length=jnp.where(restart, config.length_init, length),
        n_succ=jnp.where(restart, 0, n_succ), n_fail=jnp.where(restart, 0, n_fail),
        restarts=state.restarts + restart.astype(jnp.int32), best_x=best_x, best_y=best_y,
        n_evals=state.n_evals + q)


class TurboResult(NamedTuple):
    """Best point in the unit cube, its value, and history rows (wall time [s], evaluations, best)."""

    x: np.ndarray
    y: float
    history: list
    restarts: int


def minimize(f_batch: Callable, dim: int, budget: int, batch: int = 4, n_init: int | None = None,
             key=None, n_cand: int | None = None, capacity: int | None = None, target: float | None = None,
             x0=None, t0: float | None = None, dtype=None, **config_kw) -> TurboResult:
    """Minimise ``f_batch`` (a function (q, d) → (q,), e.g. a ``vmap``-ed objective) over [0, 1]^d.

    Args:
        f_batch: batched objective on the unit cube.
        dim: dimension d.
        budget: maximum number of evaluations.
        batch: q, points evaluated together.
        n_init: initial design size (default 2d, at least q).
        key: ``jax.random`` key.
        n_cand: Thompson candidates (default min(100 d, 2000)).
        capacity: local buffer size (default ≥ n_init + 64 q, capped at the budget + q).
        target: stop once the best value is ≤ target.
        x0: optional known point (d,) evaluated first (e.g. the current guess).
        t0: wall-clock origin for the history.
    """
    if budget < 1 or dim < 1:
        raise ValueError(f"budget and dim must be ≥ 1, got budget={budget}, dim={dim}")
    with single_threaded_blas():
        return _minimize(f_batch, dim, budget, batch, n_init, key, n_cand, capacity, target, x0, t0, dtype,
                         **config_kw)


def single_threaded_blas():
    """Context limiting BLAS/LAPACK to one thread (``threadpoolctl`` if installed; else a no-op).

    The GP matrices are small (n ≲ a few hundred): a multi-threaded OpenBLAS Cholesky of a 155²
    matrix was measured 60–100× slower than single-threaded on a loaded 2-core machine.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


def _minimize(f_batch, dim, budget, batch, n_init, key, n_cand, capacity, target, x0, t0, dtype, **config_kw):
    dtype = jnp.asarray(0.0).dtype if dtype is None else dtype  # float64 when x64 is enabled
    n_init = max(2 * dim, batch) if n_init is None else n_init
    n_cand = min(100 * dim, 2000) if n_cand is None else n_cand
    capacity = capacity or int(min(n_init + 64 * batch, budget + batch))
    capacity = max(capacity, n_init + batch)
    config = TurboConfig(dim=dim, batch=batch, n_init=n_init, n_cand=n_cand, capacity=capacity, **config_kw)
    key = jax.random.PRNGKey(0) if key is None else key
    state = init(config, key, dtype)
    ask_j = jax.jit(lambda s: ask(s, config))
    tell_j = jax.jit(lambda s, x, y: tell(s, config, x, y))
    t0 = time.perf_counter() if t0 is None else t0
    history = []
    if x0 is not None:
        x0 = jnp.asarray(x0, dtype).reshape(1, dim)
        y0 = jnp.asarray(f_batch(jnp.repeat(x0, batch, axis=0)), dtype)[:1]
        state = state.replace(best_x=x0[0], best_y=y0[0], n_evals=state.n_evals + 1)
        history.append((time.perf_counter() - t0, 1, float(y0[0])))
    while int(state.n_evals) < budget:
        xs, state = ask_j(state)
        ys = jnp.asarray(f_batch(xs), dtype)
        state = tell_j(state, xs, ys)
        history.append((time.perf_counter() - t0, int(state.n_evals), float(state.best_y)))
        if target is not None and float(state.best_y) <= target:
            break
    return TurboResult(np.asarray(state.best_x), float(state.best_y), history, int(state.restarts))


# ---- standard test functions (for tests and benchmarks) -----------------------------------------

def ackley(x, a: float = 20.0, b: float = 0.2, c: float = 2 * math.pi):
    """Ackley function on x (…, d) [any units]; global minimum 0 at x = 0."""
    d = x.shape[-1]
    s1 = jnp.sqrt(jnp.sum(x * x, axis=-1) / d)
    s2 = jnp.sum(jnp.cos(c * x), axis=-1) / d
    return -a * jnp.exp(-b * s1) - jnp.exp(s2) + a + math.e


_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
                  [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
HARTMANN6_MIN = -3.32237  #: global minimum (Surjanovic & Bingham, Virtual Library of Simulation Experiments)


def hartmann6(x):
    """Hartmann-6 on [0, 1]^6 (…, 6); global minimum −3.32237 at (0.20169, 0.150011, 0.476874,
    0.275332, 0.311652, 0.6573)."""
    inner = jnp.sum(_H6_A * (x[..., None, :] - _H6_P) ** 2, axis=-1)
    return -jnp.sum(_H6_ALPHA * jnp.exp(-inner), axis=-1)
