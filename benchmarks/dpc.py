"""Benchmark: DPC / iCoM, jaxem vs py4DSTEM, on issue 20's dataset (the DPC rows of
``phase_retrieval.py``'s ``compare``, alone and with more care over the timing).

Dataset: ``phase_retrieval.py``'s issue-20 case — a white-noise weak phase object (σφ = 0.01 rad),
128² scan × 64² detector (float32, 268 MB), 300 kV, 20 mrad, C10 = −150 Å, 0.2 Å scan step
(simulated, ~40 s, or read from ``--cube FILE.npy`` written earlier with ``--save-cube``).
Correlation = with the true phase band-limited to |q| ≤ 2k_probe.

Like for like, from the raw cube: py4DSTEM 0.14.18's ``DPC`` (``preprocess`` with the rotation
forced to 0 and no transpose, then ``reconstruct``) computes the centre of mass of every pattern
from the cube and fits the descan plane inside the timed region; so do jaxem's ``dpc(ds,
rotation=0.0)`` (Wiener-regularised integration, descan plane) and ``icom(com_field(ds))``. Neither
is given a precomputed CoM; the dataset object (and py4DSTEM's DataCube, a view of the same array)
is built inside the timed call for py4DSTEM, outside for jaxem (``Dataset4D`` holds the array).

Timing: one warm-up each (compilation), then ``--rounds`` rounds in which the methods run one after
the other (interleaved, so a change of machine load hits all of them alike); reported: the median
wall time [s] per method, the process CPU time [s] per call (all threads; less sensitive to other
users of a shared machine than the wall time), the load average before and after, and the
speed-up = py4DSTEM's median wall time / jaxem's. Writes ``benchmarks/results/dpc.json``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _cube(args):
    import phase_retrieval as pr

    if args.cube and Path(args.cube).exists():
        return np.load(args.cube)
    full = pr.simulate_full(args.scan)
    c0 = args.scan // 2 - args.det // 2
    cube = np.ascontiguousarray(full[:, :, c0:c0 + args.det, c0:c0 + args.det])
    if args.save_cube:
        np.save(args.save_cube, cube)
    return cube


def methods(ds):
    """name → callable from the raw cube to the phase image (py4DSTEM's DPC as in phase_retrieval.py)."""
    import phase_retrieval as pr

    from jaxem.phase import com
    from jaxem.phase.com_integration import dpc

    return {"jaxem dpc": lambda: np.asarray(dpc(ds, rotation=0.0).image),
            "jaxem dpc (known aberrations)": lambda: np.asarray(dpc(ds, ds.aberrations, rotation=0.0).image),
            "jaxem icom": lambda: np.asarray(com.icom(com.com_field(ds), ds.scan_sampling)),
            "py4DSTEM dpc": pr.py4dstem_peers(ds, None)["dpc"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scan", type=int, default=128, help="scan (and object) size [px]")
    ap.add_argument("--det", type=int, default=64, help="detector crop [px]")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cube", default=None, help="read the cube from this .npy (simulated if absent)")
    ap.add_argument("--save-cube", default=None, help="write the simulated cube to this .npy")
    ap.add_argument("--results-name", default="dpc")
    args = ap.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)  # as phase_retrieval.py: float64 simulation, float32 data
    import phase_retrieval as pr
    from _common import print_table, write_results

    from jaxem.phase.synthetic import white_noise_phase

    cube = _cube(args)
    n = cube.shape[0]
    ds = pr._dataset(cube, cube.shape[-1], n)
    truth = pr._bandlimited(white_noise_phase(n, 0.01, 0))
    fns = methods(ds)
    corr = {k: pr._corr(f(), truth) for k, f in fns.items()}  # warm-up
    wall = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    load0 = os.getloadavg()
    for _ in range(args.rounds):
        for k, f in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            f()
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    load1 = os.getloadavg()
    med = {k: statistics.median(v) for k, v in wall.items()}
    ref = med["py4DSTEM dpc"]
    rows = [(k, f"{med[k]:.3f}", f"{statistics.median(cpu[k]):.3f}", f"{corr[k]:.3f}",
             "" if k.startswith("py4DSTEM") else f"{ref / med[k]:.1f}×") for k in fns]
    print(f"load average (1 min) before / after: {load0[0]:.1f} / {load1[0]:.1f}; {os.cpu_count()} CPUs; "
          f"backend {jax.default_backend()}")
    print_table(("method", "wall [s]", "CPU [s]", "corr", "speed-up vs py4DSTEM"), rows)
    import py4DSTEM

    res = {"dataset": f"{n}² scan × {cube.shape[-1]}² detector float32 ({cube.nbytes / 1e6:.0f} MB), 300 kV, "
                      f"20 mrad, C10 = {pr.C10} Å, white noise 0.01 rad",
           "py4dstem_version": py4DSTEM.__version__, "rounds": args.rounds,
           "wall_s": wall, "cpu_s": cpu, "median_wall_s": med, "corr": corr,
           "speedup_vs_py4dstem": {k: ref / med[k] for k in fns if not k.startswith("py4DSTEM")},
           "load_average_before": load0, "load_average_after": load1,
           "correlation": "with the true phase band-limited to |q| <= 2 k_probe"}
    print("wrote", write_results(args.results_name, res))


if __name__ == "__main__":
    main()
