"""Acceptance: synthetic BaTiO3 [001] at a realistic dose, fitted from a wrong but reasonable guess.

Reduced for test time: 3×3×8 cells at 0.1 Å (120² pixels), the quasi-coherent envelope model,
120 TuRBO evaluations (batch 8) then 40 L-BFGS steps. Truth: Δf = 80 Å, Cs = −15 µm,
A1 = (20, −15) Å, t = 6 cells, in-plane Ti (+8, +3) pm / O (−3, 0) pm shifts + 1 pm jitter,
1e4 e⁻/Å² with Poisson and readout noise. Start: Δf +4 nm, Cs +3 µm, A1 = 0, t − 2 cells, ideal columns.
"""
import numpy as np
import pytest

from jaxem.hrtem.losses import l2
from jaxem.hrtem.synthetic import batio3_problem, errors
from jaxem.hrtem.workflow import fit_stepwise, global_bounds


@pytest.fixture(scope="module")
def problem():
    return batio3_problem(cells=3, repeats=8, sampling=0.1)


def test_stepwise_fit_recovers_batio3(problem):
    m = problem.model
    r = fit_stepwise(m, problem.data, problem.start, bo_budget=120, batch=8, grad_steps=40,
                     windows={"defocus": 100.0, "Cs": 5e4, "A1": 40.0})
    e = errors(m, r.params, problem.truth)
    assert e["defocus"] < 10.0          # 1 nm
    assert e["Cs"] < 2e4                # 2 µm
    assert e["A1"] < 10.0               # 1 nm
    assert e["thickness_cells"] < 1.0   # one unit cell
    assert e["columns_rms"] < 0.05      # 5 pm RMS
    assert e["ti_o_max"] < 0.05         # 5 pm per Ti column and component
    # the start was really wrong, and the fit reaches the noise floor of the true parameters
    e0 = errors(m, problem.start, problem.truth)
    assert e0["defocus"] > 30 and e0["thickness_cells"] > 1.5 and e0["ti_o_max"] > 0.08
    assert r.loss <= float(l2(m.render(problem.truth), problem.data)) * 1.01
    stages = [h[3] for h in r.history]
    assert stages[0] == "bo" and stages[-1] == "gradient"
    assert all(b[0] >= a[0] for a, b in zip(r.history, r.history[1:]))


def test_bad_inputs(problem):
    m = problem.model
    with pytest.raises(ValueError, match="image must have shape"):
        fit_stepwise(m, problem.data[:-2], problem.start)
    bad = np.array(problem.data)
    bad[5, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_stepwise(m, bad, problem.start)
    b = global_bounds(m, problem.start, ["defocus"], {"defocus": 10.0})
    assert float(b.upper["defocus"] - b.lower["defocus"]) == pytest.approx(20.0)
    far = {**problem.start, "xy": problem.start["xy"] + 1.0}
    from jaxem.hrtem.gradient import fit_gradient
    with pytest.raises(ValueError, match="outside its bounds"):
        fit_gradient(m, problem.data, far, ["xy"], m.default_bounds(problem.start, ["xy"]))
