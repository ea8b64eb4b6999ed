"""Limited-memory BFGS with a backtracking (Armijo) line search, one objective evaluation per step.

Quasi-Newton descent (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithms 7.4 and 7.5):
the search direction is d = −H∇f, with the inverse-Hessian approximation H built by the two-loop
recursion from the last m pairs s_i = x_{i+1} − x_i, y_i = ∇f_{i+1} − ∇f_i (a pair enters only
when the curvature condition s·y > 0 holds) and the initial scaling H₀ = (s·y)/(y·y)·I of the newest
pair. A trial point x + α d is accepted when it satisfies the Armijo condition

    f(x + α d) ≤ f(x) + c₁ α ∇f(x)·d,

otherwise α is halved; after ``max_backtracks`` halvings the memory is cleared and the method
restarts from steepest descent with the step ``initial_step / max|∇f|`` (at most ``initial_step`` per
coordinate: rad for an object phase).

Why not :func:`optax.lbfgs`: optax evaluates the objective in the update *and* inside its line-search
``while_loop``, so the compiled step holds the (multislice) objective and its gradient twice or
more; its compile took ~50 s for ptychography on the loaded CI machine. Here every ``update`` makes
exactly one evaluation ``value_and_grad(x + α d)`` and decides between accept and backtrack with
``jnp.where``: the objective is traced and compiled once, the step is a fixed-shape pure function
(``lax.scan`` over the memory), and a line search costs one step per trial.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import pytree

__all__ = ["LBFGSState", "init", "update"]


@pytree.dataclass
class LBFGSState:
    """State on flat parameter vectors x (n,).

    Attributes:
        value: f(x) of the accepted point (inf before the first evaluation).
        aux: auxiliary output of the objective at x (e.g. the data term).
        grad: ∇f(x) (n,).
        direction: search direction d (n,).
        step: trial step α.
        s, y: (m, n) memory pairs, newest first; rho: (m,) 1/(s·y) (0 for an empty slot).
        backtracks: halvings of α since the last accepted point.
        evaluations: objective evaluations so far.
    """

    value: Any
    aux: Any
    grad: Any
    direction: Any
    step: Any
    s: Any
    y: Any
    rho: Any
    backtracks: Any
    evaluations: Any


def init(x, memory: int = 8) -> LBFGSState:
    """Empty state for the flat vector ``x`` (n,) with ``memory`` pairs."""
    n, dt = x.shape[0], x.dtype
    z = jnp.zeros((), dt)
    return LBFGSState(value=z + jnp.inf, aux=z, grad=jnp.zeros(n, dt), direction=jnp.zeros(n, dt), step=z,
                      s=jnp.zeros((memory, n), dt), y=jnp.zeros((memory, n), dt), rho=jnp.zeros(memory, dt),
                      backtracks=jnp.zeros((), jnp.int32), evaluations=jnp.zeros((), jnp.int32))


def _direction(g, s, y, rho):
    """d = −H g by the two-loop recursion (empty slots have ρ = 0 and drop out)."""
    def first(q, xs):
        si, yi, ri = xs
        a = ri * jnp.vdot(si, q)
        return q - a * yi, a

    q, alphas = jax.lax.scan(first, g, (s, y, rho))
    sy, yy = jnp.vdot(s[0], y[0]), jnp.vdot(y[0], y[0])
    gamma = jnp.where((rho[0] > 0) & (yy > 0), sy / jnp.where(yy > 0, yy, 1.0), 1.0)

    def second(r, xs):
        si, yi, ri, a = xs
        b = ri * jnp.vdot(yi, r)
        return r + (a - b) * si, None

    r, _ = jax.lax.scan(second, gamma * q, (s, y, rho, alphas), reverse=True)
    return -r


def update(state: LBFGSState, x, value_and_grad, c1: float = 1e-4, max_backtracks: int = 10,
           initial_step: float = 0.05):
    """One evaluation: try x + α d, accept it (Armijo) or halve α.

    Args:
        state: :class:`LBFGSState`.
        x: the accepted point (n,).
        value_and_grad: ``x -> ((f, aux), ∇f)``, traced once.
        c1: Armijo constant; max_backtracks: halvings before a steepest-descent restart;
        initial_step: largest coordinate change of a steepest-descent step.
    Returns:
        (new state, new accepted point).
    """
    dt = x.dtype
    trial = x + state.step * state.direction
    (f, aux), g = value_and_grad(trial)
    f = f.astype(dt)
    g = g.astype(dt)
    start = jnp.isinf(state.value)
    slope = jnp.vdot(state.grad, state.direction)
    accept = start | (jnp.isfinite(f) & (f <= state.value + c1 * state.step * slope))

    # accepted: new pair (if it has positive curvature) and the quasi-Newton direction
    s_new, y_new = trial - x, g - state.grad
    sy = jnp.vdot(s_new, y_new)
    good = (~start) & (sy > 1e-10 * jnp.sqrt(jnp.vdot(s_new, s_new) * jnp.vdot(y_new, y_new)))
    roll = lambda a, v: jnp.where(good, jnp.concatenate([v[None], a[:-1]]), a)  # noqa: E731
    s_mem = roll(state.s, s_new)
    y_mem = roll(state.y, y_new)
    rho_mem = roll(state.rho, 1.0 / jnp.where(good, sy, 1.0))
    sd_step = initial_step / jnp.maximum(jnp.max(jnp.abs(g)), 1e-30)
    d_acc = _direction(g, s_mem, y_mem, rho_mem)
    has_mem = rho_mem[0] > 0
    # a non-descent direction (numerical trouble) falls back to steepest descent
    descent = jnp.vdot(d_acc, g) < 0
    d_acc = jnp.where(has_mem & descent, d_acc, -g)
    a_acc = jnp.where(has_mem & descent, 1.0, sd_step).astype(dt)

    # rejected: halve the step, or restart from steepest descent with an empty memory
    restart = (~accept) & (state.backtracks + 1 >= max_backtracks)
    sd_old = initial_step / jnp.maximum(jnp.max(jnp.abs(state.grad)), 1e-30)
    a_rej = jnp.where(restart, sd_old, 0.5 * state.step).astype(dt)
    d_rej = jnp.where(restart, -state.grad, state.direction)
    keep = lambda a: jnp.where(restart, jnp.zeros_like(a), a)  # noqa: E731

    sel = lambda a, b: jnp.where(accept, a, b)  # noqa: E731
    new = LBFGSState(value=sel(f, state.value), aux=sel(jnp.asarray(aux, dt), state.aux), grad=sel(g, state.grad),
                     direction=sel(d_acc, d_rej), step=sel(a_acc, a_rej),
                     s=sel(s_mem, keep(state.s)), y=sel(y_mem, keep(state.y)), rho=sel(rho_mem, keep(state.rho)),
                     backtracks=jnp.where(accept | restart, 0, state.backtracks + 1).astype(jnp.int32),
                     evaluations=state.evaluations + 1)
    return new, sel(trial, x)
