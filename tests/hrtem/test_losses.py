import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage

from jaxem.hrtem.losses import combined_loss, get_loss, l2, local_contrast_loss, ncc, ncc_loss, ssim


def _img(seed, shape=(32, 40)):
    r = np.random.default_rng(seed)
    return ndimage.gaussian_filter(r.normal(size=shape), 2, mode="wrap") + 1.0


def test_l2_and_ncc_values():
    a, b = _img(0), _img(1)
    assert float(l2(a, a)) == 0.0
    assert float(l2(a, b, normalise=False)) == pytest.approx(np.mean((a - b) ** 2))
    ref = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert float(ncc(a, b)) == pytest.approx(ref, rel=1e-10)
    assert float(ncc_loss(a, a)) == pytest.approx(0.0, abs=1e-12)


@given(st.floats(0.1, 10.0), st.floats(-5.0, 5.0))
def test_ncc_invariant_under_affine_intensity(scale, offset):
    a, b = _img(2), _img(3)
    assert float(ncc(scale * a + offset, b)) == pytest.approx(float(ncc(a, b)), rel=1e-9, abs=1e-12)


def test_ssim_against_scipy_gaussian_windows():
    a, b = _img(4), _img(5)
    sigma = 2.5
    f = lambda x: ndimage.gaussian_filter(x, sigma, mode="wrap", truncate=8.0)  # noqa: E731
    L = b.max() - b.min()
    k1, k2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    ma, mb = f(a), f(b)
    va, vb, cab = f(a * a) - ma**2, f(b * b) - mb**2, f(a * b) - ma * mb
    ref = np.mean((2 * ma * mb + k1) * (2 * cab + k2) / ((ma**2 + mb**2 + k1) * (va + vb + k2)))
    assert float(ssim(a, b, sigma)) == pytest.approx(ref, rel=2e-3)
    assert float(ssim(a, a, sigma)) == pytest.approx(1.0, abs=1e-9)
    assert float(local_contrast_loss(a, b)) > 0.05


def test_combined_and_lookup():
    a, b = _img(6), _img(7)
    c = combined_loss(a, b, 1.0, 0.5, 0.25)
    assert float(c) == pytest.approx(float(l2(a, b) + 0.5 * ncc_loss(a, b) + 0.25 * local_contrast_loss(a, b)))
    assert get_loss("ncc") is ncc_loss
    with pytest.raises(ValueError, match="loss must be one of"):
        get_loss("l1")
    assert jnp.shape(l2(np.stack([a, b]), np.stack([b, a]))) == (2,)
