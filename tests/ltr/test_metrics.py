import numpy as np
import pytest

from jaxem.ltr.metrics import dose_equivalence_factor, psnr, ssim


def test_psnr_by_hand():
    t = np.array([[0.0, 2.0], [1.0, 1.0]])
    e = t + np.array([[0.1, -0.1], [0.1, -0.1]])
    assert psnr(e, t) == pytest.approx(10 * np.log10(4 / 0.01))
    assert np.isinf(psnr(t, t))


def test_ssim_matches_skimage(rng):
    skm = pytest.importorskip("skimage.metrics")
    t = rng.random((32, 32)) * 10
    e = t + rng.normal(0, 1, t.shape)
    ref = skm.structural_similarity(e, t, data_range=t.max() - t.min(), gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=True)
    assert ssim(e, t) == pytest.approx(ref, abs=2e-3)
    assert ssim(t, t) == pytest.approx(1.0)


def test_dose_equivalence_interpolation():
    f = [0.1, 0.2, 0.5, 1.0]
    p = [20.0, 23.0, 27.0, 30.0]
    # reference 25 dB is reached half-way (in log f) between 0.2 and 0.5
    assert dose_equivalence_factor(f, p, 25.0) == pytest.approx(np.sqrt(0.2 * 0.5))
    assert dose_equivalence_factor(f, p, 19.0) == 0.1
    assert np.isnan(dose_equivalence_factor(f, p, 40.0))
    with pytest.raises(ValueError, match="increasing"):
        dose_equivalence_factor([0.5, 0.2], [1, 2], 1.0)
