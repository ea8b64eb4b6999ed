import numpy as np
import pytest
from hypothesis import given, strategies as st

from jaxem.apt.tipshape import (cap_tables, cap_tables_conic, conic_r_of_psi, conic_sag, tip_profiles)


def test_sphere_and_tangent_cone():
    R, a = 7.0, np.deg2rad(12)
    r = np.linspace(0, R * np.cos(a), 50)
    np.testing.assert_allclose(conic_sag(r, R, 0.0, a), R - np.sqrt(R**2 - r**2), rtol=1e-12, atol=1e-12)
    # beyond the tangent point the profile is the cone: slope cot α, continuous value and slope
    rt = R * np.cos(a)
    r2 = np.array([rt + 1, rt + 3])
    g = conic_sag(r2, R, 0.0, a)
    assert (g[1] - g[0]) / 2 == pytest.approx(1 / np.tan(a))
    eps = 1e-6
    left = (conic_sag(rt, R, 0, a) - conic_sag(rt - eps, R, 0, a)) / eps
    assert left == pytest.approx(1 / np.tan(a), rel=1e-4)


@given(st.floats(2, 30), st.floats(-0.8, 2.0), st.floats(0.05, 1.2))
def test_r_of_psi_inverts_normal_angle(R, K, psi):
    r = conic_r_of_psi(psi, R, K)
    eps = 1e-6 * R
    slope = (conic_sag(r + eps, R, K) - conic_sag(r - eps, R, K)) / (2 * eps)
    assert np.arctan(slope) == pytest.approx(psi, abs=1e-5)


def test_measured_tables_match_analytic():
    R, K, a = np.array([6.0, 9.0]), np.array([0.5, -0.4]), np.deg2rad([10.0, 20.0])
    r = np.linspace(0, 25, 2000)
    sag = np.stack([conic_sag(r, R[i], K[i], a[i]) for i in range(2)])
    th = np.linspace(0, 1.0, 50)
    rt, gt = cap_tables(th, r, sag)
    ra, ga = cap_tables_conic(th, R, K, a)
    np.testing.assert_allclose(rt, ra, atol=0.02)
    np.testing.assert_allclose(gt, ga, atol=0.01)


def test_profile_validation():
    ok = tip_profiles([0, 10, 20], [0, -1, -2], [5, 6, 7], 10)
    assert ok.radius.shape == (3,)
    with pytest.raises(ValueError, match="not monotonic in ion index"):
        tip_profiles([0, 20, 10], [0, -1, -2], [5, 6, 7])
    with pytest.raises(ValueError, match=r"radius must be > 0 nm.*radius\[1\]=-6"):
        tip_profiles([0, 10, 20], [0, -1, -2], [5, -6, 7])
    with pytest.raises(ValueError, match="shank_angle_deg"):
        tip_profiles([0, 10], [0, -1], [5, 6], 75)
    with pytest.raises(ValueError, match="sag must have shape"):
        tip_profiles([0, 10], [0, -1], [5, 6], r=np.linspace(0, 1, 5), sag=np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        tip_profiles([0, 10], [0, np.nan], [5, 6])
