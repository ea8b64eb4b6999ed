import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.hrtem import turbo


def test_test_functions_at_known_minima():
    assert float(turbo.ackley(jnp.zeros(10))) == pytest.approx(0.0, abs=1e-12)
    xh = jnp.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])
    assert float(turbo.hartmann6(xh)) == pytest.approx(turbo.HARTMANN6_MIN, abs=1e-5)


def test_tell_counters_expand_shrink_restart():
    cfg = turbo.TurboConfig(dim=2, batch=2, n_init=4, n_cand=64, capacity=64, length_init=0.8)
    assert cfg.failure_tolerance == 2  # ceil(max(4/2, 2/2))
    s = turbo.init(cfg, jax.random.PRNGKey(0))
    x = jnp.full((2, 2), 0.5)
    s = turbo.tell(s, cfg, x, jnp.array([5.0, 4.0]))
    s = turbo.tell(s, cfg, x, jnp.array([3.0, 6.0]))  # initial design done (4 points)
    assert int(s.n) == 4 and float(s.best_y) == 3.0 and int(s.n_succ) == 0
    for v in (2.0, 1.0, 0.5):  # three successes double L
        s = turbo.tell(s, cfg, x, jnp.array([v, 10.0]))
    assert float(s.length) == pytest.approx(1.6) and int(s.n_succ) == 0
    s = turbo.tell(s, cfg, x, jnp.array([0.4999999, 10.0]))  # below the 1e-3 relative threshold: failure
    s = turbo.tell(s, cfg, x, jnp.array([9.0, 9.0]))
    assert float(s.length) == pytest.approx(0.8) and int(s.n_fail) == 0
    s = turbo.tell(s, cfg, x, jnp.array([jnp.nan, jnp.inf]))  # failed evaluations count as failures
    assert np.all(np.isfinite(np.asarray(s.y[: int(s.n)])))
    for _ in range(20):
        s = turbo.tell(s, cfg, x, jnp.array([9.0, 9.0]))
    assert int(s.restarts) >= 1 and float(s.best_y) == pytest.approx(0.4999999)


def test_ask_stays_in_unit_cube_and_trust_region():
    cfg = turbo.TurboConfig(dim=3, batch=4, n_init=6, n_cand=128, capacity=64)
    s = turbo.init(cfg, jax.random.PRNGKey(3))
    f = lambda x: jnp.sum((x - 0.3) ** 2, axis=-1)  # noqa: E731
    ask = jax.jit(lambda s: turbo.ask(s, cfg))
    for _ in range(4):
        xs, s = ask(s)
        assert xs.shape == (4, 3) and bool(jnp.all((xs >= 0) & (xs <= 1)))
        s = turbo.tell(s, cfg, xs, f(xs))
    xs, s = ask(s)
    assert len({tuple(np.round(np.asarray(r), 12)) for r in xs}) == 4  # distinct (no replacement)


def test_hartmann6_near_optimum():
    f = jax.jit(jax.vmap(turbo.hartmann6))
    r = turbo.minimize(f, 6, 150, batch=5, key=jax.random.PRNGKey(1), n_cand=500)
    # TuRBO paper / BoTorch tutorials: Hartmann-6 reaches ≈ −3.3 within ~100–200 evaluations
    assert r.y < -3.2, r.y
    assert r.history[-1][1] <= 150 and r.history[-1][2] == pytest.approx(r.y)


def test_ackley10_near_optimum():
    f = jax.jit(jax.vmap(lambda u: turbo.ackley(-5.0 + 15.0 * u)))  # domain [−5, 10]^10
    r = turbo.minimize(f, 10, 200, batch=10, key=jax.random.PRNGKey(1), n_cand=400)
    # random search with 200 points gets ≈ 15–18 on this domain; TuRBO-1 gets within a few units of 0
    # after 200 evaluations (0.35–1.1 after 300, benchmarks/README numbers in the final report)
    assert r.y < 3.0, r.y


def test_minimize_errors():
    with pytest.raises(ValueError, match="budget"):
        turbo.minimize(lambda x: x[:, 0], 2, 0)
    with pytest.raises(ValueError, match="capacity"):
        turbo.init(turbo.TurboConfig(dim=2, batch=4, n_init=10, capacity=8), jax.random.PRNGKey(0))
