"""Experimental images on the model grid: field-of-view check, resampling (reading: tests/io/test_images.py)."""
import numpy as np
import pytest

from jaxem.hrtem.data import image_on_model_grid, read_image, resample_image
from jaxem.hrtem.synthetic import batio3_model
from jaxem.validate import InputError

from ..io.test_images import VELOX


@pytest.fixture(scope="module")
def model():
    return batio3_model(cells=1, repeats=2, sampling=0.25)  # 4.0 Å supercell, 16 × 16 px


@pytest.mark.skipif(not VELOX.exists(), reason="vendor samples (../shared/data/vendor) not present")
def test_real_velox_field_of_view_refused(model):
    with pytest.raises(InputError, match=r"image field of view 1.992 × 1.992 Å .* differs from the model supercell 4 × 4 Å"):
        image_on_model_grid(model, read_image(VELOX, signal="iDPC"))


def test_resample_is_exact_for_band_limited_images():
    y, x = np.meshgrid(np.arange(32) / 32, np.arange(24) / 24, indexing="ij")
    f = lambda y, x: 1.0 + 0.3 * np.cos(2 * np.pi * (2 * y + x)) + 0.1 * np.sin(2 * np.pi * 3 * x)  # noqa: E731
    for shape in ((48, 40), (20, 16), (32, 24)):
        yy, xx = np.meshgrid(np.arange(shape[0]) / shape[0], np.arange(shape[1]) / shape[1], indexing="ij")
        np.testing.assert_allclose(resample_image(f(y, x), shape), f(yy, xx), atol=1e-12)
    with pytest.raises(InputError, match="gpts must be ≥ 1"):
        resample_image(f(y, x), (0, 4))


def test_image_on_model_grid(model):
    data = resample_image(np.random.default_rng(2).random((16, 16)), (16, 16))  # band-limited (no Nyquist bin)
    m = image_on_model_grid(model, data, sampling=0.25)
    assert m.shape == tuple(model.gpts) and m.metadata["resampled_from"] is None
    assert m.metadata["calibration_scale"] == pytest.approx([1.0, 1.0], abs=1e-4)
    r = image_on_model_grid(model, resample_image(data, (32, 32)), sampling=0.125)
    assert r.metadata["resampled_from"] == [32, 32]
    np.testing.assert_allclose(r.array, data, atol=1e-12)  # band-limited: round trip exact
    model.check_data(r)  # calibrated Measurement on the model grid passes
    with pytest.raises(InputError, match=r"differs from the model supercell .* by 25 %, more than tolerance=2 %"):
        image_on_model_grid(model, data, sampling=0.3125)
    image_on_model_grid(model, data, sampling=0.255, tolerance=0.03)
    with pytest.raises(InputError, match="sampling: give the pixel size"):
        image_on_model_grid(model, data)
    with pytest.raises(InputError, match="tolerance must be in"):
        image_on_model_grid(model, data, sampling=0.25, tolerance=1.0)
