import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem.hrtem.params import Bounds, flat_size, from_unconstrained, from_unit, to_unconstrained, to_unit

BOUNDS = Bounds.create({"a": (-2.0, 3.0, "Å"), "b": (0.0, np.inf, "Å²"), "c": (-np.inf, 1.0), "d": (-np.inf, np.inf)})


@given(st.floats(-1.99, 2.99), st.floats(1e-3, 50.0), st.floats(-50.0, 0.999), st.floats(-1e3, 1e3))
def test_round_trip_inside_bounds(a, b, c, d):
    p = {"a": jnp.float64(a), "b": jnp.float64(b), "c": jnp.float64(c), "d": jnp.float64(d)}
    back = from_unconstrained(to_unconstrained(p, BOUNDS), BOUNDS)
    for k in p:
        assert float(back[k]) == pytest.approx(float(p[k]), rel=1e-8, abs=1e-8)


@given(st.floats(-30, 30))
def test_any_z_maps_inside(z):
    x = from_unconstrained({k: jnp.float64(z) for k in "abcd"}, BOUNDS)
    assert -2.0 <= float(x["a"]) <= 3.0 and float(x["b"]) >= 0 and float(x["c"]) <= 1.0


def test_unit_box_round_trip_and_size():
    b = Bounds.create({"xy": (np.zeros((3, 2)), np.ones((3, 2)) * 2), "t": (1.0, 5.0)})
    p = {"xy": jnp.asarray(np.random.default_rng(0).uniform(0.1, 1.9, (3, 2))), "t": jnp.float64(2.5)}
    u = to_unit(p, b)
    assert u.shape == (flat_size(b),) == (7,)
    assert float(u[-1]) == pytest.approx(0.375)
    back = from_unit(u, b)
    np.testing.assert_allclose(back["xy"], p["xy"])
    with pytest.raises(ValueError, match="finite bounds"):
        to_unit({"b": 1.0}, BOUNDS.subset(["b"]))


def test_bad_bounds_and_starts():
    with pytest.raises(ValueError, match="lo < hi"):
        Bounds.create({"a": (2.0, 1.0)})
    with pytest.raises(ValueError, match=r"params\['a'\] = 5 Å lies outside its bounds"):
        BOUNDS.check({"a": 5.0, "b": 1.0, "c": 0.0, "d": 0.0})
    with pytest.raises(ValueError, match="NaN"):
        BOUNDS.check({"a": np.nan, "b": 1.0, "c": 0.0, "d": 0.0})
    with pytest.raises(ValueError, match="no entry 'b'"):
        BOUNDS.check({"a": 0.0})
    with pytest.raises(ValueError, match="no bounds for parameters"):
        BOUNDS.subset(["zz"])
