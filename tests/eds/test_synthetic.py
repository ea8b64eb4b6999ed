import jax
import numpy as np
import pytest

from jaxem.eds import synthetic


def test_expected_counts_thin_limit_and_poisson():
    w = np.array([0.2, 0.8])
    lam = np.asarray(synthetic.expected_counts(w, np.array([1e-5]), 1e10, np.array([100.0, 200.0])))
    # λ = C ρt[kg/m²] N_e / ζ
    assert lam[0] == pytest.approx(w * 1e-4 * 1e10 / np.array([100.0, 200.0]))
    big = np.full((20000,), 50.0)
    draws = np.asarray(synthetic.poisson_counts(jax.random.PRNGKey(1), big))
    assert draws.mean() == pytest.approx(50.0, rel=0.01) and draws.var() == pytest.approx(50.0, rel=0.05)
    assert synthetic.wedge(4, 300.0).tolist() == [0.0, 100.0, 200.0, 300.0]
    with pytest.raises(ValueError):
        synthetic.wedge(1, 300.0)
