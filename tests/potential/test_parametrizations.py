import math

import numpy as np
import pytest

from jaxem import physics
from jaxem.potential import get_parametrization


def test_lobato_satisfies_its_mott_bethe_constraint():
    # Lobato & Van Dyck (2014) constrain the large-g limit: Σ a_i / b_i = Z / (2π² a0)
    p = get_parametrization("lobato")
    a, b = p.coefficients["a"][1:], p.coefficients["b"][1:]
    z = np.arange(1, len(a) + 1)
    assert np.allclose((a / b).sum(1), z / (2 * math.pi**2 * physics.BOHR_RADIUS), rtol=2e-3)


@pytest.mark.parametrize("name", ["lobato", "kirkland"])
def test_large_k_mott_limit(name):
    # independent physics: f_e(k) → Z / (2π² a0 k²) for k → ∞ (Mott–Bethe, X-ray factor → 0)
    p = get_parametrization(name)
    k = 20.0
    for z in (6, 14, 38, 79):
        f = float(p.scattering_factor([z], np.array([k]))[0, 0])
        assert f == pytest.approx(z / (2 * math.pi**2 * physics.BOHR_RADIUS * k**2), rel=0.04)


def test_lobato_and_kirkland_agree():
    k = np.linspace(0.0, 3.0, 61)
    zs = np.arange(1, 99)
    fl = np.asarray(get_parametrization("lobato").scattering_factor(zs, k))
    fk = np.asarray(get_parametrization("kirkland").scattering_factor(zs, k))
    # the two fits differ most for Po (11 % at k = 0); everywhere else < 10 %
    assert np.all(np.abs(fl - fk) <= 0.12 * np.abs(fk) + 0.02)


def test_known_value_kirkland_carbon_at_zero():
    # Kirkland Table C.4 carbon: f(0) = Σ a_i/b_i + Σ c_i
    c = get_parametrization("kirkland").coefficients
    want = (c["a"][6] / c["b"][6]).sum() + c["c"][6].sum()
    got = float(get_parametrization("kirkland").scattering_factor([6], np.array([0.0]))[0, 0])
    assert got == pytest.approx(want)
    assert 2.4 < got < 2.6  # ≈ 2.5 Å for carbon


def test_bad_inputs():
    with pytest.raises(ValueError, match="parametrization"):
        get_parametrization("doyle")
    with pytest.raises(ValueError):
        get_parametrization("lobato").scattering_factor([0], np.array([0.1]))
    with pytest.raises(ValueError, match="element"):
        get_parametrization("lobato").scattering_factor(["Xx"], np.array([0.1]))
