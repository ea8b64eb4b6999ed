import numpy as np
import pytest

from jaxem.ltr.reflection_shape import FWHM_PER_SIGMA, fit_spots, shape_vs_dose


def spots(rng, centers, sigmas, amp=200.0, bg=2.0, size=15):
    yy, xx = np.mgrid[:size, :size]
    lam = np.stack([bg + amp * np.exp(-((yy - c[0]) ** 2 + (xx - c[1]) ** 2) / (2 * s * s))
                    for c, s in zip(centers, sigmas)])
    return rng.poisson(lam)


def test_fit_spots_recovers_centre_and_width(rng):
    n = 12
    centers = np.stack([7.0 + 0.1 * np.arange(n), 7.0 - 0.05 * np.arange(n)], -1)
    sigmas = np.linspace(2.5, 1.2, n)                         # crystals grow: spots sharpen
    f = fit_spots(spots(rng, centers, sigmas))
    assert f.converged.all()
    np.testing.assert_allclose(f.center, centers, atol=0.1)
    np.testing.assert_allclose(f.sigma, sigmas, rtol=0.05)
    assert np.all(f.center_se < 0.1)


def test_shape_vs_dose_strain_and_size(rng):
    n = 8
    # the spot moves outwards by 1 % of |g| = 10 px: a 1 % smaller d-spacing (compressive strain)
    centers = np.stack([7.0 + np.linspace(0, 0.1, n), np.full(n, 7.0)], -1)
    st = spots(rng, centers, np.full(n, 1.5), amp=20000)
    out = shape_vs_dose(st, window_origin=(3, 0), beam_center=(0, 7), sampling=0.01, reference=slice(0, 1))
    np.testing.assert_allclose(out["g"], (10 + np.linspace(0, 0.1, n)) * 0.01, rtol=2e-3)
    np.testing.assert_allclose(out["strain"], 10 / (10 + np.linspace(0, 0.1, n)) - 1, atol=1e-3)  # 0.01 px
    np.testing.assert_allclose(out["fwhm"], FWHM_PER_SIGMA * 1.5 * 0.01, rtol=0.03)
    np.testing.assert_allclose(out["size"], 0.9 / out["fwhm"])


def test_bad_stack():
    with pytest.raises(ValueError, match="stack"):
        fit_spots(np.ones((3, 3, 3)))
    with pytest.raises(ValueError, match="≥ 0"):
        fit_spots(-np.ones((2, 7, 7)))
