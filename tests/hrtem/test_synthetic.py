import numpy as np
import pytest

from jaxem.hrtem.model import discrete_check
from jaxem.hrtem.synthetic import batio3_problem, errors


def test_problem_truth_start_noise_and_discrete_check():
    pr = batio3_problem(cells=1, repeats=8, sampling=0.25, dose=1e4)
    m = pr.model
    e = errors(m, pr.truth, pr.truth)
    assert all(v == 0 for k, v in e.items() if k != "ti_o_mean_error")
    e0 = errors(m, pr.start, pr.truth)
    assert e0["defocus"] == pytest.approx(40.0, rel=1e-5) and e0["thickness_cells"] == pytest.approx(2.0, rel=1e-5)
    assert e0["A1"] == pytest.approx(25.0, rel=1e-4)
    # Poisson noise: var(data − clean) ≈ mean(clean) / (dose · pixel area) (+ readout)
    n_e = 1e4 * m.grid.sampling[0] * m.grid.sampling[1]
    resid = np.asarray(pr.data - pr.clean)
    assert np.var(resid) == pytest.approx(np.mean(pr.clean) / n_e + 1.0 / n_e**2, rel=0.25)
    chk = discrete_check(m, pr.truth, pr.clean)
    assert chk.relaxed == pytest.approx(0.0, abs=1e-10) and chk.rounded == pytest.approx(0.0, abs=1e-10)
    assert np.all(chk.counts == 6)
    chk = discrete_check(m, pr.truth.replace(thickness=pr.truth.thickness + 0.3 * m.unit_length), pr.clean)
    assert chk.relaxed > 1e-6 and chk.rounded == pytest.approx(0.0, abs=1e-10)
