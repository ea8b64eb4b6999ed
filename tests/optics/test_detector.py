import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads
from scipy import ndimage

from jaxem.grid import Grid
from jaxem.optics import DetectorMTF, blur_intensity, detector_mtf, image_spread_envelope


def test_image_spread_equals_gaussian_convolution(rng):
    """Fourier-space image spread vs a real-space periodic Gaussian convolution (scipy)."""
    g = Grid((64, 48), (0.1, 0.15))
    img = jnp.asarray(rng.random((64, 48)))
    for sigma in (0.25, (0.3, 0.2)):
        sy, sx = (sigma, sigma) if np.ndim(sigma) == 0 else sigma
        ref = ndimage.gaussian_filter(np.asarray(img), (sy / 0.1, sx / 0.15), mode="wrap", truncate=10)
        got = blur_intensity(img, g, image_spread=sigma)
        assert got.dtype == jnp.float64
        assert np.allclose(got, ref, atol=1e-6)


def test_mtf_parametric_values():
    mtf = DetectorMTF.create(a=1.0, b=0.4, c=0.1, d=2.5, pixel_sinc=False)
    p = 0.5  # pixel size [Å]; Nyquist k = 1 [1/Å]
    k = jnp.asarray([0.0, 0.8, 1.0], jnp.float64)  # q = 0, 0.8 (= 2b), 1
    got = detector_mtf(0 * k, k, (p, p), mtf)
    ref = [1.0, (1.0 - 0.1) / 2 + 0.1, 0.9 / (1 + (1 / 0.8) ** 2.5) + 0.1]
    assert np.allclose(got, ref, rtol=1e-12)
    sinc = detector_mtf(0 * k, k, (p, p), mtf.replace(pixel_sinc=True))
    assert float(sinc[2] / got[2]) == pytest.approx(2 / np.pi, rel=1e-12)  # sinc at Nyquist
    # q is |k| / k_Nyquist: isotropic for square pixels, uses each axis' pixel size otherwise
    assert np.allclose(detector_mtf(k, 0 * k, (p, p), mtf), got)
    assert np.allclose(detector_mtf(k / 2, 0 * k, (2 * p, p), mtf), got)


def test_blur_keeps_constant_and_mean(rng):
    g = Grid((32, 32), (0.2, 0.2))
    mtf = DetectorMTF.create(a=1.0, b=0.3, c=0.05, d=3.0)
    ones = jnp.ones((2, 32, 32), jnp.float32)
    out = blur_intensity(ones, g, image_spread=0.4, mtf=mtf)
    assert out.dtype == jnp.float32 and out.shape == (2, 32, 32)
    assert np.allclose(out, 1.0, atol=1e-6)
    img = jnp.asarray(rng.random((32, 32)))
    out = blur_intensity(img, g, image_spread=0.3, mtf=mtf)
    assert float(out.mean()) == pytest.approx(float(img.mean()), rel=1e-12)
    assert float(out.std()) < float(img.std())
    # a detector with larger pixels blurs more
    coarse = blur_intensity(img, g, mtf=DetectorMTF.create(b=0.3, d=3.0, pixel_size=0.6))
    fine = blur_intensity(img, g, mtf=DetectorMTF.create(b=0.3, d=3.0))
    assert float(coarse.std()) < float(fine.std())


@given(st.floats(0.2, 1.0), st.floats(0.2, 1.0))
def test_gaussian_blur_keeps_non_negative(sy, sx):
    # σ ≥ 2 pixels: the band-limited Gaussian is then positive to ~1e-9 (its transform at Nyquist
    # is exp(−2π²σ²k_N²) ≤ 3e-9); narrower blurs ring at the level of that truncated tail.
    g = Grid((24, 24), (0.1, 0.1))
    img = jnp.zeros((24, 24), jnp.float64).at[5, 7].set(1.0)
    out = blur_intensity(img, g, image_spread=(sy, sx))
    assert float(out.min()) > -1e-8
    assert float(out.sum()) == pytest.approx(1.0, rel=1e-12)


def test_gradients_float64(rng):
    g = Grid((16, 16), (0.2, 0.2))
    img = jnp.asarray(rng.random((16, 16)))

    def f(sigma, mtf):
        return jnp.sum(blur_intensity(img, g, image_spread=sigma, mtf=mtf) ** 2)

    mtf = jax.tree.map(lambda x: jnp.float64(x), DetectorMTF.create(a=1.0, b=0.3, c=0.1, d=2.2))
    check_grads(jax.jit(f), (jnp.float64(0.3), mtf), order=1, modes=["rev", "fwd"], eps=1e-5)


def test_envelope_formula():
    ky = jnp.asarray([0.0, 0.5, 1.0])[:, None]
    kx = jnp.asarray([0.0, 0.3])[None, :]
    got = image_spread_envelope(ky, kx, (0.2, 0.4))
    ref = np.exp(-2 * np.pi**2 * (0.04 * np.asarray(ky) ** 2 + 0.16 * np.asarray(kx) ** 2))
    assert np.allclose(got, ref)


@pytest.mark.parametrize("kwargs,match", [
    (dict(a=0.0), "a must be > 0"), (dict(b=-1.0), "b must be > 0"), (dict(c=-0.1), "c must be ≥ 0"),
    (dict(d=float("nan")), "d must be finite"), (dict(pixel_size=0.0), "pixel_size must be > 0"),
    (dict(pixel_size=(1.0, 2.0, 3.0)), "pixel_size must be"),
])
def test_bad_mtf(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DetectorMTF.create(**kwargs)


def test_pixel_sinc_must_be_a_bool():
    with pytest.raises(TypeError, match="pixel_sinc must be True or False"):
        DetectorMTF.create(pixel_sinc="yes")
    assert len(jax.tree.leaves(DetectorMTF.create(pixel_size=0.5))) == 4  # pixel_size, pixel_sinc static
