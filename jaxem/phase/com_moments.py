"""Detector moments of every frame of a 4D-STEM cube in one pass, without copying the cube.

The centre of mass (CoM), the descan, DPC and iCoM all start from three moments of every pattern
I(k) over the detector pixels k = (ky, kx) [px]:

    M₀ = Σ_k I(k),   M_y = Σ_k I(k)·(ky − cy),   M_x = Σ_k I(k)·(kx − cx)   [counts, counts·px],

and CoM = (M_y, M_x)/M₀ [px] relative to the centre (cy, cx). For the (N, Q) view of the cube
(N = Sy·Sx frames, Q = ny·nx pixels) this is one matrix product with the (Q, 3) columns
[1, ky − cy, kx − cx]: a single memory-bound read of the data (no temporaries of frame size; the
centring keeps the float32 sums well conditioned).

**No copy of the cube.** On the CPU backend XLA reads a host NumPy buffer in place only when it
starts on a 64-byte boundary (:data:`ALIGN`); ``jax.device_put``/``jnp.asarray`` copy anything else,
and NumPy's allocations are only 16-byte aligned. The copy is what made the centre of mass slow
(measured: 0.5 s to copy a 268 MB cube on this 2-core machine, 0.05 s for the product itself).
Every C-contiguous NumPy array is therefore read through an aligned view: with s the number of
elements before the first 64-byte boundary, the (N − 1, Q) view that starts at element s is
aligned, and its row j holds the last Q − s pixels of frame j followed by the first s pixels of
frame j + 1. Its product with the (Q, 6) columns

    [ W[s:] ; 0 ]  (rows 0 … Q−s−1: the moments of frame j's tail)
    [ 0 ; W[:s] ]  (rows Q−s … Q−1: the moments of frame j + 1's head)

gives both parts; frame i's moments are tail(i) + head(i), with the head of frame 0 and the tail of
frame N − 1 (one frame in all) summed on the host. (A NaN or inf in one frame also makes its
neighbour's moments non-finite, through a zero weight: frames that come out non-finite are redone
alone, so each frame's result is its own. The split point moves with the buffer's address, so two
copies of the same data agree to round-off, not bit for bit.) Because s enters the weights and not the
shapes, one compiled program serves every alignment (s = 0 included) and a repeated call compiles
nothing. JAX-native rather than ``ndarray @ W`` because XLA's product is 2–4× faster than NumPy's
BLAS call on this skinny (Q, 6) operand here, and the same program runs on the device backends.

Data already in the compute dtype go through one product (it needs no temporary; measured on the
issue-20 cube, CPU time 28 ms whole vs 46 ms in cache-sized batches of rows). Integer counts are
converted inside the program in fixed-size batches of rows (``lax.fori_loop``; batch from the memory
policy :func:`jaxem.accel.batch_size`, on the CPU at most :data:`CPU_CONVERT_BYTES` so that a batch
stays in cache; the last batch moves back to end at the last row), never whole.
Non-contiguous arrays, arrays on other backends (GPU) and anything XLA will not alias are streamed:
fixed-size batches of frames handed to the device one at a time (the transfer is needed there
anyway). JAX arrays are used where they are.
"""
from __future__ import annotations

import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .. import accel

#: byte boundary at which XLA's CPU client aliases a host buffer instead of copying it
ALIGN = 64

#: on the CPU backend, the working set of the streamed batches is capped here unless a
#: ``memory_budget`` is given (same cap as the bright-field stack)
CPU_BATCH_BYTES = 64 * 2**20

#: ... and that of the batches converted inside the program (integer data) here: a batch that stays
#: in cache (measured on the issue-20 cube as uint16, 2 cores: 0.04 s in batches of ~85 frames,
#: 0.36 s in batches of 2730 frames = 64 MiB)
CPU_CONVERT_BYTES = 2 * 2**20


def weights(shape, center, dtype) -> np.ndarray:
    """The (Q, 3) moment columns [1, ky − cy, kx − cx] [1, px, px] of a detector ``shape`` (ny, nx)."""
    ny, nx = shape
    iy, ix = np.meshgrid(np.arange(ny) - center[0], np.arange(nx) - center[1], indexing="ij")
    return np.stack([np.ones(ny * nx), iy.ravel(), ix.ravel()], -1).astype(dtype)


@functools.lru_cache(maxsize=None)
def _aliases_host_buffers(platform: str) -> bool:
    """Whether ``jax.device_put`` reads an aligned NumPy buffer in place on this platform (checked
    once on a small array: a JAX version that copies falls back to streaming, never to a whole copy)."""
    if platform != "cpu":
        return False
    buf = np.zeros(4096 + ALIGN // 4, np.float32)
    off = (-buf.ctypes.data % ALIGN) // 4
    a = buf[off:off + 4096]
    try:
        return jax.device_put(a).unsafe_buffer_pointer() == a.ctypes.data
    except Exception:  # pragma: no cover - backends without buffer pointers
        return False


def _rows_dot(a, w, batch: int):
    """a (n, Q) @ w (Q, k) in w's dtype (traced): one product when a already has that dtype or fits a
    batch, else converted and multiplied ``batch`` rows at a time."""
    cdt = w.dtype
    n = a.shape[0]
    hi = lax.Precision.HIGHEST  # no TF32/bf16 passes on GPUs: CoM shifts are small differences
    if a.dtype == cdt or batch >= n:
        return jnp.dot(a.astype(cdt), w, precision=hi)

    def body(i, out):
        s = jnp.minimum(i * batch, n - batch)
        blk = lax.dynamic_slice_in_dim(a, s, batch, 0).astype(cdt)
        return lax.dynamic_update_slice_in_dim(out, jnp.dot(blk, w, precision=hi), s, 0)

    return lax.fori_loop(0, -(-n // batch), body, jnp.zeros((n, w.shape[1]), cdt))


@partial(jax.jit, static_argnames=("batch",))
def _rows_moments(a, w, batch):
    return _rows_dot(a, w, batch)


@partial(jax.jit, static_argnames=("batch",))
def _shifted_moments(a, w6, head0, tail_last, batch):
    """Moments (N, 3) from the aligned (N − 1, Q) view ``a`` (module docstring)."""
    m = _rows_dot(a, w6, batch)
    tail = jnp.concatenate([m[:, :3], tail_last[None]], 0)
    head = jnp.concatenate([head0[None], m[:, 3:]], 0)
    return tail + head


def _batch(q, itemsize, cdt_size, n, memory_budget, cap=CPU_BATCH_BYTES):
    return accel.batch_size(q * (itemsize + cdt_size), n, memory_budget, cpu_cap=cap)


def _in_place(flat, w, memory_budget):
    """Moments of a C-contiguous (N, Q) NumPy array read in place (module docstring), or None when
    this array cannot be aliased (then the caller streams it)."""
    n, q = flat.shape
    item = flat.dtype.itemsize
    off = flat.ctypes.data % ALIGN
    s = ((ALIGN - off) % ALIGN) // item if off % item == 0 else -1
    if n < 2 or not 0 <= s < q or flat.dtype != jax.dtypes.canonicalize_dtype(flat.dtype):
        return None
    view = flat.reshape(-1)[s:s + (n - 1) * q].reshape(n - 1, q)
    dev = jax.device_put(view)
    if dev.unsafe_buffer_pointer() != view.ctypes.data:  # pragma: no cover - checked by _aliases_host_buffers
        return None
    w64 = w.astype(np.float64)
    w6 = np.zeros((q, 6), w.dtype)
    w6[:q - s, :3] = w[s:]
    w6[q - s:, 3:] = w[:s]
    head0 = flat[0, :s].astype(np.float64) @ w64[:s]
    tail_last = flat[n - 1, s:].astype(np.float64) @ w64[s:]
    b = n - 1 if flat.dtype == w.dtype else _batch(q, item, w.dtype.itemsize, n - 1, memory_budget, CPU_CONVERT_BYTES)
    return _shifted_moments(dev, w6, head0.astype(w.dtype), tail_last.astype(w.dtype), b)


def _streamed(flat, w, memory_budget):
    """Moments of an (N, Q) (or (N, ny, nx) strided) host array streamed to the device in fixed-size
    batches of frames (the last batch moves back to end at the last frame: one program shape)."""
    n, q = flat.shape[0], w.shape[0]
    b = _batch(q, flat.dtype.itemsize, w.dtype.itemsize, n, memory_budget)
    out = np.empty((n, 3), np.float64)
    wd = jax.device_put(w)
    for i0 in range(0, n, b):  # host loop over batches: transfer + one product each
        s0 = min(i0, n - b)
        out[s0:s0 + b] = np.asarray(_rows_moments(jax.device_put(np.ascontiguousarray(flat[s0:s0 + b]).reshape(-1, q)), wd, b))
    return out


def frame_moments(array, center, memory_budget=None) -> np.ndarray:
    """(M₀, M_y, M_x) of every frame of ``array`` (..., ny, nx) [counts, counts·px, counts·px] about
    ``center`` (cy, cx) [px], as float64 (..., 3); computed in the data's precision (float32 for
    float32 and integer data). NumPy (read in place where possible) or JAX arrays."""
    if memory_budget is not None:  # checked here: the in-place path never turns it into a batch
        accel.parse_bytes(memory_budget, "memory_budget")
    if np.ndim(array) == 2:
        return frame_moments(array[None], center, memory_budget)[0]
    lead, (ny, nx) = tuple(np.shape(array)[:-2]), tuple(np.shape(array)[-2:])
    n, q = int(np.prod(lead, dtype=np.int64)), ny * nx
    w = weights((ny, nx), center, accel.dtypes_of(array)[0])
    if isinstance(array, jax.Array):
        b = n if array.dtype == w.dtype else _batch(q, array.dtype.itemsize, w.dtype.itemsize, n, memory_budget,
                                                    CPU_CONVERT_BYTES)
        return np.asarray(_rows_moments(array.reshape(n, q), w, b), np.float64).reshape(*lead, 3)
    a = np.asarray(array)
    if a.flags.c_contiguous:
        flat = a.reshape(n, q)
        out = _in_place(flat, w, memory_budget) if _aliases_host_buffers(jax.default_backend()) else None
        if out is None:
            out = _streamed(flat, w, memory_budget)
        else:  # a NaN/inf spills into the neighbouring frame's moments (NaN·0): redo those frames alone
            out = np.array(out, np.float64)
            bad = np.flatnonzero(~np.all(np.isfinite(out), -1))
            if bad.size:
                out[bad] = _streamed(flat[bad], w, memory_budget)
        return np.asarray(out, np.float64).reshape(*lead, 3)
    try:  # a strided view (e.g. a detector crop): frames in batches, never the whole array copied
        frames = np.reshape(a, (n, ny, nx), copy=False)
    except ValueError:  # the scan axes do not merge: one scan line at a time
        lines = [a[i] for i in np.ndindex(*lead[:-1])]
        return np.stack([_streamed(line, w, memory_budget) for line in lines]).reshape(*lead, 3)
    return _streamed(frames, w, memory_budget).reshape(*lead, 3)
