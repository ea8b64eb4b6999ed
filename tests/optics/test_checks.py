import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.optics._checks import (check_aberrations, check_energy, check_finite_array, check_scalar, is_traced,
                                  resolve_real_dtype)
from jaxem.optics import Aberrations


def test_is_traced_and_passthrough_under_jit():
    assert not is_traced(1.0) and not is_traced(jnp.ones(3))
    seen = []

    @jax.jit
    def f(x):
        seen.append(is_traced(x))
        return check_scalar("x", x, "Å", positive=True) * 2

    assert float(f(-1.0)) == -2.0  # traced values are not inspected
    assert seen == [True]


def test_check_scalar_messages():
    with pytest.raises(ValueError, match=r"spread must be ≥ 0 \[Å\], got -1"):
        check_scalar("spread", -1, "Å", nonnegative=True)
    with pytest.raises(ValueError, match=r"angle must be > 0 \[mrad\], got 0"):
        check_scalar("angle", 0, "mrad", positive=True)
    with pytest.raises(ValueError, match="must be finite"):
        check_scalar("c", float("inf"), "Å")
    with pytest.raises(TypeError, match="must be a scalar"):
        check_scalar("c", [1.0, 2.0], "Å")
    with pytest.raises(TypeError, match="must be a real number"):
        check_scalar("c", "abc", "Å")
    assert check_scalar("c", np.array([1.0, 2.0]), "Å", allow_array=True) is not None


def test_energy_and_arrays():
    assert check_energy(300e3) == 300e3
    with pytest.raises(ValueError, match="energy must be finite and > 0"):
        check_energy(-5)
    with pytest.raises(TypeError, match="energy must be a number"):
        check_energy("300 kV")
    with pytest.raises(TypeError, match="concrete"):
        jax.jit(check_energy)(300e3)
    with pytest.raises(ValueError, match="2 NaN/inf"):
        check_finite_array("w", np.array([1.0, np.nan, np.inf]))


def test_aberrations_and_dtype():
    assert check_aberrations(None) == Aberrations()
    with pytest.raises(TypeError, match="Aberrations"):
        check_aberrations({"C10": 1.0})
    assert resolve_real_dtype(None) == jnp.float32
    assert resolve_real_dtype(None, jnp.ones(2, jnp.complex128)) == jnp.float64
    assert resolve_real_dtype("float32", jnp.ones(2, jnp.complex128)) == jnp.float32
    assert resolve_real_dtype("float64") == jnp.float64
