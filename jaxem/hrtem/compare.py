"""Run the three fitting strategies on one problem with one clock: BO-only, gradient-only, hybrid.

* BO-only: TuRBO over the global parameters *and* the free column positions (a high-dimensional box),
* gradient-only: L-BFGS from the starting guess over globals and positions together,
* hybrid: :func:`jaxem.hrtem.workflow.fit_stepwise` (TuRBO for globals, then L-BFGS).

Each returns (wall time [s], evaluations, best loss) rows, for convergence plots and the benchmark.
"""
from __future__ import annotations

import time

from .gradient import fit_gradient
from .workflow import fit_bo, fit_stepwise, global_bounds

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
        from .params import Bounds

        spec = {n: ((gb if n in GLOBALS else b).lower[n], (gb if n in GLOBALS else b).upper[n]) for n in names}
        r = fit_gradient(m, data, start, names, Bounds.create(spec, like=start), "l2", "lbfgs",
                         grad_steps + 40, t0=t0)
        out["gradient"] = {"params": r.params, "loss": r.loss, "history": r.history, "time": time.perf_counter() - t0}
    if "bo" in strategies:
        t0 = time.perf_counter()
        names = GLOBALS + ("xy",)
        gb = global_bounds(m, start, GLOBALS, WINDOWS)
        b = m.default_bounds(start, ("xy",), position_window=0.15)
        from .params import Bounds

        spec = {n: (gb.lower[n], gb.upper[n]) for n in GLOBALS}
        spec["xy"] = (b.lower["xy"], b.upper["xy"])
        r = fit_bo(m, data, start, names, Bounds.create(spec, like=start), budget=bo_only_budget or 2 * bo_budget,
                   batch=batch, t0=t0)
        out["bo"] = {"params": r.params, "loss": r.loss, "history": r.history, "time": time.perf_counter() - t0}
    return out
