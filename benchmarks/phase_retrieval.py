"""Benchmark: direct phase retrieval (SSB, WDD, parallax) jaxem vs py4DSTEM, and streaming parallax.

Default run: a 128×128 scan × 64×64 detector white-noise weak phase object (300 kV, 20 mrad,
C10 = 150 Å), SSB/WDD/parallax with jaxem and py4DSTEM (0.14.18, direct_ptychography SSB/WDD,
single process) in the same run, plus streaming parallax frames/s (64×64 patterns, chunks of 1024
frames). ``--full`` adds a dataset written to zarr and processed lazily with a small memory budget
(256×256 scan × 64×64 detector, 1 GiB of float32 patterns): the bright-field stack is read chunk by
chunk and streaming parallax runs through Dask block by block. Prints a table and writes
``benchmarks/results/phase_retrieval.json`` atomically.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)  # float64 simulation; the methods run in float32 (input dtype)
import jax.numpy as jnp  # noqa: E402

from jaxem.io import atomic_write_text  # noqa: E402
from jaxem.optics.aberrations import Aberrations  # noqa: E402
from jaxem.phase import direct, streaming  # noqa: E402
from jaxem.phase._synthetic import simulate_4dstem, white_noise_phase  # noqa: E402
from jaxem.phase.dataset import Dataset4D  # noqa: E402
from jaxem.phase.stack import bright_field_stack  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "phase"))
from py4dstem_peer import py4d_run  # noqa: E402  (test-only peer bridge, imports py4DSTEM lazily)
from jaxem.phase.wdd import wdd  # noqa: E402

ENERGY, SEMIANGLE, SAMPLING = 300e3, 20.0, 0.2


def _time(fn, repeats=1):
    fn()  # warm-up (compilation)
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        jax.block_until_ready(out) if not isinstance(out, np.ndarray) else None
        t.append(time.perf_counter() - t0)
    return float(np.median(t))


def make(n_scan, n_det, seed=0):
    ab = Aberrations.create(C10=150.0)
    phi = white_noise_phase(n_scan, 0.01, seed)
    data = simulate_4dstem(phi, SAMPLING, ENERGY, SEMIANGLE, ab, crop=n_det).astype(np.float32)
    ds = Dataset4D(data, SAMPLING, energy=ENERGY, semiangle=SEMIANGLE,
                   detector_sampling=1 / (n_scan * SAMPLING), center=(n_det // 2, n_det // 2), aberrations=ab)
    return ds, phi


def streaming_fps(ds, chunk=1024, upsampling=1):
    cfg, s0 = streaming.streaming_parallax(ds, upsampling=upsampling)
    frames = jnp.asarray(np.asarray(ds.array).reshape(-1, *ds.detector_shape), jnp.float32)
    n = frames.shape[0]
    s = streaming.update(cfg, s0, frames[:chunk], jnp.arange(chunk))
    jax.block_until_ready(s.image)
    s = s0
    t0 = time.perf_counter()
    for i in range(0, n - chunk + 1, chunk):
        s = streaming.update(cfg, s, frames[i:i + chunk], jnp.arange(i, i + chunk))
    jax.block_until_ready(s.image)
    return n // chunk * chunk / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true", help="also run the lazy larger-than-budget case")
    ap.add_argument("--scan", type=int, default=128)
    ap.add_argument("--det", type=int, default=64)
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args(argv)
    rows, res = [], {}
    t0 = time.perf_counter()
    ds, phi = make(args.scan, args.det)
    res["simulation_s"] = time.perf_counter() - t0
    st = bright_field_stack(ds)
    res["n_bf"] = st.n_bf
    ab = ds.aberrations
    img = {}
    jt = {
        "ssb": _time(lambda: direct.ssb(st, ab)),
        "parallax": _time(lambda: direct.parallax(st, ab, flip=True)),
        "wdd": _time(lambda: wdd(ds, epsilon=1e-2)),
    }
    img["ssb"] = np.asarray(direct.ssb(st, ab))
    img["wdd"] = np.asarray(wdd(ds, epsilon=1e-2))
    peer = {}
    if not args.no_peer:
        try:
            import py4DSTEM

            t = time.perf_counter()
            p_ssb = py4d_run(py4DSTEM.process.phase.SSB, ds)
            peer["ssb"] = time.perf_counter() - t
            t = time.perf_counter()
            p_wdd = py4d_run(py4DSTEM.process.phase.WDD, ds, relative_wiener_epsilon=1e-2)
            peer["wdd"] = time.perf_counter() - t
            res["py4dstem_version"] = py4DSTEM.__version__
            res["corr_ssb_vs_py4dstem"] = float(np.corrcoef(p_ssb.ravel(), img["ssb"].ravel())[0, 1])
            res["corr_wdd_vs_py4dstem"] = float(np.corrcoef(p_wdd.ravel(), img["wdd"].ravel())[0, 1])
        except Exception as e:  # peer missing or broken: report, do not fail
            res["peer_error"] = repr(e)
    for m in ("ssb", "wdd", "parallax"):
        p = peer.get(m)
        rows.append((m, f"{args.scan}²×{args.det}²", jt[m], p if p else "n/a",
                     (p / jt[m]) if p else "n/a"))
    fps = streaming_fps(ds)
    res["streaming_parallax_fps"] = fps
    rows.append(("streaming parallax", f"{args.scan}²×{args.det}²", f"{fps:.0f} frames/s", "", ""))
    if args.full:
        res["lazy"] = lazy_case()
        rows.append(("lazy SSB (zarr, 256² scan)", "256²×64²", res["lazy"]["ssb_s"], "", ""))
        rows.append(("lazy streaming (dask)", "256²×64²", f"{res['lazy']['stream_fps']:.0f} frames/s", "", ""))
    res["jaxem_s"] = jt
    res["py4dstem_s"] = peer
    header = ("method", "size", "jaxem [s]", "py4DSTEM [s]", "speed-up")
    w = [28, 12, 16, 14, 10]
    print("  ".join(h.ljust(x) for h, x in zip(header, w)))
    for r in rows:
        print("  ".join((f"{c:.3g}" if isinstance(c, float) else str(c)).ljust(x) for c, x in zip(r, w)))
    out = Path(__file__).resolve().parent / "results" / "phase_retrieval.json"
    out.parent.mkdir(exist_ok=True)
    machine = {"python": platform.python_version(), "cpu_count": os.cpu_count(), "jax": jax.__version__,
               "backend": jax.default_backend()}
    atomic_write_text(out, json.dumps({"benchmark": "phase_retrieval", "machine": machine, **res}, indent=2) + "\n")
    print(f"wrote {out}")


def lazy_case(n_scan=256, n_det=64):
    """Write a 256²×64² float32 dataset (1 GiB) to zarr row block by row block, then process it lazily
    with a 64 MiB memory budget."""
    import dask.array as da

    from jaxem.phase.io import read_zarr, write_zarr

    os.environ["JAXEM_MEMORY_BUDGET"] = "64M"
    ab = Aberrations.create(C10=150.0)
    phi = white_noise_phase(n_scan, 0.01, 3)
    with tempfile.TemporaryDirectory() as tmp:
        # simulate 32 scan rows at a time (periodic object: rows are independent)
        rows = []
        for y0 in range(0, n_scan, 32):
            rows.append(da.from_delayed(_delayed_rows(phi, ab, y0, 32, n_det), (32, n_scan, n_det, n_det),
                                        np.float32))
        arr = da.concatenate(rows, 0)
        ds = Dataset4D(arr, SAMPLING, energy=ENERGY, semiangle=SEMIANGLE,
                       detector_sampling=1 / (n_scan * SAMPLING), center=(n_det // 2, n_det // 2), aberrations=ab)
        path = write_zarr(ds, Path(tmp) / "big.zarr", scan_chunks=(8, n_scan))
        lazy = read_zarr(path)
        t = time.perf_counter()
        st = bright_field_stack(lazy)
        direct.ssb(st, ab).block_until_ready()
        ssb_s = time.perf_counter() - t
        cfg, s0 = streaming.streaming_parallax(lazy, upsampling=1)
        t = time.perf_counter()
        streaming.stream_dask(cfg, s0, lazy.array)
        fps = n_scan * n_scan / (time.perf_counter() - t)
    os.environ.pop("JAXEM_MEMORY_BUDGET")
    return {"shape": [n_scan, n_scan, n_det, n_det], "ssb_s": ssb_s, "stream_fps": fps}


def _delayed_rows(phi, ab, y0, ny, n_det):
    import dask

    @dask.delayed
    def rows():
        # the scan rows y0…y0+ny of the periodic object: roll the object instead of the probe
        shifted = np.roll(phi, -y0, axis=0)
        full = simulate_4dstem(shifted, SAMPLING, ENERGY, SEMIANGLE, ab, crop=n_det, rows=ny)
        return full.astype(np.float32)

    return rows()


if __name__ == "__main__":
    main()
