"""Radial/azimuthal profiles and Bragg masks against analytic patterns."""
import math

import numpy as np
import pytest

from jaxem import physics
from jaxem.grid import Grid
from jaxem.propagate.profiles import (azimuthal_profile, bragg_intensities, bragg_mask, radial_profile,
                                      scattering_angles)

E = 300e3


def _grid():
    return Grid(gpts=(96, 120), sampling=(0.05, 0.05))


def test_radial_profile_of_gaussian_matches_analytic():
    grid = _grid()
    theta, _ = scattering_angles(grid, E)
    w = 30.0  # mrad
    dp = np.exp(-theta**2 / (2 * w**2))
    centres, prof, counts = radial_profile(dp, grid, E, bin_width=4.0, max_angle=100.0)
    assert len(centres) == 25 and np.all(counts > 0)
    # independent reference: mean of the analytic function over the same pixel radii in each bin
    ref = np.array([np.exp(-theta[(theta >= 4 * i) & (theta < 4 * i + 4)] ** 2 / (2 * w**2)).mean()
                    for i in range(25)])
    np.testing.assert_allclose(np.asarray(prof), ref, rtol=1e-6)
    # and close to the Gaussian at the bin centre (bin curvature only)
    np.testing.assert_allclose(np.asarray(prof)[2:], np.exp(-centres[2:] ** 2 / (2 * w**2)), atol=0.01)


def test_radial_profile_batch_and_mask():
    grid = _grid()
    theta, _ = scattering_angles(grid, E)
    dp = np.stack([np.ones(grid.gpts), 2 * np.ones(grid.gpts)])
    mask = theta > 20
    c, prof, counts = radial_profile(dp, grid, E, bin_width=10.0, max_angle=60.0, mask=mask)
    prof = np.asarray(prof)
    assert prof.shape == (2, 6)
    assert np.isnan(prof[0, 0]) and counts[0] == 0 and counts[1] == 0  # fully masked bins
    np.testing.assert_allclose(prof[:, 2:], [[1.0] * 4, [2.0] * 4])


@pytest.mark.parametrize("n_fold", [2, 4, 6])
def test_azimuthal_profile_of_n_fold_pattern(n_fold):
    grid = Grid(gpts=(128, 128), sampling=(0.05, 0.05))
    theta, phi = scattering_angles(grid, E)
    dp = 1.0 + 0.5 * np.cos(n_fold * phi) * np.exp(-theta / 80)
    n_bins = 72
    c, prof, counts = azimuthal_profile(dp, grid, E, 40.0, 80.0, n_bins=n_bins)
    prof = np.asarray(prof)
    assert np.all(counts > 0)
    # maxima at φ = 2πj/n: the profile has n-fold periodicity and its Fourier component n dominates
    spec = np.abs(np.fft.rfft(prof - prof.mean()))
    assert np.argmax(spec) == n_fold
    shift = n_bins // n_fold
    np.testing.assert_allclose(prof, np.roll(prof, shift), rtol=0.02)
    # analytic amplitude: 0.5·⟨exp(−θ/80)⟩ over the annulus (sector averaging reduces it by sinc(nΔφ/2))
    sel = (theta >= 40) & (theta < 80)
    amp = 0.5 * np.exp(-theta[sel] / 80).mean() * np.sinc(n_fold / n_bins)
    assert spec[n_fold] * 2 / n_bins == pytest.approx(amp, rel=0.05)


def test_bragg_mask_and_intensities():
    grid = Grid(gpts=(60, 90), sampling=(0.05, 0.05))
    tiling = (3, 5)
    m0 = bragg_mask(grid, tiling, radius=0)
    assert (~m0).sum() == (60 // 3) * (90 // 5)
    assert not m0[0, 0] and not m0[3, 5] and not m0[-3, -10] and m0[1, 0] and m0[0, 1]
    m1 = bragg_mask(grid, tiling, radius=1)
    assert (~m1).sum() == 9 * (60 // 3) * (90 // 5)
    dp = np.zeros(grid.gpts)
    dp[3, 10] = 0.7
    dp[-6, 5] = 0.2
    out = np.asarray(bragg_intensities(dp, grid, tiling, [(1, 2), (-2, 1), (0, 0)]))
    np.testing.assert_allclose(out, [0.7, 0.2, 0.0])


def test_angles_units():
    grid = _grid()
    theta, phi = scattering_angles(grid, E)
    lam = physics.wavelength(E)
    assert theta[0, 1] == pytest.approx(lam * 1e3 / (120 * 0.05))
    assert phi[1, 0] == pytest.approx(math.pi / 2)


def test_bad_input():
    grid = _grid()
    with pytest.raises(ValueError, match="bin_width"):
        radial_profile(np.ones(grid.gpts), grid, E, bin_width=0)
    with pytest.raises(ValueError, match="gpts"):
        radial_profile(np.ones((10, 10)), grid, E)
    with pytest.raises(ValueError, match="annulus"):
        azimuthal_profile(np.ones(grid.gpts), grid, E, 50, 40)
    with pytest.raises(ValueError, match="tiling"):
        bragg_mask(grid, (7, 5))
    with pytest.raises(ValueError, match="mask"):
        radial_profile(np.ones(grid.gpts), grid, E, mask=np.ones((3, 3), bool))
    with pytest.raises(TypeError, match="Grid"):
        radial_profile(np.ones(grid.gpts), "grid", E)
