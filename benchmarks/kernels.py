"""Hot loops of jaxem: time of the JAX twin (and of the CUDA kernel where one exists and a GPU is
present) against an analytic roofline, with XLA's own cost analysis (flops, bytes accessed).

Roofline: t_floor = max(flops / peak_flops, bytes / peak_bandwidth), with the machine's peaks
measured here (a large float32 matmul for flops, a large array copy for bandwidth) and the flops and
bytes counted analytically per loop (FFT: 5 N log2 N flops per complex transform). Writes
results/kernels.json (with the machine's load) and prints the table kept in kernels/README.md.

    python benchmarks/kernels.py [--small] [--repeats 5]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks._common import median_time, write_results  # noqa: E402


def peaks():
    a = jnp.ones((2048, 2048), jnp.float32)
    mm = jax.jit(lambda a: a @ a)
    t = median_time(lambda: mm(a).block_until_ready(), 3)
    x = jnp.ones(64 * 2**20 // 4, jnp.float32)
    cp = jax.jit(lambda x: x * 1.0001)
    tb = median_time(lambda: cp(x).block_until_ready(), 5)
    return 2 * 2048**3 / t, 2 * x.nbytes / tb


def xla_cost(fn, *args):
    try:
        c = jax.jit(fn).lower(*args).compile().cost_analysis()
        c = c[0] if isinstance(c, list) else c
        return {"flops": float(c.get("flops", 0.0)), "bytes": float(c.get("bytes accessed", 0.0))}
    except Exception:  # noqa: BLE001
        return {}


def loops(small: bool):
    from jaxem.accel.segment_kernel import segment_sum
    from jaxem.accel.sf_kernel import structure_factor

    rng = np.random.default_rng(0)
    n = 128 if small else 512
    b = 4 if small else 16
    psi = jnp.asarray(rng.random((b, n, n)) + 1j * rng.random((b, n, n)), jnp.complex64)
    t = jnp.exp(1j * jnp.asarray(rng.random((n, n)), jnp.float32))
    prop = jnp.exp(1j * jnp.asarray(rng.random((n, n)), jnp.float32))
    N = b * n * n
    yield ("multislice step (t·ψ, FFT, ·P, IFFT)", lambda: (lambda psi, t, p: jnp.fft.ifft2(jnp.fft.fft2(psi * t) * p)),
           (psi, t, prop), 2 * 5 * N * math.log2(n * n) + 2 * 6 * N, 8 * N * 4, None)
    na, nk = (2000, 4096) if not small else (300, 1024)
    pos = jnp.asarray(rng.random((na, 3)) * 20, jnp.float32)
    w = jnp.asarray(rng.random(na), jnp.float32)
    kv = jnp.asarray(rng.normal(size=(nk, 3)), jnp.float32)
    yield ("structure-factor sum Σ_j w_j e^{−2πik·r_j}", lambda kern: (lambda p, w, k: structure_factor(
        p, w, k, kernel=kern)), (pos, w, kv), na * nk * (6 + 20 + 4), (na * 4 + nk * 3) * 4 + nk * 8, "kernel")
    dp = jnp.asarray(rng.random((b * 16, n // 2, n // 2)), jnp.float32)
    masks = jnp.asarray(rng.random((3, n // 2, n // 2)), jnp.float32)
    nd = dp.size
    yield ("STEM detector reduction (masks · DP)", lambda: (lambda d, m: jnp.tensordot(d, m, ((-2, -1), (-2, -1)))),
           (dp, masks), 2 * 3 * nd, nd * 4 + masks.nbytes, None)
    ne = 2**18 if small else 2**22
    bins = jnp.asarray(rng.integers(0, 65536, ne).astype(np.int32))
    ones = jnp.ones(ne, jnp.int32)
    yield ("event histogram (segment sum, 65536 bins)", lambda kern: (lambda w, bi: segment_sum(
        w, bi, 65536, kernel=kern)), (ones, bins), ne, ne * 8 + 65536 * 4, "kernel")
    img = jnp.asarray(rng.random((b * 64, 64, 64)), jnp.float32)
    idx = jnp.asarray(rng.integers(0, 4 * 64 * 64, img.size).astype(np.int32))
    yield ("parallax scatter-add (upsampling)", lambda: (lambda v, i: jnp.zeros(4 * 64 * 64, v.dtype).at[i].add(
        v.ravel())), (img, idx), img.size, img.size * 8 + 4 * 64 * 64 * 4, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    load0 = os.getloadavg()
    pf, pb = peaks()
    rows = []
    gpu = jax.default_backend() == "gpu"
    for name, make, inputs, flops, nbytes, kind in loops(args.small):
        twin = jax.jit(make(False) if kind else make())
        t_twin = median_time(lambda: jax.block_until_ready(twin(*inputs)), args.repeats)
        t_kernel = None
        if kind and gpu:
            kern = jax.jit(make(True))
            t_kernel = median_time(lambda: jax.block_until_ready(kern(*inputs)), args.repeats)
        floor = max(flops / pf, nbytes / pb)
        row = {"loop": name, "twin_s": t_twin, "kernel_s": t_kernel, "roofline_s": floor,
               "twin_fraction_of_roofline": floor / t_twin, "flops": flops, "bytes": nbytes,
               "bound": "compute" if flops / pf > nbytes / pb else "memory",
               "xla_cost": xla_cost(make(False) if kind else make(), *inputs)}
        if name.startswith("event"):
            b_np, w_np = np.asarray(inputs[1]), np.asarray(inputs[0])
            row["numpy_bincount_s"] = median_time(lambda: np.bincount(b_np, w_np, 65536), args.repeats)
        rows.append(row)
        print(f"{name:45s} twin {t_twin * 1e3:9.3f} ms  kernel {'-' if t_kernel is None else f'{t_kernel * 1e3:.3f} ms':>10s}"
              f"  floor {floor * 1e3:8.3f} ms ({row['bound']})  twin at {100 * floor / t_twin:5.1f} % of floor", flush=True)
    write_results("kernels", quick=args.small, payload={"peak_flops": pf, "peak_bandwidth": pb, "rows": rows, "small": args.small,
                              "load_before": load0, "load_after": os.getloadavg(), "time": time.time()})


if __name__ == "__main__":
    main()
