"""Gradient-based fitting with optax: pure ``init``/``step`` pairs, multi-start under ``vmap``, and
a driver that logs the loss against wall time.

The optimiser works on unconstrained coordinates z (``params.to_unconstrained``), so bounds hold
without projection. Objective: ``f(z) = loss(render(merge(fixed, T(z))), data)``. Optimisers:

* ``"adam"`` — ``optax.adam`` with a schedule (constant, cosine decay or warm-up cosine);
* ``"lbfgs"`` — ``optax.lbfgs`` with its zoom line search (uses the value and gradient carried in
  the optimiser state, ``optax.value_and_grad_from_state``).

Several starts run as one batch: ``vmap`` over a leading axis of z and of the optimiser state.
"""
from __future__ import annotations

import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from .params import Bounds, from_unconstrained, merge, to_unconstrained


@struct.dataclass
class GradState:
    """State of a gradient fit (one start; a leading batch axis for multi-start).

    Attributes:
        z: unconstrained free parameters (dict).
        opt_state: optax state.
        loss: loss at ``z`` (before the step that produced the next state).
        best_z, best_loss: best point seen.
        count: steps taken.
    """

    z: dict
    opt_state: object
    loss: jnp.ndarray
    best_z: dict
    best_loss: jnp.ndarray
    count: jnp.ndarray


class GradientFitter(NamedTuple):
    """``init(z0) -> GradState`` and ``step(state) -> GradState`` (pure, jit-able)."""

    init: Callable
    step: Callable


def make_schedule(learning_rate: float, steps: int, schedule: str = "cosine", warmup: int = 0):
    """optax schedule: 'constant', 'cosine' (decay to 1 % over ``steps``) or 'warmup_cosine'."""
    if not (learning_rate > 0 and np.isfinite(learning_rate)):
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    if schedule == "constant":
        return optax.constant_schedule(learning_rate)
    if schedule == "cosine":
        return optax.cosine_decay_schedule(learning_rate, max(int(steps), 1), alpha=0.01)
    if schedule == "warmup_cosine":
        return optax.warmup_cosine_decay_schedule(0.0, learning_rate, max(int(warmup), 1), max(int(steps), 2),
                                                  end_value=0.01 * learning_rate)
    raise ValueError(f"schedule must be 'constant', 'cosine' or 'warmup_cosine', got {schedule!r}")


def gradient_fitter(objective: Callable, optimizer: str = "lbfgs", learning_rate: float = 0.05,
                    steps: int = 100, schedule: str = "cosine", memory_size: int = 10) -> GradientFitter:
    """Pure init/step pair minimising ``objective(z)`` (z a dict of unconstrained arrays).

    Args:
        objective: scalar function of z (jit-able, differentiable).
        optimizer: ``"adam"`` or ``"lbfgs"``.
        learning_rate: Adam peak step (in z units); ignored by L-BFGS (line search).
        steps: planned number of steps (for the schedule).
        schedule: see :func:`make_schedule`.
        memory_size: L-BFGS history length.
    """
    if optimizer == "adam":
        opt = optax.adam(make_schedule(learning_rate, steps, schedule))
    elif optimizer == "lbfgs":
        opt = optax.lbfgs(memory_size=memory_size)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {optimizer!r}")
    vg = jax.value_and_grad(objective)

    def init(z):
        loss = objective(z)
        state = GradState(z, opt.init(z), loss, z, loss, jnp.asarray(0, jnp.int32))
        # strong types/dtypes of a stepped state, so a jitted step compiles once (not twice)
        out = jax.eval_shape(step, state)
        return jax.tree.map(lambda a, s: jax.lax.convert_element_type(a, s.dtype), state, out)

    def step(state: GradState) -> GradState:
        if optimizer == "lbfgs":
            value, grad = optax.value_and_grad_from_state(objective)(state.z, state=state.opt_state)
            updates, opt_state = opt.update(grad, state.opt_state, state.z, value=value, grad=grad,
                                            value_fn=objective)
        else:
            value, grad = vg(state.z)
            updates, opt_state = opt.update(grad, state.opt_state, state.z)
        z = optax.apply_updates(state.z, updates)
        ok = jnp.isfinite(value)
        better = ok & (value < state.best_loss)
        best_z = jax.tree.map(lambda a, b: jnp.where(better, a, b), state.z, state.best_z)
        best_loss = jnp.where(better, value, state.best_loss)
        return GradState(z, opt_state, value, best_z, best_loss, state.count + 1)

    return GradientFitter(init, step)


class FitResult(NamedTuple):
    """Result of a fit: best parameters (full dict), best loss, and the trace.

    ``history`` is a list of (wall time [s], evaluations, best loss) rows; ``status`` 'ok' or a
    message; ``losses`` the final best loss per start (multi-start).
    """

    params: dict
    loss: float
    history: list
    status: str = "ok"
    losses: np.ndarray | None = None


def make_objective(render: Callable, data, fixed: dict, bounds: Bounds, loss: Callable):
    """z ↦ loss(render(merge(fixed, T(z))), data) (pure)."""

    def objective(z):
        return loss(render(merge(fixed, from_unconstrained(z, bounds))), data)

    return objective


def multistart(params: dict, bounds: Bounds, n_starts: int, key, spread: float = 0.3) -> dict:
    """``n_starts`` starting points (leading axis): the given start plus uniform draws within
    ``spread`` × (bound width) around it, clipped 1 % inside the bounds."""
    out = {}
    keys = jax.random.split(key, len(bounds.lower))
    for k, n in zip(keys, bounds.lower):
        lo, hi = bounds.lower[n], bounds.upper[n]
        x0 = np.asarray(params[n], float)
        w = np.where(np.isfinite(hi - lo), hi - lo, np.maximum(np.abs(x0), 1.0))
        u = np.asarray(jax.random.uniform(k, (n_starts,) + x0.shape, minval=-0.5, maxval=0.5))
        x = x0 + spread * w * u
        x[0] = x0
        margin = 0.01 * w
        x = np.clip(x, np.where(np.isfinite(lo), lo + margin, -np.inf), np.where(np.isfinite(hi), hi - margin, np.inf))
        out[n] = jnp.asarray(x, jnp.result_type(params[n]))
    return out


def fit_gradient(model, data, params: dict, names, bounds: Bounds | None = None, loss: Callable | str = "l2",
                 optimizer: str = "lbfgs", steps: int = 100, learning_rate: float = 0.05,
                 schedule: str = "cosine", n_starts: int = 1, key=None, spread: float = 0.3,
                 log_every: int = 5, tol: float = 0.0, time_offset: float = 0.0, t0: float | None = None) -> FitResult:
    """Fit the parameters ``names`` of ``model`` to ``data`` by gradient descent.

    Args:
        model: :class:`~jaxem.hrtem.model.HRTEMModel` (or any object with ``render``, ``check_data``).
        data: image (ny, nx) on the model grid.
        params: full parameter dict (start values; the others stay fixed).
        names: the free parameter names.
        bounds: bounds of the free parameters (default: ``model.default_bounds``).
        loss: 'l2', 'ncc', 'ssim' or a callable ``loss(sim, data)``.
        optimizer: 'lbfgs' or 'adam'.
        steps: number of optimiser steps.
        learning_rate, schedule: Adam settings.
        n_starts: starts fitted together under ``vmap`` (the first is ``params``).
        key: ``jax.random`` key for the extra starts.
        spread: extra starts are drawn within ``spread`` × bound width.
        log_every: steps per jitted chunk (``lax.scan``) between log entries.
        tol: stop when the best loss improves by less than ``tol`` (relative) over a chunk.
        t0: wall-clock origin for the history (default: now).
    Returns:
        :class:`FitResult`.
    """
    from .losses import get_loss

    names = tuple(names)
    data = model.check_data(data)
    bounds = model.default_bounds(params, names) if bounds is None else bounds.subset(names)
    bounds.check(params, "params (start)")
    lossf = get_loss(loss)
    fixed = {k: v for k, v in params.items() if k not in names}
    objective = make_objective(model._render_impl, data, fixed, bounds, lossf)
    fitter = gradient_fitter(objective, optimizer, learning_rate, steps, schedule)
    if n_starts > 1:
        starts = multistart(params, bounds, n_starts, jax.random.PRNGKey(0) if key is None else key, spread)
        z0 = jax.vmap(lambda s: to_unconstrained(s, bounds))(starts)
        init, step = jax.vmap(fitter.init), jax.vmap(fitter.step)
    else:
        z0 = to_unconstrained({n: params[n] for n in names}, bounds)
        init, step = fitter.init, fitter.step

    @jax.jit
    def chunk(state):
        return jax.lax.scan(lambda s, _: (step(s), None), state, None, length=log_every)[0]

    t0 = time.perf_counter() if t0 is None else t0
    state = jax.jit(init)(z0)
    history = [(time.perf_counter() - t0, n_starts, float(jnp.min(state.best_loss)))]
    prev = history[-1][2]
    done = 0
    while done < steps:
        state = chunk(state)
        done += log_every
        best = float(jnp.min(state.best_loss))
        history.append((time.perf_counter() - t0, n_starts * (done + 1), best))
        if tol > 0 and prev - best < tol * abs(prev):
            break
        prev = best
    losses = np.atleast_1d(np.asarray(state.best_loss))
    status = "ok" if np.isfinite(losses).any() else "non-finite loss at every start"
    i = int(np.nanargmin(np.where(np.isfinite(losses), losses, np.inf)))
    best_z = jax.tree.map(lambda a: a[i], state.best_z) if n_starts > 1 else state.best_z
    fitted = merge(params, from_unconstrained(best_z, bounds))
    return FitResult(fitted, float(losses[i]), history, status, losses)
