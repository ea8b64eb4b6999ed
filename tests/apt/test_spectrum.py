import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.apt.isotopes import isotope_pattern
from jaxem.apt.spectrum import (TWO_E_OVER_U, MassCalibration, fit_background, fit_calibration,
                                mass_spectrum, mass_to_tof, tof_to_mass)


def test_constant_and_flight_time():
    # 2e/u from CODATA: 2 × 9.648533212e7 C/kg; a 27 Da ion at 5 kV over 100 mm: t = L √(m u / 2eV)
    assert TWO_E_OVER_U == pytest.approx(1.929706642e-4, rel=1e-9)
    t_si = 0.1 * np.sqrt(27 * 1.66053906660e-27 / (2 * 1.602176634e-19 * 5000))
    cal = MassCalibration(0.0, 100.0, 0.0, 0.0)
    assert float(mass_to_tof(cal, 27.0, 5000.0)) == pytest.approx(t_si * 1e9, rel=1e-9)
    assert float(tof_to_mass(cal, t_si * 1e9, 5000.0)) == pytest.approx(27.0, rel=1e-9)


def _events(rng, n=12000, true=None):
    true = true or MassCalibration(5.0, 101.5, 0.01, -0.02, v_ref=6000.0)
    species = [("Al", 3), ("Al", 2), ("Al", 1), ("Fe", 1)]
    weights = np.array([0.1, 0.3, 0.4, 0.2])
    k = rng.choice(len(species), n, p=weights)
    m = np.empty(n)
    for s, (el, q) in enumerate(species):
        mq, ab = isotope_pattern(el, q)
        idx = k == s
        m[idx] = rng.choice(mq, idx.sum(), p=ab / ab.sum())
    v = rng.uniform(4000, 8000, n)
    r = 40 * np.sqrt(rng.uniform(size=n))
    phi = rng.uniform(0, 2 * np.pi, n)
    x, y = r * np.cos(phi), r * np.sin(phi)
    tof = np.asarray(mass_to_tof(true, m, v, 0.0, x, y)) + rng.normal(0, 0.2, n)
    return tof, v, x, y, m, true


def test_calibration_recovers_parameters(rng):
    tof, v, x, y, m, true = _events(rng)
    known = [isotope_pattern("Al", 3)[0][0], isotope_pattern("Al", 2)[0][0], isotope_pattern("Al", 1)[0][0],
             isotope_pattern("Fe", 1)[0][1]]
    guess = MassCalibration(0.0, 100.0, 0.0, 0.0, v_ref=6000.0)
    m0 = np.asarray(tof_to_mass(guess, tof, v, 0.0, x, y))
    cal, rms = fit_calibration(tof, v, known, guess, x_det=x, y_det=y, window=0.1, iterations=3, steps=20)
    assert cal.t0 == pytest.approx(5.0, abs=0.3)
    assert cal.L == pytest.approx(101.5, rel=5e-4)
    assert cal.a == pytest.approx(0.01, abs=2e-3) and cal.b == pytest.approx(-0.02, abs=4e-3)
    m1 = np.asarray(tof_to_mass(cal, tof, v, 0.0, x, y))
    mt = np.asarray(tof_to_mass(true, tof, v, 0.0, x, y))  # limited by the 0.2 ns jitter
    assert np.median(np.abs(m1 - m)) < 1.05 * np.median(np.abs(mt - m))
    assert np.median(np.abs(m0 - m)) > 0.5
    with pytest.raises(ValueError, match="unknown"):
        fit_calibration(tof, v, known, guess, fit=("t0", "zz"))


def test_background_is_inverse_sqrt_m(rng):
    n, L, V = 400000, 100.0, 5000.0
    cal = MassCalibration(0.0, L, 0.0, 0.0)
    t = rng.uniform(200, 2000, n)  # flat in ToF
    m = np.asarray(tof_to_mass(cal, t, V))
    c, h = mass_spectrum(m, 0.1, (5, 80))
    bg = fit_background(c, h, exclude=[(20, 30)])
    rho = n / 1800.0  # events per ns
    k = L / np.sqrt(TWO_E_OVER_U * V)  # t = k √m
    assert bg.A == pytest.approx(rho * k * 0.1 / 2, rel=0.02)
    with pytest.raises(ValueError):
        mass_spectrum(m, 0.0)


def test_jit_and_dtype():
    cal = MassCalibration(jnp.float32(1.0), jnp.float32(100.0), jnp.float32(0), jnp.float32(0))
    out = tof_to_mass(cal, jnp.ones(4, jnp.float32) * 500, jnp.float32(5000.0))
    assert out.dtype == jnp.float32
