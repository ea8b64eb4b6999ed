"""The one pytree mechanism: leaves vs static fields, units, replace, hashability of all-static classes."""
import jax
import jax.numpy as jnp
import pytest

from jaxem import pytree


@pytree.dataclass
class Params:
    a: object = pytree.field(units="Å")
    n: int = pytree.field(static=True, default=3)


def test_leaves_static_units_and_replace():
    p = Params(jnp.ones(2))
    assert len(jax.tree.leaves(p)) == 1 and pytree.units_of(p) == {"a": "Å"}
    assert pytree.static_fields(p) == ("n",) and pytree.data_fields(p) == ("a",)
    assert p.replace(n=4).n == 4 and pytree.replace(p, n=5).n == 5
    assert float(jax.jit(lambda q: jnp.sum(q.a) * q.n)(p)) == 6.0
    g = jax.grad(lambda q: jnp.sum(q.a ** 2))(p)
    assert isinstance(g, Params) and g.n == 3
    with pytest.raises(Exception):
        p.n = 7  # frozen


def test_all_static_class_is_hashable_and_a_static_argument():
    @pytree.dataclass
    class Config:
        shape: tuple = pytree.field(static=True)

    assert hash(Config((2, 3))) == hash(Config((2, 3)))
    f = jax.jit(lambda x, c: x.reshape(c.shape), static_argnums=1)
    assert f(jnp.arange(6.0), Config((2, 3))).shape == (2, 3)
