import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

from jaxem.ltr.poisson import fisher_scoring, linear_two_component, poisson_deviance, poisson_loglik


def test_linear_two_component_matches_scipy(rng):
    t = np.linspace(0, 5, 40)
    u, v = np.ones(40), np.exp(-t)
    for b_true in (0.0, 2.0):
        y = rng.poisson(b_true + 8 * v).astype(float)
        ab, ll = linear_two_component(jnp.asarray(y), jnp.asarray(u), jnp.asarray(v), jnp.asarray([1.0, 1.0]), 30)
        ref = minimize(lambda p: np.sum(p[0] * u + p[1] * v - y * np.log(np.maximum(p[0] * u + p[1] * v, 1e-12))),
                       [1.0, 1.0], method="L-BFGS-B", bounds=[(0, None), (0, None)])
        assert float(ll) == pytest.approx(-ref.fun, abs=1e-4)
        np.testing.assert_allclose(ab, ref.x, atol=2e-3)


def test_fisher_scoring_recovers_exponential(rng):
    x = np.linspace(0, 10, 60)
    y = rng.poisson(50 * np.exp(-x / 3.0) + 2).astype(float)

    def model(th, x):
        return th[0] + th[1] * jnp.exp(-x / jnp.exp(th[2]))

    th, ll, conv, F = fisher_scoring(model, jnp.asarray([1.0, 30.0, 0.0]), jnp.asarray(x), jnp.asarray(y), 80)
    assert bool(conv)
    assert np.exp(float(th[2])) == pytest.approx(3.0, rel=0.15)
    assert float(poisson_deviance(jnp.asarray(y), model(th, x))) < 2 * len(x)
    assert float(ll) >= float(poisson_loglik(jnp.asarray(y), model(jnp.asarray([2.0, 50.0, np.log(3.0)]), x))) - 1e-6
