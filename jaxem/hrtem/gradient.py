"""Gradient-based fitting with optax: a pure ``init``/``step`` pair, multi-start under ``vmap``, and
a driver that logs the loss against wall time.

The optimiser works on unconstrained coordinates z (``params.to_unconstrained``), so bounds hold
without projection. Objective: ``f(z, *inputs) = loss(render(merge(fixed, T(z))), data)``.
Optimisers:

* ``"adam"`` — ``optax.adam`` with a schedule (constant, cosine decay or warm-up cosine);
* ``"lbfgs"`` — ``optax.lbfgs`` with its zoom line search (uses the value and gradient carried in
  the optimiser state, ``optax.value_and_grad_from_state``).

Iteration shape (the one of every iterative method in jaxem): ``fitter.init(z0, *inputs) -> state``
and ``fitter.step(state, *inputs) -> state`` are pure and jit-able; ``inputs`` (e.g. the data image)
are passed to the objective, so one fitter serves a batch of images under ``vmap``. Drivers
(:func:`fit_gradient`, :func:`jaxem.hrtem.fit_rois`) loop, log and stop outside.
"""
from __future__ import annotations

import functools
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import pytree, validate
from .params import Bounds, from_unconstrained, merge, names_of, select, to_unconstrained

OPTIMIZERS = ("lbfgs", "adam")
SCHEDULES = ("constant", "cosine", "warmup_cosine")


@pytree.dataclass
class GradState:
    """State of a gradient fit (one start; a leading batch axis for multi-start).

    Attributes:
        z: unconstrained free parameters (a partial parameter set).
        opt_state: optax state.
        loss: loss at ``z`` (before the step that produced the next state).
        best_z, best_loss: best point seen.
        count: steps taken.
    """

    z: Any
    opt_state: Any
    loss: Any
    best_z: Any
    best_loss: Any
    count: Any


@pytree.dataclass
class GradientFitter:
    """``init(z0, *inputs) -> GradState`` and ``step(state, *inputs) -> GradState`` (pure, jit-able)."""

    init: Callable = pytree.field(static=True)
    step: Callable = pytree.field(static=True)


@pytree.dataclass
class FitResult:
    """Result of a fit.

    Attributes:
        params: best parameters (the full parameter set).
        loss: best loss.
        history: (n, 3) array of rows (wall time [s], evaluations, best loss).
        status: ``"ok"`` or a message.
        losses: final best loss per start (multi-start), or None.
    """

    params: Any
    loss: Any
    history: Any
    status: str = pytree.field(static=True, default="ok")
    losses: Any = None


def history_array(rows) -> np.ndarray:
    """Rows (wall time [s], evaluations, best loss) as an (n, 3) float array."""
    return np.asarray([tuple(r)[:3] for r in rows], float).reshape(-1, 3)


def make_schedule(learning_rate: float, steps: int, schedule: str = "cosine", warmup: int = 0):
    """optax schedule: 'constant', 'cosine' (decay to 1 % over ``steps``) or 'warmup_cosine'."""
    learning_rate = validate.scalar(learning_rate, "learning_rate", positive=True)
    steps = validate.integer(steps, "steps", lo=1)
    schedule = validate.choice(schedule, "schedule", SCHEDULES)
    if schedule == "constant":
        return optax.constant_schedule(learning_rate)
    if schedule == "cosine":
        return optax.cosine_decay_schedule(learning_rate, steps, alpha=0.01)
    warmup = validate.integer(warmup, "warmup", lo=0)
    return optax.warmup_cosine_decay_schedule(0.0, learning_rate, max(warmup, 1), max(steps, 2),
                                              end_value=0.01 * learning_rate)


def gradient_fitter(objective: Callable, optimizer: str = "lbfgs", learning_rate: float = 0.05,
                    steps: int = 100, schedule: str = "cosine", memory_size: int = 10) -> GradientFitter:
    """Pure init/step pair minimising ``objective(z, *inputs)`` (z a pytree of unconstrained arrays).

    The same arguments give the same (hashable) fitter, so drivers that jit with the fitter as a
    static argument compile once per objective, not once per call.

    Args:
        objective: scalar function of z and the inputs (jit-able, differentiable in z).
        optimizer: ``"lbfgs"`` or ``"adam"``.
        learning_rate: Adam peak step (in z units); ignored by L-BFGS (line search).
        steps: planned number of steps (for the schedule), ≥ 1.
        schedule: see :func:`make_schedule`.
        memory_size: L-BFGS history length, ≥ 1.
    """
    optimizer = validate.choice(optimizer, "optimizer", OPTIMIZERS)
    if not callable(objective):
        raise validate.InputTypeError(f"objective must be a callable objective(z, *inputs), got "
                                      f"{type(objective).__name__}")
    learning_rate = validate.scalar(learning_rate, "learning_rate", positive=True)
    steps = validate.integer(steps, "steps", lo=1)
    memory_size = validate.integer(memory_size, "memory_size", lo=1)
    schedule = validate.choice(schedule, "schedule", SCHEDULES)
    return _fitter(objective, optimizer, learning_rate, steps, schedule, memory_size)


@functools.lru_cache(maxsize=64)
def _fitter(objective, optimizer, learning_rate, steps, schedule, memory_size) -> GradientFitter:
    if optimizer == "adam":
        opt = optax.adam(make_schedule(learning_rate, steps, schedule))
    else:
        opt = optax.lbfgs(memory_size=memory_size)

    def step(state: GradState, *inputs) -> GradState:
        def value_fn(z):
            return objective(z, *inputs)

        if optimizer == "lbfgs":
            value, grad = optax.value_and_grad_from_state(value_fn)(state.z, state=state.opt_state)
            updates, opt_state = opt.update(grad, state.opt_state, state.z, value=value, grad=grad,
                                            value_fn=value_fn)
        else:
            value, grad = jax.value_and_grad(value_fn)(state.z)
            updates, opt_state = opt.update(grad, state.opt_state, state.z)
        z = optax.apply_updates(state.z, updates)
        better = jnp.isfinite(value) & (value < state.best_loss)
        best_z = jax.tree.map(lambda a, b: jnp.where(better, a, b), state.z, state.best_z)
        best_loss = jnp.where(better, value, state.best_loss)
        return GradState(z, opt_state, value, best_z, best_loss, state.count + 1)

    def init(z0, *inputs) -> GradState:
        loss = objective(z0, *inputs)
        state = GradState(z0, opt.init(z0), loss, z0, loss, jnp.asarray(0, jnp.int32))
        # the strong types/dtypes of a stepped state, so that a jitted step compiles once (not twice)
        out = jax.eval_shape(step, state, *inputs)
        return jax.tree.map(lambda a, s: jax.lax.convert_element_type(a, s.dtype), state, out)

    return GradientFitter(init, step)


@functools.lru_cache(maxsize=64)
def make_objective(render: Callable, loss: Callable):
    """(z, data, fixed, bounds) ↦ loss(render(merge(fixed, T(z))), data) (pure; the same
    ``render``/``loss`` give the same function, so jitted drivers compile once)."""
    for fn, name in ((render, "render"), (loss, "loss")):
        if not callable(fn):
            raise validate.InputTypeError(f"{name} must be a function, got {type(fn).__name__} {fn!r:.40}")

    def objective(z, data, fixed, bounds):
        return loss(render(merge(fixed, from_unconstrained(z, bounds))), data)

    return objective


@functools.partial(jax.jit, static_argnames=("fitter", "input_axes"))
def init_states(z0, inputs: tuple, fitter: GradientFitter, input_axes: tuple | None = None):
    """``fitter.init(z0, *inputs)``, compiled once per fitter. ``input_axes``: None (one start), or
    the ``vmap`` axis of each input (None = shared) for starts stacked along axis 0 of ``z0``."""
    init = fitter.init if input_axes is None else jax.vmap(fitter.init, in_axes=(0,) + tuple(input_axes))
    return init(z0, *inputs)


@functools.partial(jax.jit, static_argnames=("fitter", "length", "input_axes"))
def run_steps(state, inputs: tuple, fitter: GradientFitter, length: int, input_axes: tuple | None = None):
    """``length`` steps of ``fitter`` in one compiled ``lax.scan`` (``input_axes`` as in
    :func:`init_states`)."""
    step = fitter.step if input_axes is None else jax.vmap(fitter.step, in_axes=(0,) + tuple(input_axes))
    return jax.lax.scan(lambda s, _: (step(s, *inputs), None), state, None, length=length)[0]


@validate.typed
def multistart(params, bounds: Bounds, n_starts: int, key, spread: float = 0.3):
    """``n_starts`` starting points (a partial parameter set of the bounded fields, leading axis
    ``n_starts``): the given start plus uniform draws within ``spread`` × (bound width) around it,
    clipped 1 % inside the bounds."""
    n_starts = validate.integer(n_starts, "n_starts", lo=1)
    spread = validate.scalar(spread, "spread", nonnegative=True)
    out = {}
    names = bounds.names
    keys = jax.random.split(key, len(names))
    for k, n in zip(keys, names):
        lo, hi = np.asarray(getattr(bounds.lower, n), float), np.asarray(getattr(bounds.upper, n), float)
        x0 = np.asarray(getattr(params, n), float)
        w = np.where(np.isfinite(hi - lo), hi - lo, np.maximum(np.abs(x0), 1.0))
        u = np.asarray(jax.random.uniform(k, (n_starts,) + x0.shape, minval=-0.5, maxval=0.5))
        x = x0 + spread * w * u
        x[0] = x0
        margin = 0.01 * w
        x = np.clip(x, np.where(np.isfinite(lo), lo + margin, -np.inf), np.where(np.isfinite(hi), hi - margin, np.inf))
        out[n] = jnp.asarray(x, jnp.result_type(getattr(params, n)))
    return type(params)(**out)


def check_model(model, name: str = "model"):
    """``model`` if it is an image model (an :class:`~jaxem.hrtem.HRTEMModel` or an object with the
    same ``render``/``check_data``/``check_params``/``default_bounds`` methods), else a clear error."""
    need = ("render", "check_data", "check_params", "default_bounds")
    missing = [m for m in need if not callable(getattr(model, m, None))]
    if missing:
        raise validate.InputTypeError(f"{name} must be a jaxem.hrtem.HRTEMModel (or an object with "
                                      f"{', '.join(need)}), got {type(model).__name__}")
    return model


@validate.typed
def fit_gradient(model, data, params, names, bounds: Bounds | None = None, loss: Callable | str = "l2",
                 optimizer: str = "lbfgs", steps: int = 100, learning_rate: float = 0.05,
                 schedule: str = "cosine", n_starts: int = 1, key=None, spread: float = 0.3,
                 log_every: int = 5, tol: float = 0.0, t0: float | None = None) -> FitResult:
    """Fit the parameters ``names`` of ``model`` to ``data`` by gradient descent.

    Args:
        model: :class:`~jaxem.hrtem.model.HRTEMModel` (or any object with ``render``,
            ``check_data``, ``check_params``, ``default_bounds`` and a pure ``_render_impl``).
        data: image (ny, nx) on the model grid.
        params: full parameter set (start values; the others stay fixed).
        names: the free parameter names.
        bounds: bounds of the free parameters (default: ``model.default_bounds``).
        loss: 'l2', 'ncc', 'ssim' or a callable ``loss(sim, data)``.
        optimizer: 'lbfgs' or 'adam'.
        steps: number of optimiser steps, ≥ 1.
        learning_rate, schedule: Adam settings.
        n_starts: starts fitted together under ``vmap`` (the first is ``params``), ≥ 1.
        key: ``jax.random`` key for the extra starts.
        spread: extra starts are drawn within ``spread`` × bound width.
        log_every: steps per jitted chunk (``lax.scan``) between log entries, ≥ 1.
        tol: stop when the best loss improves by less than ``tol`` (relative) over a chunk, ≥ 0.
        t0: wall-clock origin for the history (default: now).
    Returns:
        :class:`FitResult`.
    """
    from .losses import get_loss

    data = check_model(model).check_data(data)
    model.check_params(params)
    names = names_of(select(params, names))
    steps = validate.integer(steps, "steps", lo=1)
    n_starts = validate.integer(n_starts, "n_starts", lo=1)
    log_every = validate.integer(log_every, "log_every", lo=1)
    tol = validate.scalar(tol, "tol", nonnegative=True)
    bounds = model.default_bounds(params, names) if bounds is None else bounds.validate().subset(names)
    bounds.check(params, "params (start)")
    lossf = get_loss(loss)
    fitter = gradient_fitter(make_objective(model._render_impl, lossf), optimizer, learning_rate, steps, schedule)
    input_axes = (None, None, None) if n_starts > 1 else None
    if n_starts > 1:
        starts = multistart(params, bounds, n_starts, jax.random.PRNGKey(0) if key is None else key, spread)
        z0 = jax.vmap(lambda s: to_unconstrained(s, bounds))(starts)
    else:
        z0 = to_unconstrained(params, bounds)
    inputs = (data, params, bounds)

    t0 = time.perf_counter() if t0 is None else t0
    state = init_states(z0, inputs, fitter, input_axes)
    history = [(time.perf_counter() - t0, n_starts, float(jnp.min(state.best_loss)))]
    prev = history[-1][2]
    done = 0
    while done < steps:
        state = run_steps(state, inputs, fitter, log_every, input_axes)
        done += log_every
        best = float(jnp.min(state.best_loss))
        history.append((time.perf_counter() - t0, n_starts * (done + 1), best))
        if tol > 0 and prev - best < tol * abs(prev):
            break
        prev = best
    losses = np.atleast_1d(np.asarray(state.best_loss))
    status = "ok" if np.isfinite(losses).any() else "non-finite loss at every start"
    i = int(np.argmin(np.where(np.isfinite(losses), losses, np.inf)))
    best_z = jax.tree.map(lambda a: a[i], state.best_z) if n_starts > 1 else state.best_z
    fitted = merge(params, from_unconstrained(best_z, bounds))
    return FitResult(fitted, float(losses[i]), history_array(history), status, losses)
