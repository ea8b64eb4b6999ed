"""The L-BFGS of jaxem.ptycho.lbfgs against SciPy's L-BFGS-B (an independent implementation) on the
Rosenbrock function and a quadratic with a known minimiser, plus the compile-once property."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize, rosen

from jaxem.ptycho import lbfgs


def _run(f, x0, steps, **kw):
    vg = jax.value_and_grad(lambda x: (f(x), jnp.zeros(())), has_aux=True)
    step = jax.jit(lambda st, x: lbfgs.update(st, x, vg, **kw))
    x = jnp.asarray(x0)
    st = lbfgs.init(x, 6)
    for _ in range(steps):
        st, x = step(st, x)
    return np.asarray(x), st, step


def test_rosenbrock_reaches_scipys_minimum_and_compiles_once():
    x0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.3])
    ref = minimize(rosen, x0, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12})
    f = lambda x: jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)  # noqa: E731
    x, st, step = _run(f, x0, 400, initial_step=0.1)
    np.testing.assert_allclose(x, ref.x, atol=1e-4)
    assert float(st.value) < 1e-10
    assert step._cache_size() == 1            # one compiled step for every evaluation
    assert int(st.evaluations) == 400


def test_quadratic_monotone_and_exact():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((8, 8))
    h = a @ a.T + 0.5 * np.eye(8)             # SPD, condition number ~100
    b = rng.standard_normal(8)
    f = lambda x: 0.5 * x @ jnp.asarray(h) @ x - jnp.asarray(b) @ x  # noqa: E731
    vg = jax.value_and_grad(lambda x: (f(x), jnp.zeros(())), has_aux=True)
    step = jax.jit(lambda st, x: lbfgs.update(st, x, vg, initial_step=0.5))
    x = jnp.zeros(8)
    st = lbfgs.init(x, 6)
    values = []
    for _ in range(80):
        st, x = step(st, x)
        values.append(float(st.value))
    # the accepted value never increases (Armijo), and the minimiser is H⁻¹b
    assert np.all(np.diff(values[1:]) <= 1e-12)
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(h, b), rtol=1e-6, atol=1e-8)


def test_rejected_trial_halves_the_step():
    f = lambda x: jnp.sum(x ** 4)  # noqa: E731
    vg = jax.value_and_grad(lambda x: (f(x), jnp.zeros(())), has_aux=True)
    x = jnp.asarray([1.0, -2.0])
    upd = jax.jit(lambda st, x: lbfgs.update(st, x, vg, initial_step=10.0))
    st, x1 = upd(lbfgs.init(x, 3), x)                                    # evaluation at x: accepted
    assert float(st.step) == pytest.approx(10.0 / 32.0)                  # steepest step, |∇f|∞ = 32
    st2, x2 = upd(st, x1)                                                # overshoots: rejected
    np.testing.assert_array_equal(np.asarray(x2), np.asarray(x1))
    assert float(st2.step) == pytest.approx(0.5 * float(st.step)) and int(st2.backtracks) == 1
