import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.hrtem.gradient import gradient_fitter, make_schedule, multistart
from jaxem.hrtem.params import Bounds, from_unconstrained, to_unconstrained

B = Bounds.create({"x": (-3.0, 3.0), "y": (0.0, np.inf)})


def _run(fitter, z, steps):
    state = jax.jit(fitter.init)(z)
    step = jax.jit(fitter.step)
    for _ in range(steps):
        state = step(state)
    return state


@pytest.mark.parametrize("optimizer,steps", [("lbfgs", 30), ("adam", 400)])
def test_quadratic_minimum_inside_bounds(optimizer, steps):
    # minimum of (x − 1.2)² + (y − 0.7)²/4 at (1.2, 0.7) inside the bounds
    def obj(z):
        p = from_unconstrained(z, B)
        return (p["x"] - 1.2) ** 2 + 0.25 * (p["y"] - 0.7) ** 2

    z0 = to_unconstrained({"x": jnp.float64(-2.0), "y": jnp.float64(3.0)}, B)
    st = _run(gradient_fitter(obj, optimizer, learning_rate=0.1, steps=steps), z0, steps)
    p = from_unconstrained(st.best_z, B)
    assert float(p["x"]) == pytest.approx(1.2, abs=1e-3) and float(p["y"]) == pytest.approx(0.7, abs=1e-3)
    assert float(st.best_loss) < 1e-6 and int(st.count) == steps


def test_bounds_hold_when_minimum_outside():
    bx = B.subset(["x"])

    def obj(z):
        return (from_unconstrained(z, bx)["x"] - 10.0) ** 2

    st = _run(gradient_fitter(obj, "lbfgs"), to_unconstrained({"x": jnp.float64(0.0)}, bx), 20)
    x = float(from_unconstrained(st.best_z, bx)["x"])
    assert 2.9 < x <= 3.0


def test_multistart_vmap_finds_global_minimum():
    b = Bounds.create({"x": (-4.0, 4.0)})

    def obj(z):  # local minimum near x = +1.4, global near x = −1.55
        x = from_unconstrained(z, b)["x"]
        return x**4 - 4.5 * x**2 + 0.8 * x

    starts = multistart({"x": jnp.float64(2.0)}, b, 8, jax.random.PRNGKey(1), spread=1.0)
    assert starts["x"].shape == (8,) and float(starts["x"][0]) == 2.0
    assert np.all((np.asarray(starts["x"]) > -4) & (np.asarray(starts["x"]) < 4))
    fitter = gradient_fitter(obj, "lbfgs")
    z0 = jax.vmap(lambda s: to_unconstrained(s, b))(starts)
    state = jax.jit(jax.vmap(fitter.init))(z0)
    step = jax.jit(jax.vmap(fitter.step))
    for _ in range(25):
        state = step(state)
    xs = np.asarray(jax.vmap(lambda z: from_unconstrained(z, b))(state.best_z)["x"])
    best = xs[np.argmin(np.asarray(state.best_loss))]
    roots = np.roots([4, 0, -9, 0.8])
    xg = roots[np.argmin([r**4 - 4.5 * r**2 + 0.8 * r for r in roots.real])].real
    assert best == pytest.approx(xg, abs=1e-4)
    assert xs[0] > 0  # the first start stays in its (local) basin


def test_schedule_errors():
    assert float(make_schedule(0.1, 10, "cosine")(10)) == pytest.approx(0.001)
    with pytest.raises(ValueError, match="schedule"):
        make_schedule(0.1, 10, "step")
    with pytest.raises(ValueError, match="learning_rate"):
        make_schedule(-1.0, 10)
    with pytest.raises(ValueError, match="optimizer"):
        gradient_fitter(lambda z: 0.0, "sgd")
