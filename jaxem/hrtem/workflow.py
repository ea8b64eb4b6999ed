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

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .gradient import FitResult, fit_gradient
from .losses import get_loss
from .params import Bounds, from_unit, merge, to_unit
from .turbo import minimize

#: default half-widths of the BO search box around the guess (units of each parameter)
DEFAULT_WINDOWS = {"defocus": 150.0, "Cs": 5e4, "A1": 60.0, "focal_spread": 30.0, "image_spread": 0.3}


def global_bounds(model, params: dict, names, windows: dict | None = None) -> Bounds:
    """Finite bounds for BO: guess ± window (thickness: the model's full range), clipped to the
    model's default bounds."""
    windows = {**DEFAULT_WINDOWS, **(windows or {})}
    base = model.default_bounds(params, names)
    spec = {}
    for n in names:
        lo, hi = base.lower[n], base.upper[n]
        if n in windows:
            x = np.asarray(params[n], float)
            lo, hi = np.maximum(lo, x - windows[n]), np.minimum(hi, x + windows[n])
        spec[n] = (lo, hi, base.units.get(n, ""))
    return Bounds.create(spec, like=params)


class StepwiseResult(NamedTuple):
    """Result of :func:`fit_stepwise`: final fit, BO-stage fit, and the joint history rows
    (wall time [s], evaluations, best loss, stage)."""

    params: dict
    loss: float
    bo: FitResult
    history: list


def fit_bo(model, data, params: dict, names, bounds: Bounds | None = None, loss="l2", budget: int = 200,
           batch: int = 8, key=None, t0: float | None = None, **turbo_kw) -> FitResult:
    """TuRBO over the parameters ``names`` (finite ``bounds``; default :func:`global_bounds`)."""
    names = tuple(names)
    data = model.check_data(data)
    bounds = global_bounds(model, params, names) if bounds is None else bounds.subset(names)
    bounds.check(params, "params (start)")
    lossf = get_loss(loss)
    fixed = {k: v for k, v in params.items() if k not in names}
    dtype = model.dtype

    @jax.jit
    def f_batch(u):
        def one(ui):
            p = merge(fixed, {k: v.astype(dtype) for k, v in from_unit(ui.astype(dtype), bounds).items()})
            return lossf(model._render_impl(p), data)
        return jax.vmap(one)(u)

    x0 = np.clip(np.asarray(to_unit(params, bounds)), 0.0, 1.0)
    d = int(x0.size)
    res = minimize(f_batch, d, budget, batch=batch, key=key, x0=x0, t0=t0, **turbo_kw)
    best = {k: jnp.asarray(v, dtype) for k, v in from_unit(jnp.asarray(res.x), bounds).items()}
    return FitResult(merge(params, best), res.y, res.history, "ok" if np.isfinite(res.y) else "non-finite loss")


def fit_stepwise(model, data, params: dict, global_names=("defocus", "Cs", "A1", "thickness"),
                 local_names=("xy",), loss="l2", bo_budget: int = 200, batch: int = 8, grad_steps: int = 60,
                 windows: dict | None = None, key=None, refine_globals: bool = True,
                 position_window: float = 0.3) -> StepwiseResult:
    """BO for ``global_names`` (structure at its guess), then L-BFGS for ``local_names`` (+ globals).

    Args:
        model: :class:`~jaxem.hrtem.model.HRTEMModel`.
        data: image on the model grid.
        params: starting guess (full dict).
        global_names: parameters searched by TuRBO.
        local_names: parameters refined by gradients in stage 2.
        loss: loss name or callable.
        bo_budget, batch: TuRBO evaluations and batch size.
        grad_steps: L-BFGS steps in stage 2.
        windows: half-widths of the BO box (see :data:`DEFAULT_WINDOWS`).
        refine_globals: refine the globals together with the local parameters in stage 2.
        position_window: bound half-width of column positions [Å] in stage 2.
    """
    t0 = time.perf_counter()
    gb = global_bounds(model, params, global_names, windows)
    bo = fit_bo(model, data, params, global_names, gb, loss, bo_budget, batch, key, t0=t0)
    history = [(*h, "bo") for h in bo.history]
    names = tuple(local_names) + (tuple(global_names) if refine_globals else ())
    base = model.default_bounds(bo.params, names, position_window)
    spec = {n: (base.lower[n], base.upper[n], base.units.get(n, "")) for n in names}
    for n in global_names:
        if n in spec:
            spec[n] = (gb.lower[n], gb.upper[n], gb.units.get(n, ""))
    bounds = Bounds.create(spec, like=bo.params)
    start = _inside(bo.params, bounds)
    gr = fit_gradient(model, data, start, names, bounds, loss, "lbfgs", grad_steps, t0=t0)
    n_bo = history[-1][1] if history else 0
    history += [(t, n_bo + e, l, "gradient") for t, e, l in gr.history]
    return StepwiseResult(gr.params, gr.loss, bo, history)


def _inside(params: dict, bounds: Bounds, margin: float = 1e-4) -> dict:
    """Move values that sit on (or beyond) their bounds a relative ``margin`` inside."""
    out = dict(params)
    for n, lo in bounds.lower.items():
        hi = bounds.upper[n]
        w = hi - lo
        out[n] = jnp.asarray(np.clip(np.asarray(params[n], float), lo + margin * w, hi - margin * w),
                             jnp.result_type(params[n]))
    return out


# ---- the three strategies on one problem (demo, notebook, benchmark) -----------------------------
#: BO-only: TuRBO over globals *and* column positions; gradient-only: L-BFGS over both from the start;
#: hybrid: :func:`fit_stepwise`. Each returns (wall time [s], evaluations, best loss) rows.
GLOBALS = ("defocus", "Cs", "A1", "thickness")
WINDOWS = {"defocus": 100.0, "Cs": 5e4, "A1": 40.0}


def run_strategies(problem, bo_budget: int = 120, batch: int = 8, grad_steps: int = 40,
                   bo_only_budget: int | None = None, strategies=("hybrid", "gradient", "bo")) -> dict:
    """Fit ``problem`` (:class:`jaxem.hrtem.synthetic.Problem`) with each strategy; returns
    ``{name: {"params", "loss", "history", "time"}}``."""
    m, data, start = problem.model, problem.data, problem.start
    out = {}
    if "hybrid" in strategies:
        t0 = time.perf_counter()
        r = fit_stepwise(m, data, start, GLOBALS, ("xy",), bo_budget=bo_budget, batch=batch,
                         grad_steps=grad_steps, windows=WINDOWS)
        out["hybrid"] = {"params": r.params, "loss": r.loss, "history": [h[:3] for h in r.history],
                         "time": time.perf_counter() - t0}
    if "gradient" in strategies:
        t0 = time.perf_counter()
        gb = global_bounds(m, start, GLOBALS, WINDOWS)
        names = ("xy",) + GLOBALS
        b = m.default_bounds(start, names)
        spec = {n: ((gb if n in GLOBALS else b).lower[n], (gb if n in GLOBALS else b).upper[n]) for n in names}
        r = fit_gradient(m, data, start, names, Bounds.create(spec, like=start), "l2", "lbfgs",
                         grad_steps + 40, t0=t0)
        out["gradient"] = {"params": r.params, "loss": r.loss, "history": r.history, "time": time.perf_counter() - t0}
    if "bo" in strategies:
        t0 = time.perf_counter()
        names = GLOBALS + ("xy",)
        gb = global_bounds(m, start, GLOBALS, WINDOWS)
        b = m.default_bounds(start, ("xy",), position_window=0.15)
        spec = {n: (gb.lower[n], gb.upper[n]) for n in GLOBALS}
        spec["xy"] = (b.lower["xy"], b.upper["xy"])
        r = fit_bo(m, data, start, names, Bounds.create(spec, like=start), budget=bo_only_budget or 2 * bo_budget,
                   batch=batch, t0=t0)
        out["bo"] = {"params": r.params, "loss": r.loss, "history": r.history, "time": time.perf_counter() - t0}
    return out
