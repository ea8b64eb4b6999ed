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
    r = fit_stepwise(m, problem.data, problem.start, bo_max_evaluations=120, batch=8, grad_steps=40,
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
    assert r.stages[0] == "bo" and r.stages[-1] == "gradient" and len(r.stages) == len(r.history)
    assert np.all(np.diff(r.history[:, 0]) >= 0) and np.all(np.diff(r.history[:, 1]) >= 0)


def test_bad_inputs(problem):
    from jaxem.hrtem.gradient import fit_gradient
    from jaxem.hrtem.params import Bounds
    from jaxem.hrtem.workflow import fit_bo
    from jaxem.validate import InputError

    m = problem.model
    with pytest.raises(InputError, match="image must have shape"):
        fit_stepwise(m, problem.data[:-2], problem.start)
    bad = np.array(problem.data)
    bad[5, 5] = np.nan
    with pytest.raises(InputError, match=r"image holds 1 NaN/inf value\(s\) \(first at index \(5, 5\)\)"):
        fit_stepwise(m, bad, problem.start)
    b = global_bounds(m, problem.start, ["defocus"], {"defocus": 10.0})
    assert float(b.upper.defocus - b.lower.defocus) == pytest.approx(20.0)
    with pytest.raises(InputError, match="windows.defocus must be > 0"):
        global_bounds(m, problem.start, ["defocus"], {"defocus": -10.0})
    with pytest.raises(TypeError, match="windows.defocus must be an array"):
        global_bounds(m, problem.start, ["defocus"], {"defocus": "wide"})
    with pytest.raises(InputError, match="windows has an unknown parameter 'defocs'"):
        global_bounds(m, problem.start, ["defocus"], {"defocs": 10.0})
    far = problem.start.replace(xy=problem.start.xy + 1.0)
    with pytest.raises(InputError, match=r"params \(start\).xy\[0, 0\] = .* lies outside its bounds"):
        fit_gradient(m, problem.data, far, ["xy"], m.default_bounds(problem.start, ["xy"]))
    with pytest.raises(InputError, match="steps must be ≥ 1"):
        fit_gradient(m, problem.data, problem.start, ["xy"], steps=0)
    with pytest.raises(InputError, match="n_starts must be ≥ 1"):
        fit_gradient(m, problem.data, problem.start, ["xy"], n_starts=0)
    with pytest.raises(InputError, match="names contains 'xz'"):
        fit_gradient(m, problem.data, problem.start, ["xz"])
    with pytest.raises(InputError, match="loss must be one of.*'l1'"):
        fit_gradient(m, problem.data, problem.start, ["xy"], loss="l1")
    with pytest.raises(InputError, match="max_evaluations must be ≥ 1"):
        fit_bo(m, problem.data, problem.start, ["defocus"], max_evaluations=0)
    with pytest.raises(InputError, match="the unit-box map needs finite bounds"):
        fit_bo(m, problem.data, problem.start, ["Cs"], Bounds.create(problem.start, Cs=(-np.inf, 1e6)))
    with pytest.raises(InputError, match=r"params.thickness = .* physical range"):
        fit_bo(m, problem.data, problem.start.replace(thickness=problem.start.thickness * 100), ["defocus"])
