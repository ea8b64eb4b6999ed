import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem import pytree
from jaxem.hrtem.params import (Bounds, HRTEMParams, describe, flat_size, from_mapping, from_unconstrained, from_unit,
                                merge, names_of, select, to_json, to_unconstrained, to_unit)
from jaxem.validate import InputError, InputTypeError


@pytree.dataclass
class P:
    a: object = pytree.field(default=None, units="Å")
    b: object = pytree.field(default=None, units="Å²")
    c: object = pytree.field(default=None, units="")
    d: object = pytree.field(default=None, units="mrad")


BOUNDS = Bounds.create(P, a=(-2.0, 3.0), b=(0.0, np.inf), c=(-np.inf, 1.0), d=(-np.inf, np.inf))


def test_hrtem_params_carry_units_and_are_a_pytree():
    units = pytree.units_of(HRTEMParams)
    assert units["defocus"] == "Å" and units["convergence"] == "mrad" and units["B"] == "Å²"
    p = HRTEMParams(defocus=jnp.float32(50.0), xy=jnp.zeros((3, 2)))
    assert names_of(p) == ("defocus", "xy") and len(jax.tree.leaves(p)) == 2
    q = p.replace(defocus=60.0)
    assert float(q.defocus) == 60.0 and float(p.defocus) == 50.0
    g = jax.grad(lambda s: s.defocus ** 2 + jnp.sum(s.xy))(p)  # differentiable, same class back
    assert isinstance(g, HRTEMParams) and float(g.defocus) == 100.0
    assert merge(p, HRTEMParams(xy=jnp.ones((3, 2)))).xy.sum() == 6
    assert names_of(select(p, ["xy"])) == ("xy",)
    assert to_json(p)["defocus"] == {"value": 50.0, "units": "Å"}
    assert "defocus = 50 Å" in describe(p)


def test_names_and_mappings_are_checked():
    p = HRTEMParams(defocus=1.0)
    with pytest.raises(InputError, match="names contains 'defocuss'.*did you mean 'defocus'"):
        select(p, ["defocuss"])
    with pytest.raises(InputError, match=r"params has no value for \['Cs'\]"):
        select(p, ["Cs"])
    with pytest.raises(InputError, match="windows has an unknown parameter 'Cs_'.*did you mean 'Cs'"):
        from_mapping(HRTEMParams, {"Cs_": 1.0}, "windows")
    with pytest.raises(InputTypeError, match="windows must be a mapping"):
        from_mapping(HRTEMParams, [1.0], "windows")
    assert float(from_mapping(p, {"defocus": 3.0}).defocus) == 3.0
    with pytest.raises(InputTypeError, match="params must be a parameter set"):
        names_of({"defocus": 1.0})


@given(st.floats(-1.99, 2.99), st.floats(1e-3, 50.0), st.floats(-50.0, 0.999), st.floats(-1e3, 1e3))
def test_round_trip_inside_bounds(a, b, c, d):
    p = P(jnp.float64(a), jnp.float64(b), jnp.float64(c), jnp.float64(d))
    back = from_unconstrained(to_unconstrained(p, BOUNDS), BOUNDS)
    for k in "abcd":
        assert float(getattr(back, k)) == pytest.approx(float(getattr(p, k)), rel=1e-8, abs=1e-8)


@given(st.floats(-30, 30))
def test_any_z_maps_inside(z):
    x = from_unconstrained(P(*(jnp.float64(z),) * 4), BOUNDS)
    assert -2.0 <= float(x.a) <= 3.0 and float(x.b) >= 0 and float(x.c) <= 1.0


def test_bijection_is_traceable_with_traced_bounds():
    z = to_unconstrained(P(a=jnp.float64(0.5)), BOUNDS.subset(["a"]))
    f = jax.jit(lambda z, b: from_unconstrained(z, b).a)
    assert float(f(z, BOUNDS.subset(["a"]))) == pytest.approx(0.5)


def test_unit_box_round_trip_and_size():
    like = P(a=jnp.zeros((3, 2)), b=jnp.float64(0.0))
    b = Bounds.create(like, a=(np.zeros((3, 2)), np.ones((3, 2)) * 2), b=(1.0, 5.0))
    p = P(a=jnp.asarray(np.random.default_rng(0).uniform(0.1, 1.9, (3, 2))), b=jnp.float64(2.5))
    u = to_unit(p, b)
    assert u.shape == (flat_size(b),) == (7,)
    assert float(u[-1]) == pytest.approx(0.375)
    back = from_unit(u, b)
    np.testing.assert_allclose(back.a, p.a)
    with pytest.raises(InputError, match="finite bounds; 'b'"):
        to_unit(P(b=1.0), BOUNDS.subset(["b"]))


def test_bad_bounds_and_starts():
    with pytest.raises(InputError, match="bounds for 'a' need lo < hi"):
        Bounds.create(P, a=(2.0, 1.0))
    with pytest.raises(InputError, match="bounds for 'a' need lo < hi"):
        Bounds.create(P, a=(np.nan, 1.0))
    with pytest.raises(InputError, match="bounds for 'a' must be a \\(lo, hi\\) pair"):
        Bounds.create(P, a=1.0)
    with pytest.raises(InputError, match="bounds contains 'e'"):
        Bounds.create(P, e=(0.0, 1.0))
    with pytest.raises(InputError, match=r"params.a = 5 Å lies outside its bounds \(-2, 3\) Å"):
        BOUNDS.check(P(5.0, 1.0, 0.0, 0.0))
    with pytest.raises(InputError, match=r"params.a holds 1 NaN/inf"):
        BOUNDS.check(P(np.nan, 1.0, 0.0, 0.0))
    with pytest.raises(InputError, match="params has no value for 'b'"):
        BOUNDS.check(P(a=0.0))
    with pytest.raises(InputError, match=r"no bounds for parameters \['a'\]"):
        BOUNDS.subset(["b"]).subset(["a"])
    assert dataclasses.is_dataclass(BOUNDS) and BOUNDS.units["b"] == "Å²"
