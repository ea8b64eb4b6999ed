"""Radial/azimuthal profiles and Bragg masks against analytic patterns."""
import math

import numpy as np
import pytest

from jaxem import Beam, physics
from jaxem.grid import Grid
from jaxem.propagate import diffraction_pattern, waves_from_array
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
    with pytest.raises(ValueError, match=r"pattern must have shape \(96, 120\)"):
        radial_profile(np.ones((10, 10)), grid, E)
    with pytest.raises(ValueError, match="max_angle of 500 mrad exceeds the Nyquist angle"):
        radial_profile(np.ones(grid.gpts), grid, E, max_angle=500.0)
    with pytest.raises(ValueError, match="outer of 500 mrad exceeds|max_angle of 500 mrad exceeds"):
        azimuthal_profile(np.ones(grid.gpts), grid, E, 10.0, 500.0)
    with pytest.raises(TypeError, match="beam must be a jaxem Beam or an energy"):
        radial_profile(np.ones(grid.gpts), grid, None)
    with pytest.raises(ValueError, match="n_bins must be ≥ 1"):
        azimuthal_profile(np.ones(grid.gpts), grid, E, 10, 40, n_bins=0)
    with pytest.raises(ValueError, match="radius must be ≥ 0"):
        bragg_mask(grid, (3, 5), radius=-1)
    with pytest.raises(ValueError, match="tiling and beams|tiling="):
        bragg_intensities(np.ones(grid.gpts), grid)
    with pytest.raises(ValueError, match="annulus"):
        azimuthal_profile(np.ones(grid.gpts), grid, E, 50, 40)
    with pytest.raises(ValueError, match="tiling"):
        bragg_mask(grid, (7, 5))
    with pytest.raises(ValueError, match="mask"):
        radial_profile(np.ones(grid.gpts), grid, E, mask=np.ones((3, 3), bool))
    with pytest.raises(TypeError, match="Grid"):
        radial_profile(np.ones(grid.gpts), "grid", E)


def test_waves_and_measurements_give_the_same_profiles(rng):
    grid = Grid(gpts=(60, 60), sampling=(0.05, 0.05))
    arr = np.exp(1j * rng.uniform(0, 2, grid.gpts))
    w = waves_from_array(arr, grid, Beam(E), norm=float(arr.size))
    dp = np.abs(np.fft.fft2(arr)) ** 2 / arr.size**2
    c0, p0, n0 = radial_profile(dp, grid, E, bin_width=5.0, max_angle=60.0)
    c1, p1, n1 = radial_profile(w, bin_width=5.0, max_angle=60.0)
    np.testing.assert_allclose(p1, p0, rtol=1e-10)
    m = diffraction_pattern(w, max_angle=float("inf"))  # fft-shifted, axes in mrad
    c2, p2, n2 = radial_profile(m, bin_width=5.0, max_angle=60.0)
    np.testing.assert_allclose(p2, p0, rtol=1e-10)
    np.testing.assert_array_equal(n2, n0)
    k = diffraction_pattern(w, max_angle=float("inf"), units="1/Å")
    np.testing.assert_allclose(radial_profile(k, beam=E, bin_width=5.0, max_angle=60.0)[1], p0, rtol=1e-10)
    from jaxem.measurement import Measurement

    with pytest.raises(ValueError, match="pass beam="):
        radial_profile(Measurement(k.array, k.axes), bin_width=5.0)  # no beam in its metadata
    with pytest.raises(ValueError, match="max_angle of 200 mrad exceeds the edge"):
        radial_profile(m, max_angle=200.0)
    with pytest.raises(ValueError, match="do not pass grid"):
        radial_profile(w, grid, E)
    a0 = azimuthal_profile(dp, grid, E, 10.0, 50.0, n_bins=7)[1]  # no sector edge on a pixel diagonal
    np.testing.assert_allclose(azimuthal_profile(m, inner=10.0, outer=50.0, n_bins=7)[1], a0, rtol=1e-10)
    # Bragg beams from waves and from the (shifted, cropped) Measurement
    beams = [(0, 0), (1, 2), (-2, 1)]
    ref = np.asarray(bragg_intensities(dp, grid, (3, 3), beams))
    np.testing.assert_allclose(bragg_intensities(w, tiling=(3, 3), beams=beams), ref, rtol=1e-10)
    np.testing.assert_allclose(bragg_intensities(m, tiling=(3, 3), beams=beams), ref, rtol=1e-10)
    crop = diffraction_pattern(w, max_angle=10.0)
    with pytest.raises(ValueError, match=r"beam \(1, 2\) lies outside the pattern"):
        bragg_intensities(crop, tiling=(3, 3), beams=beams)


def test_more_bad_inputs_name_the_argument():
    from jaxem.measurement import Axis, Measurement

    grid = _grid()
    with pytest.raises(TypeError, match="grid must be a jaxem Grid or Waves"):
        bragg_mask("grid", (3, 5))
    with pytest.raises(ValueError, match=r"beams must be \(h_y, h_x\) pairs"):
        bragg_intensities(np.ones(grid.gpts), grid, (3, 5), [(1, 2, 3)])
    with pytest.raises(TypeError, match="beams must be an integer|beams must be a sequence"):
        bragg_intensities(np.ones(grid.gpts), grid, (3, 5), [(0.5, 1)])
    with pytest.raises(TypeError, match="grid must be a jaxem Grid for an array pattern"):
        bragg_intensities(np.ones(grid.gpts), None, (3, 5), [(0, 0)])
    m = Measurement(np.ones((4, 4)), (Axis("y", 0.1, "Å"), Axis("x", 0.1, "Å")))
    with pytest.raises(ValueError, match="pattern must have angular axes in mrad or 1/Å, got 'y' in 'Å'"):
        radial_profile(m)
    with pytest.raises(ValueError, match="pattern must have two angular axes"):
        radial_profile(Measurement(np.ones(4), (Axis("θ", 1.0, "mrad"),)))
