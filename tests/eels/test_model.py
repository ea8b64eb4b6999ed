"""Plasmon kinematics and loss-function models against published and analytic numbers."""
import numpy as np
import pytest
from scipy import integrate

from jaxem import eels
from jaxem.validate import InputError


def test_constants_and_al_numbers():
    assert eels.HBAR == pytest.approx(0.6582119569, rel=1e-9)
    assert eels.HBAR2_OVER_M == pytest.approx(7.620, abs=5e-4)          # eV·Å² (reference table)
    Ep, EF, kF = eels.free_electron_plasmon(12 / 4.0495 ** 3)            # Al: 3 e⁻/atom, fcc a = 4.0495 Å
    assert (Ep, EF, kF) == pytest.approx((15.785, 11.655, 1.749), abs=2e-3)
    assert eels.rpa_alpha(Ep, EF) == pytest.approx(0.443, abs=1e-3)
    # period 2πħ/E_p at 15 eV and amplitude decay 2ħ/Γ at Γ = 0.53 eV (reference numbers)
    assert 2 * np.pi * eels.HBAR / 15.0 == pytest.approx(0.276, abs=5e-4)
    assert 2 * eels.HBAR / 0.53 == pytest.approx(2.48, abs=5e-3)
    assert eels.group_velocity(1.0, 0.4) == pytest.approx(9.26, abs=0.01)


def test_characteristic_momentum_100kV():
    # θ_E = E/(γ m0 v²): γ m0 v² = 183.6 keV at 100 kV → θ_E(15 eV) = 81.7 µrad, q_E = 0.0139 1/Å
    assert eels.characteristic_momentum(15.0, "100 kV") == pytest.approx(0.0139, abs=1e-4)


def test_drude_f_sum_rule_and_peak():
    for G in (0.3, 0.53, 2.0):
        f = lambda E: E * eels.drude_loss(E, 15.0, G)  # noqa: E731
        val = integrate.quad(f, 0, 30, limit=500, points=[15.0])[0] + integrate.quad(f, 30, np.inf, limit=500)[0]
        assert val == pytest.approx(np.pi / 2 * 15.0 ** 2, rel=1e-6)
    assert eels.drude_loss(15.0, 15.0, 0.53) == pytest.approx(15.0 / 0.53)


def test_continuum_cutoff_al():
    qc = eels.continuum_cutoff(15.0, 0.4, 1.749)
    assert 1.04 < qc < 1.08                                   # reference: crude estimate 1.06–1.08 1/Å
    assert eels.bulk_dispersion(qc, 15.0, 0.4) == pytest.approx(eels.continuum_edge(qc, 1.749), rel=1e-9)
    with pytest.raises(InputError, match="plasmon_energy"):
        eels.continuum_cutoff(-1.0, 0.4, 1.7)


def test_film_branches_limits():
    up, lo = eels.film_branches(np.array([1e-6, 10.0]), 15.0, 50.0)
    assert up[0] == pytest.approx(15 / np.sqrt(2) * np.sqrt(2 - 5e-5), rel=1e-6) and lo[0] == pytest.approx(15 / np.sqrt(2) * np.sqrt(5e-5), rel=1e-3)
    assert up[1] == pytest.approx(15 / np.sqrt(2), rel=1e-9) and lo[1] == pytest.approx(15 / np.sqrt(2), rel=1e-9)


@pytest.mark.parametrize("q,qe,w", [(0.1, 0.014, 0.05), (0.5, 0.02, 0.3), (0.0, 0.01, 0.02)])
def test_slit_factor_matches_quadrature(q, qe, w):
    val, _ = integrate.quad(lambda y: 1 / (q ** 2 + y ** 2 + qe ** 2), -w / 2, w / 2)
    assert eels.slit_kinematic_factor(q, qe, w) == pytest.approx(val, rel=1e-10)
