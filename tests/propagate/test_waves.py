import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Grid, physics
from jaxem.propagate import diffraction_pattern, intensity, plane_wave, waves_from_array


def test_plane_wave_norm_and_metadata():
    g = Grid((8, 6), (0.1, 0.1))
    w = plane_wave(g, 200e3, tilt=(1.0, 2.0))
    assert w.array.shape == (8, 6) and w.norm == 48.0 and w.tilt == (1.0, 2.0)
    assert w.wavelength == pytest.approx(physics.wavelength(200e3))
    assert float(diffraction_pattern(w).array.sum()) == pytest.approx(1.0)
    assert np.allclose(intensity(w).array, 1.0)


def test_waves_from_array():
    g = Grid((4, 4), (0.2, 0.2))
    arr = np.ones((3, 4, 4)) * 0.5
    w = waves_from_array(arr, g, 300e3)
    assert w.array.dtype == jnp.complex128 and w.batch_shape == (3,)
    assert w.norm == pytest.approx(16 * 0.25)
    with pytest.raises(ValueError, match="does not match"):
        waves_from_array(np.ones((5, 5)), g, 300e3)
    with pytest.raises(TypeError):
        plane_wave((4, 4), 300e3)


def test_diffraction_axes_and_crop():
    g = Grid((64, 64), (0.05, 0.05))
    dp = diffraction_pattern(plane_wave(g, 300e3), max_angle=40.0)
    ax = dp.axes[-1]
    assert ax.units == "mrad"
    assert abs(ax.offset) <= 40.0 + ax.sampling
    centre = np.unravel_index(np.argmax(np.asarray(dp.array)), dp.shape)
    assert centre == (dp.shape[0] // 2, dp.shape[1] // 2)
    with pytest.raises(ValueError, match="max_angle"):
        diffraction_pattern(plane_wave(g, 300e3), max_angle=-1.0)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=15)
@given(st.integers(2, 40), st.integers(2, 40), st.integers(0, 2**31 - 1))
def test_parseval_diffraction_sums_to_mean_intensity(ny, nx, seed):
    rng = np.random.default_rng(seed)
    arr = rng.normal(size=(ny, nx)) + 1j * rng.normal(size=(ny, nx))
    g = Grid((ny, nx), (0.1, 0.1))
    w = waves_from_array(arr, g, 300e3, norm=float(ny * nx))  # plane-wave normalisation
    from jaxem.propagate import diffraction_patterns_array

    dp = np.asarray(diffraction_patterns_array(w.array, w.norm))
    assert dp.sum() == pytest.approx(np.mean(np.abs(arr) ** 2), rel=1e-10)
