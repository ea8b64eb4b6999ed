"""The one-pass detector moments behind the centre of mass (jaxem.phase.com_moments): every alignment of
the host buffer, the batched conversion of integer data, strided views, JAX arrays, NaN frames, and
no copy of the cube / no recompilation on repeated calls."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.phase import com_moments as moments


def _reference(a, center):
    """float64 NumPy moments (M0, My, Mx) of every frame."""
    a = np.asarray(a, np.float64)
    iy = np.arange(a.shape[-2]) - center[0]
    ix = np.arange(a.shape[-1]) - center[1]
    return np.stack([a.sum((-2, -1)), (a.sum(-1) * iy).sum(-1), (a.sum(-2) * ix).sum(-1)], -1)


def _at_offset(data, offset_bytes):
    """A C-contiguous copy of ``data`` starting ``offset_bytes`` past a 64-byte boundary."""
    buf = np.empty(data.nbytes + 2 * moments.ALIGN, np.uint8)
    start = (-buf.ctypes.data) % moments.ALIGN + offset_bytes
    out = buf[start:start + data.nbytes].view(data.dtype).reshape(data.shape)
    out[...] = data
    assert out.ctypes.data % moments.ALIGN == offset_bytes
    return out


@pytest.fixture(scope="module")
def cube(rng_module):
    return rng_module.gamma(2.0, 50.0, (7, 5, 12, 10)).astype(np.float32)


@pytest.fixture(scope="module")
def rng_module():
    return np.random.default_rng(20)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_alignment_gives_the_float64_moments_and_reads_in_place(cube, dtype, monkeypatch, compile_counter):
    center = (5.3, 4.1)
    ref = _reference(cube.astype(dtype), center)
    aliased = []
    put = jax.device_put

    def spy(x, *args, **kwargs):  # every array handed to XLA must be read in place, not copied
        out = put(x, *args, **kwargs)
        if isinstance(x, np.ndarray) and x.size > 1000:
            aliased.append(out.unsafe_buffer_pointer() == x.ctypes.data)
        return out

    monkeypatch.setattr(moments.jax, "device_put", spy)
    item = np.dtype(dtype).itemsize
    moments.frame_moments(_at_offset(cube.astype(dtype), 0), center)  # compile
    aliased.clear()
    with compile_counter() as c:
        for off in range(0, moments.ALIGN, item):
            m = moments.frame_moments(_at_offset(cube.astype(dtype), off), (center[0] + off / 100, center[1]))
            r = _reference(cube.astype(dtype), (center[0] + off / 100, center[1]))
            tol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(m, r, rtol=tol, atol=tol * np.abs(r).max())
    assert c.count == 0  # one program for every alignment and centre
    assert len(aliased) == moments.ALIGN // item and all(aliased)
    assert m.shape == ref.shape and m.dtype == np.float64


def test_integer_counts_converted_in_batches_and_strided_views(cube, compile_counter):
    counts = np.round(cube).astype(np.uint16)
    ref = _reference(counts, (6, 5))
    # a budget of 4 converted frames: 34 rows in batches of 4, the last one moved back
    q = counts.shape[-2] * counts.shape[-1]
    for off in (0, 2, 18):
        m = moments.frame_moments(_at_offset(counts, off), (6, 5), memory_budget=4 * q * 6)
        np.testing.assert_allclose(m, ref, rtol=1e-6)
        half = cube.astype(np.float16)  # half-precision frames: converted to float32 in batches too
        m = moments.frame_moments(_at_offset(half, off), (6, 5), memory_budget=4 * q * 6)
        np.testing.assert_allclose(m, _reference(half, (6, 5)), rtol=1e-5, atol=1e-3)
    # a detector crop (strided frames) and a scan crop whose axes do not merge: streamed, no copy
    big = np.zeros((7, 6, 14, 12), np.float32)
    big[:, :5, 1:13, 1:11] = cube
    np.testing.assert_allclose(moments.frame_moments(big[:, :, 1:13, 1:11][:, :5], (6, 5)),
                               _reference(cube, (6, 5)), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(moments.frame_moments(big[:, :5, 1:13, 1:11], (6, 5)),
                               _reference(cube, (6, 5)), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(moments.frame_moments(jnp.asarray(cube), (6, 5)), _reference(cube, (6, 5)),
                               rtol=1e-5, atol=1e-3)
    # detectors smaller than the alignment shift and single frames take the streamed path
    tiny = cube[..., :3, :3].copy()
    for off in (0, 4, 60):
        np.testing.assert_allclose(moments.frame_moments(_at_offset(tiny, off), (1, 1)), _reference(tiny, (1, 1)),
                                   rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(moments.frame_moments(cube[0, 0], (6, 5)), _reference(cube[0, 0], (6, 5)), rtol=1e-5)


def test_a_nan_stays_in_its_own_frame(cube):
    bad = cube.copy()
    bad[3, 2, 0, 1] = np.nan  # the first pixels of a frame: the head that shares a row with frame (3, 1)
    bad[4, 0, 11, 9] = np.inf  # the last pixel: the tail that shares a row with frame (4, 1)
    for off in (0, 4, 44):
        m = moments.frame_moments(_at_offset(bad, off), (6, 5))
        finite = np.all(np.isfinite(m), -1)
        assert not finite[3, 2] and not finite[4, 0] and finite.sum() == finite.size - 2
        np.testing.assert_allclose(m[finite], _reference(cube, (6, 5))[finite], rtol=1e-5, atol=1e-3)


def test_host_buffers_are_aliased_on_cpu():
    if jax.default_backend() != "cpu":
        pytest.skip("zero-copy host buffers are a CPU-backend property")
    assert moments._aliases_host_buffers("cpu")
    assert not moments._aliases_host_buffers("gpu")
