"""TuRBO-1: trust-region Bayesian optimisation (Eriksson, Pearce, Gardner, Turner & Poloczek,
NeurIPS 2019, arXiv:1910.01739), in JAX as a pure ``init``/``step`` pair plus a driver.

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

Iteration shape (ask/tell as one pure step): ``state = init(config, key)`` holds the first batch of
points to evaluate in ``state.candidates`` (q, d); ``state = step(state, values)`` records the values
f(candidates) (q,), updates the trust region and puts the next batch in ``state.candidates``;
:func:`result` reads the best point out. :func:`minimize` is the driver. Data live in
fixed-capacity buffers with a mask, and the configuration is static in the state, so ``step``
compiles once per configuration.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import qmc

from .. import accel, pytree, validate
from . import gp


@pytree.dataclass
class TurboConfig:
    """Static settings (hashable): dimension d, batch q, initial design size, candidates per
    Thompson draw, buffer capacity, trust-region side lengths (initial, min, max; unit-cube units),
    success/failure tolerances (``fail_tol = 0``: ⌈max(4/q, d/q)⌉) and GP fitting steps."""

    dim: int = pytree.field(static=True)
    batch: int = pytree.field(static=True, default=4)
    n_init: int = pytree.field(static=True, default=10)
    n_cand: int = pytree.field(static=True, default=1000)
    capacity: int = pytree.field(static=True, default=256)
    length_init: float = pytree.field(static=True, default=0.8)
    length_min: float = pytree.field(static=True, default=0.5**7)
    length_max: float = pytree.field(static=True, default=1.6)
    succ_tol: int = pytree.field(static=True, default=3)
    fail_tol: int = pytree.field(static=True, default=0)
    gp_steps: int = pytree.field(static=True, default=50)

    def __post_init__(self):
        for name in ("dim", "batch", "n_cand", "gp_steps"):
            object.__setattr__(self, name, validate.integer(getattr(self, name), name, lo=1))
        object.__setattr__(self, "n_init", validate.integer(self.n_init, "n_init", lo=2))
        object.__setattr__(self, "capacity", validate.integer(self.capacity, "capacity",
                                                              lo=self.n_init + self.batch))
        object.__setattr__(self, "succ_tol", validate.integer(self.succ_tol, "succ_tol", lo=1))
        object.__setattr__(self, "fail_tol", validate.integer(self.fail_tol, "fail_tol", lo=0))
        lmin = validate.scalar(self.length_min, "length_min", positive=True)
        lmax = validate.scalar(self.length_max, "length_max", lo=lmin)
        object.__setattr__(self, "length_min", lmin)
        object.__setattr__(self, "length_max", lmax)
        object.__setattr__(self, "length_init", validate.scalar(self.length_init, "length_init", lo=lmin, hi=lmax))

    @property
    def failure_tolerance(self) -> int:
        return self.fail_tol or int(math.ceil(max(4.0 / self.batch, self.dim / self.batch)))


@pytree.dataclass
class TurboState:
    """Trust-region state: local data buffers, side length, counters, incumbents, random keys, and
    the batch of points to evaluate next (``candidates`` (q, d) in [0, 1]^d)."""

    config: TurboConfig = pytree.field(static=True)
    X: Any = None
    y: Any = None
    n: Any = None
    length: Any = None
    n_succ: Any = None
    n_fail: Any = None
    restarts: Any = None
    best_x: Any = None
    best_y: Any = None
    n_evals: Any = None
    key: Any = None
    sobol: Any = None  # (n_cand, d) scrambled Sobol base points in [0, 1)
    design_key: Any = None
    candidates: Any = None


@pytree.dataclass
class TurboResult:
    """Best point in the unit cube, its value, history rows (wall time [s], evaluations, best) as an
    (n, 3) array, and the number of trust-region restarts."""

    x: Any
    y: Any
    history: Any
    restarts: int = pytree.field(static=True, default=0)


def sobol_points(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Scrambled Sobol points (n, d) in [0, 1) (scipy.stats.qmc)."""
    m = int(math.ceil(math.log2(max(n, 2))))
    return qmc.Sobol(d, scramble=True, seed=seed).random_base2(m)[:n]


def init(config: TurboConfig, key, precision=None) -> TurboState:
    """Empty trust region of side ``length_init``; ``candidates`` = the first initial-design batch.

    Runs on the host (draws the Sobol base points with scipy). ``precision`` (any alias of
    :func:`jaxem.accel.resolve_precision`) sets the dtype of the GP and of the points.
    """
    if not isinstance(config, TurboConfig):
        raise validate.InputTypeError(f"config must be a TurboConfig, got {type(config).__name__}")
    real = accel.dtypes(precision)[0]
    d, cap = config.dim, config.capacity
    k1, k2, k3 = jax.random.split(key, 3)
    sob = jnp.asarray(sobol_points(config.n_cand, d, int(jax.random.randint(k1, (), 0, 2**30))), real)
    state = TurboState(config, jnp.zeros((cap, d), real), jnp.zeros(cap, real), jnp.asarray(0, jnp.int32),
                       jnp.asarray(config.length_init, real), jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32),
                       jnp.asarray(0, jnp.int32), jnp.full(d, 0.5, real), jnp.asarray(jnp.inf, real),
                       jnp.asarray(0, jnp.int32), k2, sob, k3, jnp.zeros((config.batch, d), real))
    return state.replace(candidates=_initial_design(state).astype(real))  # n = 0 < n_init: the design


def step(state: TurboState, values) -> TurboState:
    """Record ``values`` (q,) = f(state.candidates), update the trust region, and propose the next
    candidates (pure, jit-able). Non-finite values count as the worst value seen (a failure)."""
    return _propose(_tell(state, state.candidates, jnp.asarray(values, state.y.dtype)))


def result(state: TurboState):
    """(best point (d,) in [0, 1]^d, its value)."""
    return state.best_x, state.best_y


def _initial_design(state: TurboState):
    config = state.config
    # one random rotation per restart, so the n_init design points stay a rotated Sobol set
    shift = jax.random.uniform(jax.random.fold_in(state.design_key, state.restarts), (config.dim,), state.X.dtype)
    idx = (state.n + jnp.arange(config.batch)) % config.n_cand
    return (state.sobol[idx] + shift) % 1.0


def _thompson(state: TurboState, key):
    config = state.config
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


def _propose(state: TurboState) -> TurboState:
    """The next batch (q, d) in [0, 1]^d into ``state.candidates``; advances the key."""
    key, sub = jax.random.split(state.key)
    xs = jax.lax.cond(state.n < state.config.n_init, lambda: _initial_design(state),
                      lambda: _thompson(state, sub))
    return state.replace(key=key, candidates=xs.astype(state.X.dtype))


def _tell(state: TurboState, xs, ys) -> TurboState:
    """Add evaluated points; update counters, side length, incumbents; restart when L < L_min."""
    config = state.config
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


_step = jax.jit(step)


def minimize(f_batch: Callable, dim: int, max_evaluations: int, batch: int = 4, n_init: int | None = None,
             key=None, n_cand: int | None = None, capacity: int | None = None, target: float | None = None,
             x0=None, t0: float | None = None, precision=None, **config_kw) -> TurboResult:
    """Minimise ``f_batch`` (a function (q, d) → (q,), e.g. a ``vmap``-ed objective) over [0, 1]^d.

    Args:
        f_batch: batched objective on the unit cube.
        dim: dimension d, ≥ 1.
        max_evaluations: maximum number of evaluations of f, ≥ 1.
        batch: q, points evaluated together, ≥ 1.
        n_init: initial design size (default 2d, at least q).
        key: ``jax.random`` key.
        n_cand: Thompson candidates (default min(100 d, 2000)).
        capacity: local buffer size (default ≥ n_init + 64 q, capped at max_evaluations + q).
        target: stop once the best value is ≤ target.
        x0: optional known point (d,) in [0, 1]^d evaluated first (e.g. the current guess).
        t0: wall-clock origin for the history.
        precision: dtype of the GP and the points (any :func:`jaxem.accel.resolve_precision` alias;
            default float32; float64 needs JAX's x64 mode).
        config_kw: other :class:`TurboConfig` fields.
    """
    dim = validate.integer(dim, "dim", lo=1)
    max_evaluations = validate.integer(max_evaluations, "max_evaluations", lo=1)
    batch = validate.integer(batch, "batch", lo=1)
    if not callable(f_batch):
        raise validate.InputTypeError(f"f_batch must be a callable (q, d) → (q,), got {type(f_batch).__name__}")
    if target is not None:
        target = validate.scalar(target, "target")
    real = accel.dtypes(precision)[0]
    if x0 is not None:
        x0 = np.asarray(validate.array(x0, "x0", shape=(dim,), kind="real"), float)
        if np.any((x0 < 0) | (x0 > 1)):
            raise validate.InputError(f"x0 must lie in the unit cube [0, 1]^{dim}, got {x0.tolist()}")
    with single_threaded_blas():
        n_init = max(2 * dim, batch) if n_init is None else validate.integer(n_init, "n_init", lo=2)
        n_cand = min(100 * dim, 2000) if n_cand is None else validate.integer(n_cand, "n_cand", lo=1)
        capacity = capacity or int(min(n_init + 64 * batch, max_evaluations + batch))
        capacity = max(validate.integer(capacity, "capacity", lo=1), n_init + batch)
        config = TurboConfig(dim=dim, batch=batch, n_init=n_init, n_cand=n_cand, capacity=capacity, **config_kw)
        key = jax.random.PRNGKey(0) if key is None else key
        state = init(config, key, precision)
        t0 = time.perf_counter() if t0 is None else t0
        history = []
        if x0 is not None:
            x0 = jnp.asarray(x0, real).reshape(1, dim)
            y0 = _values(f_batch, jnp.repeat(x0, batch, axis=0), batch, real)[:1]
            if bool(jnp.isfinite(y0[0])):
                state = state.replace(best_x=x0[0], best_y=y0[0])
            state = state.replace(n_evals=state.n_evals + 1)
            history.append((time.perf_counter() - t0, 1, float(state.best_y)))
        while int(state.n_evals) < max_evaluations:
            ys = _values(f_batch, state.candidates, batch, real)
            state = _step(state, ys)
            history.append((time.perf_counter() - t0, int(state.n_evals), float(state.best_y)))
            if target is not None and float(state.best_y) <= target:
                break
    best_x, best_y = result(state)
    return TurboResult(np.asarray(best_x), float(best_y), np.asarray(history, float).reshape(-1, 3),
                       int(state.restarts))


def _values(f_batch, xs, batch, real):
    ys = jnp.asarray(f_batch(xs))
    if ys.shape != (batch,):
        raise validate.InputError(f"f_batch must return one value per point, shape ({batch},), got {ys.shape}")
    return ys.astype(real)


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


# ---- standard test functions (for tests and benchmarks) -----------------------------------------

def ackley(x, a: float = 20.0, b: float = 0.2, c: float = 2 * math.pi):
    """Ackley function on x (…, d) [any units]; global minimum 0 at x = 0."""
    if not validate.is_traced(x):
        validate.array(x, "x", min_ndim=1, kind="real")
    x = jnp.asarray(x)
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
    if not validate.is_traced(x):
        validate.array(x, "x", min_ndim=1, shape=(6,), kind="real")
    x = jnp.asarray(x)
    inner = jnp.sum(_H6_A * (x[..., None, :] - _H6_P) ** 2, axis=-1)
    return -jnp.sum(_H6_ALPHA * jnp.exp(-inner), axis=-1)
