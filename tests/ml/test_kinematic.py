"""Kinematic zone tables (jaxem.ml.kinematic) against hand-derived crystallography."""
import numpy as np

from jaxem.ml import kinematic
from jaxem.potential.parametrizations import get_parametrization


def test_si_110_table_by_hand(si):
    t = kinematic.zone_table(si, (1, 1, 0))
    a = 5.4307
    hkl = [tuple(r) for r in t.hkl]
    i111, i002, i220 = hkl.index((1, -1, 1)), hkl.index((0, 0, 2)), hkl.index((2, -2, 0))
    np.testing.assert_allclose(t.d[i111], a / np.sqrt(3), rtol=1e-6)
    assert not t.allowed[i002] and t.allowed[i220]  # diamond-glide extinction
    # |F(111)| = 4√2 f_e(g) exp(−2π²⟨u²⟩g²) for the diamond structure
    g = np.sqrt(3) / a
    fe = float(get_parametrization("lobato").scattering_factor([14], np.array([g]))[0, 0])
    u2 = float(np.asarray(si.u2)[0, 0])
    np.testing.assert_allclose(t.amplitude[i111], 4 * np.sqrt(2) * fe * np.exp(-2 * np.pi**2 * u2 * g * g), rtol=1e-5)
    # in-plane vectors: lengths are |g| and the zone is perpendicular to every g
    np.testing.assert_allclose(np.linalg.norm(t.g, axis=1), 1 / t.d, rtol=1e-10)
    # pair table: 111-type pair at 70.53°, rows sorted with |g_a| ≤ |g_b|
    p = t.pairs
    assert np.all(p[:, 0] <= p[:, 1] + 1e-12) and np.all(np.diff(p[:, 0]) >= -1e-12)
    assert np.any(np.isclose(p[:, 0], g) & np.isclose(p[:, 1], g) & np.isclose(p[:, 2], np.degrees(np.arccos(1 / 3))))


def test_frame_matches_zone_axis_cell(si):
    fr = kinematic.zone_frame(si, (1, 1, 0))
    z = np.array([1, 1, 0]) / np.sqrt(2)
    np.testing.assert_allclose(fr @ z, 0, atol=1e-10)
    np.testing.assert_allclose(fr @ fr.T, np.eye(2), atol=1e-10)
