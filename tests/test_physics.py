import math

import numpy as np
import pytest

from jaxem import physics

# Reference values: Kirkland (2010) Table 5.1 / shared reference §5.1 (CODATA 2018)
CASES = [
    (100e3, 0.037014, 9.243958e-4, 1.195695),
    (200e3, 0.025079, 7.288401e-4, 1.391390),
    (300e3, 0.019687, 6.526161e-4, 1.587085),
]


@pytest.mark.parametrize("energy,lam,sigma,gamma", CASES)
def test_wavelength_sigma_gamma_standard_values(energy, lam, sigma, gamma):
    # equal to 5 significant figures (the acceptance criterion)
    assert f"{physics.wavelength(energy):.5g}" == f"{lam:.5g}"
    assert f"{physics.interaction_constant(energy):.5g}" == f"{sigma:.5g}"
    assert physics.interaction_constant(energy) == pytest.approx(sigma, rel=1e-6)
    assert physics.relativistic_gamma(energy) == pytest.approx(gamma, rel=1e-6)


def test_kirkland_closed_form_sigma():
    # Kirkland's σ = 2π/(λV) (m0c² + eV)/(2m0c² + eV): an independent closed form
    for e in (60e3, 120e3, 300e3):
        mc2 = physics.ELECTRON_REST_ENERGY
        ref = 2 * math.pi / (physics.wavelength(e) * e) * (mc2 + e) / (2 * mc2 + e)
        assert physics.interaction_constant(e) == pytest.approx(ref, rel=1e-12)


def test_kappa_matches_kirkland():
    # 2π a0 e = 2π × 0.5292 Å × 14.40 V·Å ≈ 47.88 V·Å²
    assert physics.KAPPA == pytest.approx(47.878, rel=1e-4)


def test_vectorised_and_conversions():
    e = np.array([100e3, 300e3])
    assert np.allclose(physics.wavelength(e), [0.037014, 0.019687], rtol=3e-5)
    assert physics.debye_waller_u2_to_b(physics.debye_waller_b_to_u2(0.5)) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_energy(bad):
    with pytest.raises(ValueError, match="energy"):
        physics.wavelength(bad)
