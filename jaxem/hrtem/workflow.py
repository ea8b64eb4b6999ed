"""Stepwise (hybrid) fitting: trust-region BO for the few global imaging parameters, then gradients
for the many local ones.

HRTEM losses are strongly multimodal in defocus and thickness (contrast reversals, Fourier/Talbot
images of the lattice, Pendellösung), so a local gradient method needs a start inside the right
basin. Stage 1 runs :func:`jaxem.hrtem.turbo.minimize` over a box around the guess for the global
parameters (default: defocus, Cs, two-fold astigmatism A1, thickness), with the structure held at
its guess and q candidates imaged together under ``vmap``. Stage 2 refines the local parameters
(column positions, optionally B and occupancies) together with the globals by L-BFGS
(:func:`jaxem.hrtem.gradient.fit_gradient`). Both stages log (wall time, evaluations, best loss)
on one clock, so BO-only, gradient-only and hybrid traces can be compared directly.
"""
from __future__ import annotations

import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from .gradient import FitResult, check_model, fit_gradient
from .losses import get_loss
from .params import Bounds, HRTEMParams, from_mapping, from_unit, merge, names_of, select, to_unit
from .turbo import minimize

#: default half-widths of the BO search box around the guess (in each parameter's units)
DEFAULT_WINDOWS = HRTEMParams(defocus=150.0, Cs=5e4, A1=60.0, focal_spread=30.0, image_spread=0.3)


def _windows(windows):
    """Half-widths as a partial :class:`HRTEMParams` (from a parameter set or a {name: value} mapping)."""
    w = merge(DEFAULT_WINDOWS, from_mapping(HRTEMParams, windows, "windows"))
    units = pytree.units_of(w)
    for n in names_of(w):
        a = np.asarray(validate.array(getattr(w, n), f"windows.{n}", kind="real", finite=False, units=units[n]), float)
        if not np.all(np.isfinite(a) & (a > 0)):
            raise validate.InputError(f"windows.{n} must be > 0 and finite [{pytree.units_of(w).get(n, '')}], "
                                      f"got {getattr(w, n)!r}")
    return w


def global_bounds(model, params, names, windows=None) -> Bounds:
    """Finite bounds for BO: guess ± window (``windows``: a partial :class:`HRTEMParams` or a mapping
    of half-widths; thickness: the model's full range), clipped to the model's default bounds."""
    windows = _windows(windows)
    base = check_model(model).default_bounds(params, names)
    limits = {}
    for n in base.names:
        lo, hi = np.asarray(getattr(base.lower, n), float), np.asarray(getattr(base.upper, n), float)
        w = getattr(windows, n)
        if w is not None:
            x = np.asarray(getattr(params, n), float)
            lo, hi = np.maximum(lo, x - np.asarray(w, float)), np.minimum(hi, x + np.asarray(w, float))
        limits[n] = (lo, hi)
    return Bounds.create(params, **limits)


@pytree.dataclass
class StepwiseResult:
    """Result of :func:`fit_stepwise`: final parameters and loss, the BO-stage and gradient-stage fits,
    the joint history (n, 3) (wall time [s], evaluations, best loss) and the stage of each row."""

    params: Any
    loss: Any
    bo: FitResult
    gradient: FitResult
    history: Any
    stages: tuple = pytree.field(static=True, default=())


@functools.partial(jax.jit, static_argnames=("render", "loss"))
def _bo_values(u, data, fixed, bounds, render, loss):
    """Loss of every row of u (q, d) in the unit box of ``bounds`` (fixed parameters from ``fixed``)."""
    real = data.dtype

    def one(ui):
        free = from_unit(ui.astype(real), bounds)
        return loss(render(merge(fixed, jax.tree.map(lambda v: v.astype(real), free))), data)

    return jax.vmap(one)(u)


@validate.typed
def fit_bo(model, data, params, names, bounds: Bounds | None = None, loss="l2", max_evaluations: int = 200,
           batch: int = 8, key=None, t0: float | None = None, precision=None, **turbo_kw) -> FitResult:
    """TuRBO over the parameters ``names`` (finite ``bounds``; default :func:`global_bounds`).

    Args:
        model: :class:`~jaxem.hrtem.model.HRTEMModel`.
        data: image (ny, nx) on the model grid.
        params: full :class:`HRTEMParams` (start; the other parameters stay fixed).
        names: the searched parameter names.
        bounds: finite bounds of ``names``.
        loss: loss name or callable.
        max_evaluations: number of image evaluations (renders), ≥ 1.
        batch: candidates rendered together (``vmap``), ≥ 1.
        key: ``jax.random`` key.
        t0: wall-clock origin of the history.
        precision: dtype of the GP (default float32; see :func:`jaxem.hrtem.turbo.minimize`).
        turbo_kw: further arguments of :func:`~jaxem.hrtem.turbo.minimize`.
    """
    data = check_model(model).check_data(data)
    model.check_params(params)
    names = names_of(select(params, names))
    bounds = global_bounds(model, params, names) if bounds is None else bounds.validate().subset(names)
    bounds.check(params, "params (start)")
    lossf = get_loss(loss)

    def f_batch(u):
        return _bo_values(u, data, params, bounds, model._render_impl, lossf)

    x0 = np.clip(np.asarray(to_unit(params, bounds)), 0.0, 1.0)
    res = minimize(f_batch, int(x0.size), max_evaluations, batch=batch, key=key, x0=x0, t0=t0,
                   precision=precision, **turbo_kw)
    best = jax.tree.map(lambda v: v.astype(model.dtype), from_unit(jnp.asarray(res.x), bounds))
    status = "ok" if np.isfinite(res.y) else "non-finite loss"
    return FitResult(merge(params, best), res.y, res.history, status)


def fit_stepwise(model, data, params, global_names=("defocus", "Cs", "A1", "thickness"),
                 local_names=("xy",), loss="l2", bo_max_evaluations: int = 200, batch: int = 8,
                 grad_steps: int = 60, windows=None, key=None, refine_globals: bool = True,
                 position_window: float = 0.3, precision=None) -> StepwiseResult:
    """BO for ``global_names`` (structure at its guess), then L-BFGS for ``local_names`` (+ globals).

    Args:
        model: :class:`~jaxem.hrtem.model.HRTEMModel`.
        data: image on the model grid.
        params: starting guess (a full :class:`HRTEMParams`).
        global_names: parameters searched by TuRBO.
        local_names: parameters refined by gradients in stage 2.
        loss: loss name or callable.
        bo_max_evaluations, batch: TuRBO evaluations and batch size.
        grad_steps: L-BFGS steps in stage 2.
        windows: half-widths of the BO box (partial :class:`HRTEMParams` or mapping; see
            :data:`DEFAULT_WINDOWS`).
        refine_globals: refine the globals together with the local parameters in stage 2.
        position_window: bound half-width of column positions [Å] in stage 2, > 0.
        precision: dtype of the BO's GP (see :func:`fit_bo`).
    """
    check_model(model)
    position_window = validate.scalar(position_window, "position_window", "Å", positive=True)
    t0 = time.perf_counter()
    gb = global_bounds(model, params, global_names, windows)
    bo = fit_bo(model, data, params, global_names, gb, loss, bo_max_evaluations, batch, key, t0=t0,
                precision=precision)
    names = tuple(local_names) + (tuple(n for n in global_names if n not in local_names) if refine_globals else ())
    base = model.default_bounds(bo.params, names, position_window)
    limits = {n: (getattr(base.lower, n), getattr(base.upper, n)) for n in base.names}
    for n in gb.names:
        if n in limits:
            limits[n] = (getattr(gb.lower, n), getattr(gb.upper, n))
    bounds = Bounds.create(bo.params, **limits)
    start = _inside(bo.params, bounds)
    gr = fit_gradient(model, data, start, names, bounds, loss, "lbfgs", grad_steps, t0=t0)
    bh, gh = np.asarray(bo.history, float), np.asarray(gr.history, float).copy()
    n_bo = bh[-1, 1] if len(bh) else 0.0
    gh[:, 1] += n_bo
    history = np.concatenate([bh, gh]).reshape(-1, 3)
    stages = ("bo",) * len(bh) + ("gradient",) * len(gh)
    return StepwiseResult(gr.params, gr.loss, bo, gr, history, stages)


def _inside(params, bounds: Bounds, margin: float = 1e-4):
    """Move values that sit on (or beyond) their bounds a relative ``margin`` inside."""
    out = {}
    for n in bounds.names:
        lo, hi = np.asarray(getattr(bounds.lower, n), float), np.asarray(getattr(bounds.upper, n), float)
        w = hi - lo
        v = getattr(params, n)
        out[n] = jnp.asarray(np.clip(np.asarray(v, float), lo + margin * w, hi - margin * w), jnp.result_type(v))
    return params.replace(**out)


# ---- the three strategies on one problem (demo, notebook, benchmark) -----------------------------
#: BO-only: TuRBO over globals *and* column positions; gradient-only: L-BFGS over both from the start;
#: hybrid: :func:`fit_stepwise`. Each returns (wall time [s], evaluations, best loss) rows.
GLOBALS = ("defocus", "Cs", "A1", "thickness")
WINDOWS = HRTEMParams(defocus=100.0, Cs=5e4, A1=40.0)


def run_strategies(problem, bo_max_evaluations: int = 120, batch: int = 8, grad_steps: int = 40,
                   bo_only_max_evaluations: int | None = None, strategies=("hybrid", "gradient", "bo")) -> dict:
    """Fit ``problem`` (:class:`jaxem.hrtem.synthetic.Problem`) with each strategy; returns
    ``{strategy: {"params", "loss", "history" (n, 3), "time" [s]}}`` (a report, not a parameter set)."""
    strategies = tuple(validate.choice(s, "strategies", ("hybrid", "gradient", "bo")) for s in strategies)
    m, data, start = problem.model, problem.data, problem.start
    out = {}
    if "hybrid" in strategies:
        t0 = time.perf_counter()
        r = fit_stepwise(m, data, start, GLOBALS, ("xy",), bo_max_evaluations=bo_max_evaluations, batch=batch,
                         grad_steps=grad_steps, windows=WINDOWS)
        out["hybrid"] = {"params": r.params, "loss": r.loss, "history": r.history, "time": time.perf_counter() - t0}
    if "gradient" in strategies:
        t0 = time.perf_counter()
        gb = global_bounds(m, start, GLOBALS, WINDOWS)
        b = m.default_bounds(start, ("xy",))
        bounds = Bounds.create(start, xy=(b.lower.xy, b.upper.xy),
                               **{n: (getattr(gb.lower, n), getattr(gb.upper, n)) for n in GLOBALS})
        r = fit_gradient(m, data, start, ("xy",) + GLOBALS, bounds, "l2", "lbfgs", grad_steps + 40, t0=t0)
        out["gradient"] = {"params": r.params, "loss": r.loss, "history": r.history, "time": time.perf_counter() - t0}
    if "bo" in strategies:
        t0 = time.perf_counter()
        gb = global_bounds(m, start, GLOBALS, WINDOWS)
        b = m.default_bounds(start, ("xy",), position_window=0.15)
        bounds = Bounds.create(start, xy=(b.lower.xy, b.upper.xy),
                               **{n: (getattr(gb.lower, n), getattr(gb.upper, n)) for n in GLOBALS})
        r = fit_bo(m, data, start, GLOBALS + ("xy",), bounds, max_evaluations=bo_only_max_evaluations
                   or 2 * bo_max_evaluations, batch=batch, t0=t0)
        out["bo"] = {"params": r.params, "loss": r.loss, "history": r.history, "time": time.perf_counter() - t0}
    return out
