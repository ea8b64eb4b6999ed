import numpy as np
import pytest

from jaxem.eds import geometry as g


def test_take_off_angle_known_cases():
    # no tilt: TOA = elevation
    assert g.take_off_angle_deg(22.0) == pytest.approx(22.0)
    # tilting the specimen towards the detector adds to the elevation
    assert g.take_off_angle_deg(10.0, 0.0, 30.0) == pytest.approx(40.0)
    # β tilt towards a detector at azimuth 90° (exspy test values)
    assert g.take_off_angle_deg(10.0, 90.0, 0.0, 30.0) == pytest.approx(40.0)
    # detector perpendicular to the tilt direction: spherical-trig result sin(TOA)=cos α sin ε
    a, e = 30.0, 20.0
    exp = np.degrees(np.arcsin(np.cos(np.radians(a)) * np.sin(np.radians(e))))
    assert g.take_off_angle_deg(e, 90.0, a) == pytest.approx(exp)


def test_take_off_angle_vs_exspy():
    from exspy_peer import exspy_modules

    _, _, eds_utils = exspy_modules()
    rng = np.random.default_rng(3)
    for _ in range(20):
        a, b = rng.uniform(-40, 40, 2)
        az, el = rng.uniform(0, 360), rng.uniform(5, 60)
        assert g.take_off_angle_deg(el, az, a, b) == pytest.approx(eds_utils.take_off_angle(a, az, el, b), abs=1e-9)
    assert eds_utils.take_off_angle(10.0, 45.0, 22.0) == pytest.approx(g.take_off_angle_deg(22.0, 45.0, 10.0))


def test_solid_angle_limits():
    assert g.solid_angle(1e-4, 10.0) == pytest.approx(1e-4 / 100, rel=1e-4)
    # hemisphere limit
    assert g.solid_angle(1e8, 1e-3) == pytest.approx(2 * np.pi, rel=1e-3)
    with pytest.raises(ValueError, match="area_mm2"):
        g.solid_angle(-1, 10)


def test_detector_efficiency_model():
    e = np.array([0.525, 1.01, 5.0, 8.63, 20.0])
    eff = np.asarray(g.detector_efficiency(e))
    assert np.all((eff > 0) & (eff <= 1))
    # windowless, infinitely thick crystal → 1
    assert np.asarray(g.detector_efficiency(e, layers=(), crystal_thickness_nm=None)) == pytest.approx(1.0)
    # single-layer transmission equals exp(−μρd) with μ from the table (independent: xraydb)
    xraydb = pytest.importorskip("xraydb")
    t = np.asarray(g.detector_efficiency(np.array([0.525]), layers=(("Al", 100.0, 2.70),), crystal_thickness_nm=None))
    assert t[0] == pytest.approx(np.exp(-xraydb.mu_chantler("Al", 525.0) * 2.70 * 1e-5), rel=5e-3)
    # high-energy loss from a thin crystal: 20 keV less efficient than 8 keV
    assert eff[-1] < eff[-2]
    with pytest.raises(ValueError, match="energy"):
        g.detector_efficiency(0.01)
    with pytest.raises(ValueError, match="elevation"):
        g.take_off_angle_deg(95.0)
