import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Beam, Grid, physics
from jaxem.accel import PRECISION_ALIASES, resolve_precision
from jaxem.propagate import Waves, diffraction_pattern, intensity, plane_wave, waves_from_array


def test_plane_wave_norm_and_metadata():
    g = Grid((8, 6), (0.1, 0.1))
    w = plane_wave(g, Beam(200e3, tilt=(1.0, 2.0)))
    assert w.array.shape == (8, 6) and w.norm == 48.0 and w.tilt == (1.0, 2.0) and w.energy == 200e3
    assert w.wavelength == pytest.approx(physics.wavelength(200e3))
    assert plane_wave(g, "200 kV").beam == Beam(200e3)
    assert float(diffraction_pattern(w).array.sum()) == pytest.approx(1.0)
    assert np.allclose(intensity(w).array, 1.0)
    assert intensity(w).metadata["beam"]["energy"] == {"value": 200e3, "units": "eV"}


def test_waves_is_a_pytree_with_static_grid_and_beam():
    g = Grid((4, 4), (0.2, 0.2))
    w = plane_wave(g, 300e3)
    leaves, tree = jax.tree.flatten(w)
    assert len(leaves) == 1 and leaves[0] is w.array
    doubled = jax.jit(lambda v: v.replace(array=2 * v.array))(w)
    assert isinstance(doubled, Waves) and doubled.beam == w.beam and doubled.grid == g
    assert np.allclose(doubled.array, 2.0)


@pytest.mark.parametrize("precision", PRECISION_ALIASES)
def test_plane_wave_honours_every_precision_alias(precision):
    p = resolve_precision(precision)
    w = plane_wave(Grid((4, 4), (0.2, 0.2)), 300e3, precision=precision)
    assert w.array.dtype == (jnp.complex128 if p == "float64" else jnp.complex64)


def test_waves_from_array():
    g = Grid((4, 4), (0.2, 0.2))
    arr = np.ones((3, 4, 4)) * 0.5
    w = waves_from_array(arr, g, 300e3)
    assert w.array.dtype == jnp.complex128 and w.batch_shape == (3,)
    assert w.norm == pytest.approx(16 * 0.25)
    assert waves_from_array(np.ones((4, 4), np.float32), g, 300e3).array.dtype == jnp.complex64
    with pytest.raises(ValueError, match=r"array must have shape \(4, 4\)"):
        waves_from_array(np.ones((5, 5)), g, 300e3)
    with pytest.raises(TypeError, match="grid must be a jaxem Grid"):
        plane_wave((4, 4), 300e3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_input_wave_is_an_error_with_count_and_index(bad):
    g = Grid((4, 4), (0.2, 0.2))
    arr = np.ones((2, 4, 4), complex)
    arr[1, 2, 3] = bad
    with pytest.raises(ValueError, match=r"array holds 1 NaN/inf value\(s\) \(first at index \(1, 2, 3\)\)"):
        waves_from_array(arr, g, 300e3)
    with pytest.raises(ValueError, match="norm must be > 0"):
        waves_from_array(np.ones((4, 4)), g, 300e3, norm=0.0)
    with pytest.raises(ValueError, match="norm"):
        waves_from_array(np.zeros((4, 4)), g, 300e3)


def test_beam_arguments_are_checked():
    g = Grid((64, 64), (0.2, 0.2))
    with pytest.raises(ValueError, match="beam tilt of 500 mrad exceeds the anti-aliased limit"):
        plane_wave(g, Beam(300e3, tilt=(500.0, 0.0)))
    with pytest.raises(ValueError, match="beam tilt"):
        waves_from_array(np.ones((64, 64)), g, Beam(300e3, tilt=(0.0, 500.0)))
    with pytest.raises(ValueError, match="energy"):
        plane_wave(g, -300e3)
    with pytest.raises(TypeError, match="beam"):
        plane_wave(g, None)
    assert plane_wave(g, "300 kV").energy == 300e3


def test_diffraction_axes_and_crop():
    g = Grid((64, 64), (0.05, 0.05))
    w = plane_wave(g, 300e3)
    dp = diffraction_pattern(w, max_angle=40.0)
    ax = dp.axes[-1]
    assert ax.units == "mrad" and dp.metadata["max_angle"] == {"value": 40.0, "units": "mrad"}
    assert abs(ax.offset) <= 40.0 + ax.sampling
    centre = np.unravel_index(np.argmax(np.asarray(dp.array)), dp.shape)
    assert centre == (dp.shape[0] // 2, dp.shape[1] // 2)
    assert diffraction_pattern(w, max_angle=float("inf")).shape == (64, 64)
    k = diffraction_pattern(w, max_angle=40.0, units="1/Å")
    assert k.axes[-1].units == "1/Å" and k.shape == dp.shape


def test_diffraction_pattern_refuses_out_of_range_angles_and_units():
    w = plane_wave(Grid((64, 64), (0.05, 0.05)), 300e3)
    with pytest.raises(ValueError, match="max_angle must be ≥ 0"):
        diffraction_pattern(w, max_angle=-1.0)
    with pytest.raises(ValueError, match="max_angle must be > 0"):
        diffraction_pattern(w, max_angle=0.0)
    with pytest.raises(ValueError, match="max_angle of 500 mrad exceeds the limit"):
        diffraction_pattern(w, max_angle=500.0)  # beyond the grid: an error, not a silent crop
    with pytest.raises(ValueError, match="units must be one of 'mrad', '1/Å', got 'furlongs'"):
        diffraction_pattern(w, units="furlongs")
    with pytest.raises(ValueError, match="did you mean 'mrad'"):
        diffraction_pattern(w, units="mrd")
    with pytest.raises(TypeError, match="waves must be jaxem Waves"):
        diffraction_pattern(np.ones((64, 64)))
    bad = w.replace(array=w.array.at[3, 4].set(jnp.nan))
    with pytest.raises(ValueError, match=r"waves.array holds 1 NaN/inf value\(s\) \(first at index \(3, 4\)\)"):
        diffraction_pattern(bad)
    with pytest.raises(ValueError, match="batch_axes must name"):
        intensity(w, batch_axes=["a"])


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
