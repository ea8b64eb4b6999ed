import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.accel import complex_dtype, dtypes_of, real_dtype, resolve_precision


def test_defaults_are_single_precision():
    assert real_dtype() == jnp.float32 and complex_dtype() == jnp.complex64
    assert resolve_precision(None) == "float32"


@pytest.mark.parametrize("alias", ["float64", "double", 64, np.float64, "complex128"])
def test_double_aliases(alias):
    assert real_dtype(alias) == jnp.float64 and complex_dtype(alias) == jnp.complex128


def test_dtypes_of_arrays():
    assert dtypes_of(np.zeros(2, np.complex128)) == (jnp.float64, jnp.complex128)
    assert dtypes_of(np.zeros(2, np.float32)) == (jnp.float32, jnp.complex64)


def test_bad_precision():
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("float16")


@pytest.mark.parametrize("alias", __import__("jaxem.accel", fromlist=["x"]).PRECISION_ALIASES)
def test_every_alias_resolves(alias):
    from jaxem.accel import dtypes

    p = resolve_precision(alias)
    assert p in ("float32", "float64")
    assert dtypes(alias) == ((jnp.float64, jnp.complex128) if p == "float64" else (jnp.float32, jnp.complex64))


@pytest.mark.parametrize("bad", ["float16", "quad", True, 16, "int32"])
def test_bad_precision_names_argument(bad):
    with pytest.raises(ValueError, match="precision"):
        resolve_precision(bad)
