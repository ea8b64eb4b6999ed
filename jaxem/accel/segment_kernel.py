"""Event histograms and segment sums: out[b] = Σ_{i: bins_i = b} w_i, bins outside [0, n_bins) dropped.

This is the reduction behind sparse-event 5D-STEM (LTR: counts per pixel, per frame, per virtual
detector), radial profiles and scatter-adds. XLA lowers ``jax.ops.segment_sum`` to a scatter; on
CPU it runs at ¼–⅓ of NumPy's ``bincount`` (``benchmarks/kernels.py``), on GPU as global atomics.

* :func:`segment_sum_twin`: ``jax.ops.segment_sum(w, bins, n_bins, mode="drop")`` (pure JAX).
* the CUDA kernel ``kernels/segment_sum.cu``: per-block histograms in shared memory for up to
  32 KiB of bins (one global atomic per bin and block), global atomics beyond; int32 counts, float32
  and float64 sums. Launched with CuPy inside ``jit`` through ``buffer_callback``.

:func:`segment_sum` dispatches (:func:`jaxem.accel.use_kernel`). Gradients flow to the weights
(``custom_vjp``: the cotangent gathered at each event's bin, zero for dropped events); bins are
integers (no gradient).
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from .sf_kernel import _on_gpu

__all__ = ["segment_sum", "segment_sum_twin"]

_THREADS = 256
_SHARED_BYTES = 32768  # SHARED_BYTES in segment_sum.cu


def segment_sum_twin(weights, bins, n_bins: int):
    """``jax.ops.segment_sum(weights, bins, n_bins, mode="drop")``: the pure-JAX twin."""
    return jax.ops.segment_sum(weights, bins, num_segments=n_bins, mode="drop")


def _suffix(dtype) -> str:
    return {np.dtype(np.int32): "i32", np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}[np.dtype(dtype)]


def _launch(ctx, out, bins, weights):
    n = int(bins.shape[0])
    n_bins = int(out.shape[0])
    if _on_gpu(bins):  # GPU: the CUDA kernel on XLA's stream
        import cupy

        from .dispatch import cupy_module

        dt = np.dtype(weights.dtype)
        o = cupy.asarray(out)
        shared = n_bins * dt.itemsize <= _SHARED_BYTES
        kind = "shared" if shared else "global"
        fn = cupy_module("segment_sum").get_function(f"segment_sum_{kind}_{_suffix(dt)}")
        blocks = int(max(1, min((n + _THREADS - 1) // _THREADS, 1024 if shared else 65535)))
        with cupy.cuda.ExternalStream(ctx.stream):
            o.fill(0)
            fn((blocks,), (_THREADS,), (cupy.asarray(bins), cupy.asarray(weights), o, np.int64(n), np.int32(n_bins)),
               shared_mem=n_bins * dt.itemsize if shared else 0)
        return
    # CPU: the kernel's algorithm in NumPy (bincount drops nothing: mask first)
    b, w = np.asarray(bins), np.asarray(weights)
    ok = (b >= 0) & (b < n_bins)
    res = np.bincount(b[ok], weights=w[ok].astype(np.float64), minlength=n_bins)[:n_bins]
    np.asarray(out)[...] = res.astype(np.asarray(out).dtype) if w.dtype.kind == "f" else np.rint(res).astype(
        np.asarray(out).dtype)


def _kernel_forward(weights, bins, n_bins):
    from jax.experimental.buffer_callback import buffer_callback

    out = jax.ShapeDtypeStruct((n_bins,), weights.dtype)
    return buffer_callback(_launch, out, command_buffer_compatible=True)(bins, weights)


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def _segment_kernel(weights, bins, n_bins):
    return _kernel_forward(weights, bins, n_bins)


def _fwd(weights, bins, n_bins):
    return _kernel_forward(weights, bins, n_bins), bins


def _bwd(n_bins, bins, g):
    ok = (bins >= 0) & (bins < n_bins)
    dw = jnp.where(ok, g[jnp.clip(bins, 0, n_bins - 1)], 0).astype(g.dtype)
    return dw, np.zeros(bins.shape, jax.dtypes.float0)


_segment_kernel.defvjp(_fwd, _bwd)


def segment_sum(weights, bins, n_bins: int, *, kernel=None):
    """Σ of ``weights`` per bin, (n_bins,) of the weights' dtype.

    Args:
        weights: (n,) int32 (counts), float32 or float64 values.
        bins: (n,) integer bin of each value; values outside [0, n_bins) are dropped.
        n_bins: number of bins (static).
        kernel: None (automatic), True (CUDA kernel; its emulation on CPU), False (the JAX twin).
    """
    from .dispatch import use_kernel

    n_bins = validate.integer(n_bins, "n_bins", lo=1)
    validate.array(weights, "weights", ndim=1, finite=False)
    validate.array(bins, "bins", ndim=1, kind="integer")
    weights, bins = jnp.asarray(weights), jnp.asarray(bins)
    if weights.shape != bins.shape:
        raise validate.InputError(f"weights and bins must have the same length, got {weights.shape} and {bins.shape}")
    if not use_kernel(kernel):
        return segment_sum_twin(weights, bins, n_bins)
    if np.dtype(weights.dtype) not in (np.dtype(np.int32), np.dtype(np.float32), np.dtype(np.float64)):
        raise validate.InputTypeError(f"weights for the kernel must be int32, float32 or float64, got {weights.dtype}")
    return _segment_kernel(weights, bins.astype(jnp.int32), n_bins)
