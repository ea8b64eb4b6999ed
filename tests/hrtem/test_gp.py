import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.hrtem import gp


def _data(n=25, d=3, cap=32, seed=0):
    r = np.random.default_rng(seed)
    X = r.uniform(size=(cap, d))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, 2]
    mask = np.arange(cap) < n
    return jnp.asarray(X), jnp.asarray(y), jnp.asarray(mask)


def _numpy_nll(params, X, y):
    ls, os_, noise, mean = (np.asarray(v) for v in gp.constrain(params))
    d = (X[:, None] - X[None]) / ls
    r = np.sqrt(np.sum(d * d, -1))
    K = os_ * (1 + np.sqrt(5) * r + 5 * r**2 / 3) * np.exp(-np.sqrt(5) * r) + (noise + gp.JITTER * os_) * np.eye(len(X))
    sign, logdet = np.linalg.slogdet(K)
    res = y - mean
    return (0.5 * res @ np.linalg.solve(K, res) + 0.5 * logdet + 0.5 * len(X) * np.log(2 * np.pi)) / len(X)


def test_masked_likelihood_equals_dense_numpy():
    X, y, m = _data()
    p = gp.init_params(3, "float64")
    ref = _numpy_nll(p, np.asarray(X)[:25], np.asarray(y)[:25])
    assert float(gp.neg_log_marginal_likelihood(p, X, y, m)) == pytest.approx(ref, rel=1e-10)


def test_matern52_against_sklearn():
    sk = pytest.importorskip("sklearn.gaussian_process.kernels")
    X, _, _ = _data()
    ls = np.array([0.3, 0.7, 1.1])
    ref = 2.0 * sk.Matern(length_scale=ls, nu=2.5)(np.asarray(X))
    np.testing.assert_allclose(gp.matern52(X, X, jnp.asarray(ls), 2.0), ref, rtol=1e-10, atol=1e-12)


def test_fit_improves_likelihood_and_posterior_interpolates():
    X, y, m = _data()
    ys = (y - jnp.mean(y[:25])) / jnp.std(y[:25])
    p0 = gp.init_params(3, "float64")
    p = gp.fit(X, ys, m, steps=100)
    assert float(gp.neg_log_marginal_likelihood(p, X, ys, m)) < float(gp.neg_log_marginal_likelihood(p0, X, ys, m))
    ls, os_, noise, _ = gp.constrain(p)
    assert np.all((ls >= 0.005) & (ls <= 2.0)) and 5e-4 <= float(noise) <= 0.2
    mu, var = gp.posterior(p, X, ys, m, X[:25], full_cov=False)
    assert float(jnp.max(jnp.abs(mu - ys[:25]))) < 0.2
    # held-out points (the padding rows were never seen) are predicted reasonably
    mu_out, var_out = gp.posterior(p, X, ys, m, X[25:], full_cov=False)
    assert float(jnp.sqrt(jnp.mean((mu_out - ys[25:]) ** 2))) < 0.5
    assert np.all(np.asarray(var_out) > np.asarray(var).mean())


def test_samples_are_finite_for_clustered_candidates_in_float32():
    X, y, m = (a.astype(jnp.float32) if a.dtype != bool else a for a in _data(n=40, d=6, cap=64))
    y = jnp.sin(jnp.sum(X, axis=1))
    p = gp.fit(X, y, m, steps=30)
    cand = jnp.asarray(np.random.default_rng(1).uniform(size=(500, 6)) * 0.05 + 0.5, jnp.float32)
    f = gp.sample_posterior(jax.random.PRNGKey(0), p, X, y, m, cand, 5)
    assert f.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(f)))
    assert gp.sample_jitter(500, jnp.float64) == 1e-6 < gp.sample_jitter(500, jnp.float32)
