"""Scale-out overheads: (1) a STEM scan sharded over N fake host devices vs one device (same process
kind, same size), (2) Dask LocalCluster per-block overhead of the resumable 4D-STEM scan vs the
in-process run. Writes results/scaling.json with the machine's load.

    python benchmarks/scaling.py [--small]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_SHARD = r"""
import time, json, jax
from jaxem import parallel
from jaxem.potential import potential
from jaxem.stem import AnnularDetector, GridScan, STEMSimulation
from jaxem.structure import crystals
pot = potential(crystals.SrTiO3().repeat(2, 2, 4), sampling=0.1, slice_thickness=1.9525)
sim = STEMSimulation(300e3, 20.0, AnnularDetector(50.0, 90.0, "HAADF"))
scan = GridScan.create((0, 0), (7.81, 7.81), gpts=(GPTS, GPTS))
mesh = parallel.batch_mesh()
parallel.sharded_stem_scan(sim, scan, pot, mesh=mesh)
t = time.perf_counter(); [parallel.sharded_stem_scan(sim, scan, pot, mesh=mesh) for _ in range(3)]
print("T", json.dumps({"devices": len(jax.devices()), "s": (time.perf_counter() - t) / 3}))
"""


def sharded(n_dev, gpts):
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_dev}", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _SHARD.replace("GPTS", str(gpts))], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads([ln for ln in out.splitlines() if ln.startswith("T ")][-1][2:])


def dask_overhead(gpts):
    import distributed

    from jaxem.parallel import dask_stem_scan_to_zarr
    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, stem_scan_to_zarr
    from jaxem.structure import crystals

    pot = potential(crystals.SrTiO3().repeat(1, 1, 2), sampling=0.15, slice_thickness=1.9525)
    sim = STEMSimulation(300e3, 15.0, (PixelatedDetector(30.0), AnnularDetector(0.0, 15.0, "BF")))
    scan = GridScan.create((0, 0), (3.905, 3.905), gpts=(gpts, gpts))
    with tempfile.TemporaryDirectory() as d:
        stem_scan_to_zarr(Path(d) / "w.zarr", sim, scan, pot, block_rows=1, progress=False)  # compile
        t = time.perf_counter()
        stem_scan_to_zarr(Path(d) / "a.zarr", sim, scan, pot, block_rows=1, progress=False)
        t_local = time.perf_counter() - t
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as c, \
                distributed.Client(c) as client:
            dask_stem_scan_to_zarr(client, Path(d) / "w2.zarr", sim, scan, pot, block_rows=1)  # workers compile
            t = time.perf_counter()
            dask_stem_scan_to_zarr(client, Path(d) / "b.zarr", sim, scan, pot, block_rows=1)
            t_dask = time.perf_counter() - t
    return {"blocks": gpts, "in_process_s": t_local, "dask_2_workers_s": t_dask,
            "overhead_per_block_s": (t_dask - t_local / 2) / gpts}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    from benchmarks._common import write_results

    load0 = os.getloadavg()
    g = 8 if args.small else 24
    res = {"sharded_stem": [sharded(n, g) for n in (1, 2, 8)], "dask": dask_overhead(4 if args.small else 12),
           "load_before": load0, "load_after": os.getloadavg(), "small": args.small}
    one = res["sharded_stem"][0]["s"]
    for r in res["sharded_stem"]:
        r["overhead_vs_one_device"] = r["s"] / one
        print(f"{r['devices']} fake devices: {r['s']:.3f} s ({r['overhead_vs_one_device']:.2f}× one device)")
    print(json.dumps(res["dask"]))
    write_results("scaling", res)


if __name__ == "__main__":
    main()
