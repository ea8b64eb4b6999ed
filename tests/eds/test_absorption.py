import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem.eds import absorption as ab
from jaxem.eds import data


def test_acf_equals_depth_integral():
    # independent: f = (1/t) ∫_0^t exp(−μ ρ z / sin α) dz by quadrature
    mu, rho, t, toa = 4870.0, 5.606, 100e-7, 22.0
    z = np.linspace(0, t, 20001)
    f_num = np.trapezoid(np.exp(-mu * rho * z / np.sin(np.radians(toa))), z) / t
    chi = ab.absorption_chi(np.array([mu]), rho * t, toa)
    assert float(ab.transmitted_fraction(chi)[0]) == pytest.approx(f_num, rel=1e-7)


def test_published_zno_absorption_factor():
    # reference notes §A.4: O Kα in ZnO, 100 nm, TOA 22°: χ ≈ 0.73, f = 0.711, ACF = 1.41;
    # Zn Kα hardly absorbed (χ ≈ 0.006)
    w = data.formula_weight_fractions("ZnO", ["O", "Zn"])
    m = data.mac_matrix(["O_Ka", "Zn_Ka"], ["O", "Zn"])
    acf = np.asarray(ab.absorption_correction(w, 5.606 * 100e-7, m, 22.0))
    chi = np.asarray(ab.absorption_chi(data.mac_mixture(w, m), 5.606 * 100e-7, 22.0))
    assert chi[0] == pytest.approx(0.73, abs=0.01)
    assert chi[1] == pytest.approx(0.006, abs=0.001)
    assert acf[0] == pytest.approx(1.41, abs=0.01)
    assert 1 / acf[0] == pytest.approx(0.711, abs=0.003)


@given(st.floats(0, 200))
def test_acf_properties(chi):
    a = float(ab.absorption_factor(np.float64(chi)))
    assert np.isfinite(a) and a >= 1.0
    assert a == pytest.approx(chi / -np.expm1(-chi) if chi > 0 else 1.0, rel=1e-9)


def test_acf_zero_and_gradient():
    assert float(ab.absorption_factor(0.0)) == 1.0
    g = jax.grad(lambda x: ab.absorption_factor(x))(np.float64(0.0))
    assert float(g) == pytest.approx(0.5)
    from jax.test_util import check_grads
    check_grads(jax.jit(ab.absorption_factor), (np.float64(0.7),), order=1, modes=["rev"])
