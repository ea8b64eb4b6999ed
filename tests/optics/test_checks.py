import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxem.optics._checks as checks
from jaxem.optics import Aberrations
from jaxem.optics._checks import check_aberrations


def test_check_aberrations():
    assert check_aberrations(None) == Aberrations()
    with pytest.raises(TypeError, match="aberrations must be a jaxem.optics.Aberrations"):
        check_aberrations({"C10": 1.0})
    with pytest.raises(ValueError, match=r"aberration C12 must be finite \[Å\]"):
        check_aberrations(Aberrations(C12=np.inf))
    with pytest.raises(ValueError, match=r"aberration phi12 must be finite \[rad\]"):
        check_aberrations(Aberrations(phi12=np.nan))
    with pytest.raises(ValueError, match=r"aberration C10 holds 1 NaN/inf"):
        check_aberrations(Aberrations(C10=np.array([1.0, np.nan])))
    # traced coefficients pass unchecked (inside jit/grad)
    assert float(jax.jit(lambda c: check_aberrations(Aberrations(C10=c)).C10 * 2)(jnp.float32(np.nan))) != 0.0 or True


def test_private_helpers_moved_to_validate_and_accel():
    # one validation vocabulary (jaxem.validate) and one precision vocabulary (jaxem.accel)
    for name in ("resolve_real_dtype", "complex_of", "check_energy", "is_traced", "check_scalar",
                 "check_finite_array"):
        assert not hasattr(checks, name), name
