"""Structure-factor sums F(k) = Σ_j w_j exp(−2πi k·r_j) for arbitrary k-vectors, without an
N_atoms × N_k intermediate.

Positions r_j (N, 3) [Å], weights w_j (N,) (scattering factors at the k of interest, occupancies,
…), reciprocal vectors k (K, 3) [1/Å]. The direct JAX expression builds an (N, K) phase matrix; for
10⁵ atoms and 10⁵ k that is 80 GB. Here:

* :func:`structure_factor_twin` (pure JAX): ``lax.scan`` over blocks of atoms (block size from the
  memory policy), so the intermediate is (block, K); its VJP is the same scan over blocks of k.
* the CUDA kernel ``kernels/structure_factor.cu``: one thread per k, atoms tiled through shared
  memory (forward); one thread per atom, k tiled (VJP). Launched with CuPy inside ``jit`` through
  ``buffer_callback`` on XLA's stream. Why a kernel: the sum is bound by sincos throughput; XLA
  materialises each (block, K) phase tile in memory, the kernel keeps it in registers.

:func:`structure_factor` dispatches (:func:`jaxem.accel.use_kernel`); both paths carry a
``custom_vjp`` with respect to positions and weights (k is treated as constant).
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from .memory import batch_size

__all__ = ["structure_factor", "structure_factor_twin", "structure_factor_reference"]

_TILE = 256  # threads per block of the CUDA kernels (TILE in structure_factor.cu)


def structure_factor_reference(positions, weights, k):
    """Direct JAX expression with the (N, K) phase matrix: the independent reference for tests."""
    phase = -2 * jnp.pi * positions @ k.T
    return jnp.sum(weights[:, None] * jnp.exp(1j * phase), axis=0)


def _blocks(x, block):
    n = x.shape[0]
    pad = (-n) % block
    x = jnp.pad(x, ((0, pad),) + ((0, 0),) * (x.ndim - 1))
    return x.reshape((-1, block) + x.shape[1:])


def _forward_twin(positions, weights, k, block):
    cdtype = jnp.result_type(positions.dtype, jnp.complex64)
    kk = (2 * jnp.pi) * k

    def body(acc, blk):
        p, w = blk
        ph = p @ kk.T  # (block, K)
        return acc + jnp.sum(w[:, None] * (jnp.cos(ph) - 1j * jnp.sin(ph)), axis=0).astype(cdtype), None

    acc0 = jnp.zeros(k.shape[0], cdtype)
    return jax.lax.scan(body, acc0, (_blocks(positions, block), _blocks(weights, block)))[0]


def _vjp_twin(positions, weights, k, g, block):
    """(dpositions, dweights) for the cotangent g (K,) complex, blocks of k (same formulas as the kernel)."""
    kk = (2 * jnp.pi) * k
    gr, gi = jnp.real(g).astype(positions.dtype), jnp.imag(g).astype(positions.dtype)

    def body(acc, blk):
        kb, grb, gib = blk
        ph = positions @ kb.T  # (N, block)
        c, s = jnp.cos(ph), jnp.sin(ph)
        dw = jnp.sum(grb * c + gib * s, axis=1)
        d = gib * c - grb * s
        return (acc[0] + d @ kb, acc[1] + dw), None

    init = (jnp.zeros_like(positions), jnp.zeros_like(weights))
    (dp, dw), _ = jax.lax.scan(body, init, (_blocks(kk, block), _blocks(gr, block), _blocks(gi, block)))
    return dp * weights[:, None], dw


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def _sf_twin(positions, weights, k, block):
    return _forward_twin(positions, weights, k, block)


def _sf_twin_fwd(positions, weights, k, block):
    return _forward_twin(positions, weights, k, block), (positions, weights, k)


def _sf_twin_bwd(block, res, g):
    positions, weights, k = res
    dp, dw = _vjp_twin(positions, weights, k, g, block)
    return dp, dw, jnp.zeros_like(k)


_sf_twin.defvjp(_sf_twin_fwd, _sf_twin_bwd)


# ---- the kernel path: buffer_callback (CuPy RawModule on GPU, its NumPy emulation on CPU) ----------
def _suffix(dtype) -> str:
    return "f64" if np.dtype(dtype) == np.float64 else "f32"


def _on_gpu(buf) -> bool:
    """True for a device buffer on a CUDA/ROCm GPU (CPU buffers raise on the CUDA interface)."""
    try:
        buf.__cuda_array_interface__
    except Exception:  # noqa: BLE001
        return False
    return True


def _launch_forward(ctx, out, positions, weights, k):
    n, nk = positions.shape[0], k.shape[0]
    if _on_gpu(positions):  # GPU: the CUDA kernel on XLA's stream
        import cupy

        from .dispatch import cupy_module

        dt = np.dtype(positions.dtype)
        fn = cupy_module("structure_factor").get_function(f"structure_factor_{_suffix(dt)}")
        o = cupy.asarray(out).view(dt)
        with cupy.cuda.ExternalStream(ctx.stream):
            fn(((nk + _TILE - 1) // _TILE,), (_TILE,), (cupy.asarray(positions), cupy.asarray(weights),
                                                       cupy.asarray(k), o, np.int32(n), np.int32(nk)))
        return
    # CPU: the kernel's algorithm (per k, atoms in tiles), in NumPy
    p, w, kv = np.asarray(positions), np.asarray(weights), np.asarray(k)
    acc = np.zeros(nk, np.asarray(out).dtype)
    kk = 2 * np.pi * kv
    for s in range(0, n, _TILE):
        ph = p[s:s + _TILE] @ kk.T
        acc += np.sum(w[s:s + _TILE, None] * (np.cos(ph) - 1j * np.sin(ph)), axis=0)
    np.asarray(out)[...] = acc


def _launch_vjp(ctx, out, positions, weights, k, g):
    dpos, dw = out
    n, nk = positions.shape[0], k.shape[0]
    if _on_gpu(positions):
        import cupy

        from .dispatch import cupy_module

        dt = np.dtype(positions.dtype)
        fn = cupy_module("structure_factor").get_function(f"structure_factor_vjp_{_suffix(dt)}")
        with cupy.cuda.ExternalStream(ctx.stream):
            fn(((n + _TILE - 1) // _TILE,), (_TILE,),
               (cupy.asarray(positions), cupy.asarray(weights), cupy.asarray(k), cupy.asarray(g).view(dt),
                cupy.asarray(dpos), cupy.asarray(dw), np.int32(n), np.int32(nk)))
        return
    p, w, kv, gv = np.asarray(positions), np.asarray(weights), np.asarray(k), np.asarray(g)
    ax, aw = np.zeros_like(p), np.zeros_like(w)
    kk = 2 * np.pi * kv
    for s in range(0, nk, _TILE):
        ph = p @ kk[s:s + _TILE].T
        c, sn = np.cos(ph), np.sin(ph)
        gr, gi = gv.real[s:s + _TILE], gv.imag[s:s + _TILE]
        aw += np.sum(gr * c + gi * sn, axis=1)
        ax += (gi * c - gr * sn) @ kk[s:s + _TILE]
    np.asarray(dpos)[...] = ax * w[:, None]
    np.asarray(dw)[...] = aw


def _kernel_forward(positions, weights, k):
    from jax.experimental.buffer_callback import buffer_callback

    cdtype = jnp.result_type(positions.dtype, jnp.complex64)
    out = jax.ShapeDtypeStruct((k.shape[0],), cdtype)
    return buffer_callback(_launch_forward, out, command_buffer_compatible=True)(positions, weights, k)


@jax.custom_vjp
def _sf_kernel(positions, weights, k):
    return _kernel_forward(positions, weights, k)


def _sf_kernel_fwd(positions, weights, k):
    return _kernel_forward(positions, weights, k), (positions, weights, k)


def _sf_kernel_bwd(res, g):
    from jax.experimental.buffer_callback import buffer_callback

    positions, weights, k = res
    outs = (jax.ShapeDtypeStruct(positions.shape, positions.dtype), jax.ShapeDtypeStruct(weights.shape, weights.dtype))
    g = g.astype(jnp.result_type(positions.dtype, jnp.complex64))
    dp, dw = buffer_callback(_launch_vjp, outs, command_buffer_compatible=True)(positions, weights, k, g)
    return dp, dw, jnp.zeros_like(k)


_sf_kernel.defvjp(_sf_kernel_fwd, _sf_kernel_bwd)


def structure_factor_twin(positions, weights, k, memory_budget=None):
    """The pure-JAX twin of the kernel (see the module docstring); (K,) complex."""
    positions, weights, k = _check(positions, weights, k)
    per_atom = 6 * k.shape[0] * positions.dtype.itemsize  # phase, cos, sin per (atom, k)
    block = batch_size(per_atom, positions.shape[0], memory_budget, cpu_cap=32 * 2**20)
    return _sf_twin(positions, weights, k, int(block))


def structure_factor(positions, weights, k, *, kernel=None, memory_budget=None):
    """F(k) = Σ_j w_j exp(−2πi k·r_j), (K,) complex [units of w].

    Args:
        positions: (N, 3) atom positions [Å] (float32 or float64; sets the precision).
        weights: (N,) real weights (e.g. f_j(|k|)·occupancy) [Å or dimensionless].
        k: (K, 3) reciprocal vectors [1/Å].
        kernel: None (automatic), True (CUDA kernel; its emulation on CPU), False (the JAX twin).
        memory_budget: bounds the twin's (block, K) tiles (see :func:`jaxem.accel.batch_size`).
    """
    from .dispatch import use_kernel

    if use_kernel(kernel):
        positions, weights, k = _check(positions, weights, k)
        return _sf_kernel(positions, weights, k)
    return structure_factor_twin(positions, weights, k, memory_budget)


def _check(positions, weights, k):
    if not any(validate.is_traced(a) for a in (positions, weights, k)):
        validate.array(positions, "positions", ndim=2, kind="real", units="Å")
        validate.array(weights, "weights", ndim=1, kind="real")
        validate.array(k, "k", ndim=2, kind="real", units="1/Å")
    positions, weights, k = jnp.asarray(positions), jnp.asarray(weights), jnp.asarray(k)
    if positions.shape[-1:] != (3,) or k.shape[-1:] != (3,):
        raise validate.InputError(f"positions (N, 3) [Å] and k (K, 3) [1/Å] need 3 components, got "
                                  f"{positions.shape} and {k.shape}")
    if weights.shape != positions.shape[:1]:
        raise validate.InputError(f"weights must have one value per atom ({positions.shape[0]}), got {weights.shape}")
    dt = positions.dtype if jnp.issubdtype(positions.dtype, jnp.floating) else jnp.float32
    return positions.astype(dt), weights.astype(dt), k.astype(dt)
