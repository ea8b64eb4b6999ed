import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import pytree
from jaxem.hrtem.gradient import GradientFitter, gradient_fitter, make_schedule, multistart, run_steps
from jaxem.hrtem.params import Bounds, from_unconstrained, to_unconstrained
from jaxem.validate import InputError, InputTypeError


@pytree.dataclass
class XY:
    x: object = pytree.field(default=None, units="Å")
    y: object = pytree.field(default=None, units="Å")


B = Bounds.create(XY, x=(-3.0, 3.0), y=(0.0, np.inf))


def _run(fitter, z, steps, *inputs):
    state = jax.jit(fitter.init)(z, *inputs)
    step = jax.jit(fitter.step)
    for _ in range(steps):
        state = step(state, *inputs)
    return state


@pytest.mark.parametrize("optimizer,steps", [("lbfgs", 30), ("adam", 400)])
def test_quadratic_minimum_inside_bounds(optimizer, steps):
    # minimum of (x − 1.2)² + (y − 0.7)²/4 at (1.2, 0.7) inside the bounds
    def obj(z):
        p = from_unconstrained(z, B)
        return (p.x - 1.2) ** 2 + 0.25 * (p.y - 0.7) ** 2

    z0 = to_unconstrained(XY(jnp.float64(-2.0), jnp.float64(3.0)), B)
    fitter = gradient_fitter(obj, optimizer, learning_rate=0.1, steps=steps)
    assert isinstance(fitter, GradientFitter)
    st = _run(fitter, z0, steps)
    p = from_unconstrained(st.best_z, B)
    assert float(p.x) == pytest.approx(1.2, abs=1e-3) and float(p.y) == pytest.approx(0.7, abs=1e-3)
    assert float(st.best_loss) < 1e-6 and int(st.count) == steps


def test_inputs_flow_through_init_and_step_and_fitters_are_cached():
    """One fitter, several data: step(state, data); the same arguments give the same fitter, so a
    jitted driver with the fitter as a static argument compiles once."""
    bx = B.subset(["x"])

    def obj(z, target):
        return (from_unconstrained(z, bx).x - target) ** 2

    fitter = gradient_fitter(obj, "lbfgs")
    assert gradient_fitter(obj, "lbfgs") is fitter and hash(fitter) == hash(gradient_fitter(obj, "lbfgs"))
    z0 = to_unconstrained(XY(x=jnp.float64(0.0)), bx)
    for target in (-1.5, 2.0):
        st = _run(fitter, z0, 15, jnp.float64(target))
        assert float(from_unconstrained(st.best_z, bx).x) == pytest.approx(target, abs=1e-4)
    # batched over targets under vmap (the ROI pattern)
    targets = jnp.asarray([-1.0, 0.5, 1.0])
    zs = jax.tree.map(lambda a: jnp.repeat(a[None], 3, axis=0), z0)
    state = jax.vmap(fitter.init)(zs, targets)
    state = run_steps(state, (targets,), fitter, 15, (0,))
    np.testing.assert_allclose(from_unconstrained(state.best_z, bx).x, targets, atol=1e-4)


def test_bounds_hold_when_minimum_outside():
    bx = B.subset(["x"])

    def obj(z):
        return (from_unconstrained(z, bx).x - 10.0) ** 2

    st = _run(gradient_fitter(obj, "lbfgs"), to_unconstrained(XY(x=jnp.float64(0.0)), bx), 20)
    x = float(from_unconstrained(st.best_z, bx).x)
    assert 2.9 < x <= 3.0


def test_multistart_vmap_finds_global_minimum():
    b = Bounds.create(XY, x=(-4.0, 4.0))

    def obj(z):  # local minimum near x = +1.4, global near x = −1.55
        x = from_unconstrained(z, b).x
        return x**4 - 4.5 * x**2 + 0.8 * x

    starts = multistart(XY(x=jnp.float64(2.0)), b, 8, jax.random.PRNGKey(1), spread=1.0)
    assert starts.x.shape == (8,) and float(starts.x[0]) == 2.0
    assert np.all((np.asarray(starts.x) > -4) & (np.asarray(starts.x) < 4))
    fitter = gradient_fitter(obj, "lbfgs")
    z0 = jax.vmap(lambda s: to_unconstrained(s, b))(starts)
    state = jax.jit(jax.vmap(fitter.init))(z0)
    step = jax.jit(jax.vmap(fitter.step))
    for _ in range(25):
        state = step(state)
    xs = np.asarray(jax.vmap(lambda z: from_unconstrained(z, b))(state.best_z).x)
    best = xs[np.argmin(np.asarray(state.best_loss))]
    roots = np.roots([4, 0, -9, 0.8])
    xg = roots[np.argmin([r**4 - 4.5 * r**2 + 0.8 * r for r in roots.real])].real
    assert best == pytest.approx(xg, abs=1e-4)
    assert xs[0] > 0  # the first start stays in its (local) basin


def test_argument_errors_name_the_argument():
    assert float(make_schedule(0.1, 10, "cosine")(10)) == pytest.approx(0.001)
    with pytest.raises(InputError, match="schedule must be one of"):
        make_schedule(0.1, 10, "step")
    with pytest.raises(InputError, match="learning_rate must be > 0"):
        make_schedule(-1.0, 10)
    with pytest.raises(InputError, match="optimizer must be one of.*'sgd'"):
        gradient_fitter(lambda z: 0.0, "sgd")
    with pytest.raises(InputError, match="steps must be ≥ 1"):
        gradient_fitter(lambda z: 0.0, "adam", steps=0)
    with pytest.raises(InputTypeError, match="objective must be a callable"):
        gradient_fitter(3.0)
    with pytest.raises(InputError, match="n_starts must be ≥ 1"):
        multistart(XY(x=0.0), B.subset(["x"]), 0, jax.random.PRNGKey(0))
