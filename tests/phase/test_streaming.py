"""Acceptance: streaming parallax after the last frame equals the batch upsampled parallax to 1e-5
relative; wrap-around at the scan borders in both axes is checked against a direct loop; the
init/step/result shape, input checks and dropped frames."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.optics.aberrations import Aberrations
from jaxem.phase import direct, streaming
from jaxem.phase.dataset import Dataset4D
from jaxem.phase.stack import bright_field_stack

from .forward import make_dataset


@pytest.fixture(scope="module")
def sub_sampled():
    # scan step 2 object pixels: 24×24 scan, upsampling 2 restores the 0.25 Å grid
    return make_dataset(48, sigma=0.002, step=2, aberrations=Aberrations.create(C10=180.0, C12=30.0, phi12=0.4))


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("u", [1, 2])
def test_stream_equals_batch_upsampled_parallax(sub_sampled, flip, u):
    ds, _ = sub_sampled
    st = bright_field_stack(ds, precision="float64")
    batch = np.asarray(direct.parallax(st, ds.aberrations, upsampling=u, flip=flip, round_shifts=True,
                                       contrast_floor=None))  # the reducer sums I/I₀ (intensity weights)
    state = streaming.init(streaming.parallax_config(ds, upsampling=u, precision="float64"))
    frames = jnp.asarray(ds.array.reshape(-1, *ds.detector_shape))
    for start in range(0, frames.shape[0], 100):  # uneven chunks in scan order
        stop = min(start + 100, frames.shape[0])
        state = streaming.step(state, frames[start:stop], np.arange(start, stop))
    img = np.asarray(streaming.result(state, flip=flip))
    assert np.abs(img - batch).max() <= 1e-5 * np.abs(batch).max()
    off = np.asarray(state.config.offsets)
    assert off[:, 0].max() > 0 > off[:, 0].min() and off[:, 1].max() > 0 > off[:, 1].min()


def test_dask_and_per_frame_drivers(sub_sampled):
    import dask.array as da

    ds, _ = sub_sampled
    s0 = streaming.init(streaming.parallax_config(ds, upsampling=2, precision="float64"))
    arr = da.from_array(ds.array, chunks=(5, 7, -1, -1))
    seen = []
    s1 = streaming.stream_dask(s0, arr, callback=lambda s, n: seen.append(n))
    assert seen[-1] == 24 * 24 and len(seen) == 5 * 4
    s2 = s0
    for i, fr in enumerate(ds.array.reshape(-1, *ds.detector_shape)[::-1]):  # any order, (iy, ix) pairs
        s2 = streaming.process_frame(s2, fr, divmod(24 * 24 - 1 - i, 24))
    np.testing.assert_allclose(streaming.result(s2), streaming.result(s1), rtol=1e-9, atol=1e-12)


def _toy():
    # 5×6 scan, 8×8 detector, strong defocus → BF offsets that cross both scan borders
    det = 8
    ds = Dataset4D(np.zeros((5, 6, det, det)), (1.0, 1.0), energy=300e3, semiangle=20.0,
                   detector_sampling=(0.3, 0.3), center=(4, 4), aberrations=Aberrations(C10=60.0, C12=20.0, phi12=0.7))
    return ds


@pytest.mark.parametrize("u", [1, 3])
def test_wrap_around_both_axes_matches_direct_loop(u, rng):
    ds = _toy()
    state = streaming.init(streaming.parallax_config(ds, upsampling=u, precision="float64"))
    cfg = state.config
    off = np.asarray(cfg.offsets)
    sy, sx = ds.scan_shape
    # offsets reach past the borders in +y, −y, +x and −x
    assert off[:, 0].max() >= u and off[:, 0].min() <= -u and off[:, 1].max() >= u and off[:, 1].min() <= -u
    frames = rng.random((sy * sx, 8, 8))
    state = streaming.step(state, jnp.asarray(frames), np.arange(sy * sx))
    expect = np.zeros((u * sy, u * sx))
    bf = np.asarray(cfg.bf_flat)
    for n in range(sy * sx):  # reference: explicit 2-D modular deposit
        iy, ix = divmod(n, sx)
        for j, f in enumerate(bf):
            expect[(iy * u + off[j, 0]) % (u * sy), (ix * u + off[j, 1]) % (u * sx)] += frames[n].ravel()[f]
    np.testing.assert_allclose(np.asarray(state.image), expect, rtol=1e-12)
    # flat-index wrap (x + dx ≥ Nx carrying into the next row) would differ from the 2-D wrap
    flat = np.zeros(u * sy * u * sx)
    for n in range(sy * sx):
        iy, ix = divmod(n, sx)
        for j, f in enumerate(bf):
            flat[((iy * u + off[j, 0]) * u * sx + ix * u + off[j, 1]) % flat.size] += frames[n].ravel()[f]
    assert not np.allclose(flat.reshape(expect.shape), expect)


def test_live_preview_before_last_frame(sub_sampled):
    ds, _ = sub_sampled
    s = streaming.init(streaming.parallax_config(ds, upsampling=2))
    frames = jnp.asarray(ds.array.reshape(-1, *ds.detector_shape), jnp.float32)
    s = streaming.step(s, frames[:200], jnp.arange(200))
    img = np.asarray(streaming.result(s))
    assert img.shape == (48, 48) and np.all(np.isfinite(img)) and int(s.n_frames) == 200
    assert len(streaming.bad_positions(s)[1]) == 24 * 24 - 200


def test_step_is_pure_and_jittable(sub_sampled):
    ds, _ = sub_sampled
    s0 = streaming.init(streaming.parallax_config(ds, precision="float64"))
    frames = jnp.asarray(ds.array.reshape(-1, *ds.detector_shape))
    jitted = jax.jit(streaming.step)
    s1 = jitted(s0, frames[:50], jnp.arange(50))
    s2 = streaming.step(s0, frames[:50], np.arange(50))
    np.testing.assert_allclose(s1.image, s2.image)
    assert float(jnp.abs(s0.image).max()) == 0.0  # the input state is unchanged


@pytest.mark.parametrize("positions, match", [(np.array([10**6]), "positions must lie in the scan"),
                                              (np.array([-5]), "positions must lie in the scan"),
                                              (np.array([[0, 24]]), "positions must lie in the scan"),
                                              (np.array([0.5]), "positions must be integers"),
                                              (np.array([0, 1]), "positions must be 1 flat")])
def test_bad_positions_are_rejected(sub_sampled, positions, match):
    ds, _ = sub_sampled
    s = streaming.init(streaming.parallax_config(ds))
    frame = ds.array.reshape(-1, *ds.detector_shape)[:1]
    with pytest.raises((ValueError, TypeError), match=match):
        streaming.step(s, frame, positions)


def test_wrong_detector_shape_and_state_rejected(sub_sampled):
    ds, _ = sub_sampled
    s = streaming.init(streaming.parallax_config(ds))
    with pytest.raises(ValueError, match="frames must have shape"):
        streaming.step(s, np.zeros((1, 47, 48)), np.array([0]))
    with pytest.raises(ValueError, match="array must have the shape"):
        streaming.stream_dask(s, np.zeros((24, 24, 47, 48)))
    with pytest.raises(TypeError, match="config"):
        streaming.init(ds)
    with pytest.raises(TypeError, match="state"):
        streaming.result(s.config)
    with pytest.raises(ValueError, match="upsampling"):
        streaming.parallax_config(ds, upsampling=0)


def test_frame_with_nan_is_dropped_and_filled_with_the_mean(sub_sampled):
    # a dropped frame counts as not acquired: its position gets the mean frame, like a batch
    # reconstruction of the data whose frame is replaced by the mean frame
    ds, _ = sub_sampled
    frames = np.array(ds.array.reshape(-1, *ds.detector_shape))
    bad = frames.copy()
    bad[37, 3, 4] = np.nan
    s = streaming.init(streaming.parallax_config(ds, precision="float64"))
    s = streaming.step(s, bad, np.arange(len(bad)))
    assert streaming.bad_positions(s) == (1, ((1, 13),))
    img = np.asarray(streaming.result(s))
    assert np.all(np.isfinite(img))
    ref = frames.copy()
    ref[37] = np.delete(frames, 37, 0).mean(0)
    ds_ref = ds.replace(array=ref.reshape(ds.shape))
    batch = np.asarray(direct.parallax(bright_field_stack(ds_ref, precision="float64"), ds.aberrations,
                                       round_shifts=True, contrast_floor=None))
    assert np.abs(img - batch).max() <= 1e-5 * np.abs(batch).max()
