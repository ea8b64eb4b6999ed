"""PRISM's batch caps on the CPU (issue 19): time per probe position of a warm ``prism_scan`` against
the bytes one chunk of scan rows holds (its detector signals) and the bytes one batch of reduction
tiles holds, with everything else fixed. The caps in :mod:`jaxem.stem.prism_memory`
(:data:`~jaxem.stem.prism_memory.CHUNK_CAP`, ``TILE_CAP_FACTOR``) are chosen from this table; they keep
the batch shapes independent of the free memory on the CPU (no recompilation between calls).

Case: SrTiO3 [001] 4 × 4 cells, 2 nm, 300 kV, 20 mrad, f = 2, HAADF + a 4D-STEM detector (bin 1)
whose reach ``--pattern`` [mrad] sets the signal bytes per position; a ``--scan`` × ``--scan`` raster.

Usage: python benchmarks/prism_batches.py [--chunk 1M,24M,512M] [--tile 16M,64M,256M] [--scan 32]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import print_table, write_results  # noqa: E402

A = 3.905


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunk", default="1M,24M,512M", help="CHUNK_CAP values")
    ap.add_argument("--tile", default="16M,64M,256M", help="tile caps (TILE_CAP_FACTOR × working set)")
    ap.add_argument("--scan", type=int, default=32)
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--px", type=int, default=40, help="pixels per unit cell")
    ap.add_argument("--pattern", type=float, default=80.0, help="4D detector reach [mrad]")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import numpy as np

    import jaxem.stem.prism_memory as pm
    import jaxem.stem.prism_run as pr
    from jaxem import accel
    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, prism_scan
    from jaxem.structure import crystals

    sim = STEMSimulation(300e3, 20.0, (AnnularDetector(55.0, 83.0, "HAADF"),
                                       PixelatedDetector(args.pattern, name="4D")))
    c = args.cells
    pot = potential(crystals.SrTiO3().repeat(c, c, 5), gpts=(c * args.px,) * 2, slice_thickness=A)
    scan = GridScan.create((0.0, 0.0), (2 * A, 2 * A), gpts=(args.scan, args.scan))
    seen = {}
    real = pr.prism_batches

    def spy(per_tile, tiles_shape, row_bytes, s_bytes, memory_budget=None):
        out = real(per_tile, tiles_shape, row_bytes, s_bytes, memory_budget)
        seen.update(per_tile=per_tile, row_bytes=row_bytes, tiles_shape=tuple(tiles_shape), batches=out)
        return out

    pr.prism_batches = spy
    ws = accel.cpu_working_set()
    default = (pm.CHUNK_CAP, pm.TILE_CAP_FACTOR)  # the other cap while one is varied

    def run():
        t0 = time.perf_counter()
        prism_scan(sim, scan, pot, interpolation=2, progress=False)
        return time.perf_counter() - t0

    rows, result = [], {"case": {"structure": f"SrTiO3 [001] {c}x{c} cells, 5 cells thick", "energy_eV": 300e3,
                                 "semi_angle_mrad": 20.0, "f": 2, "scan": [args.scan] * 2, "gpts": pot.grid.gpts,
                                 "pattern_mrad": args.pattern, "precision": "float32"}, "rows": []}
    settings = [("chunk", v) for v in args.chunk.split(",")] + [("tile", v) for v in args.tile.split(",")]

    def configure(what, v):
        cap = accel.parse_bytes(v, what)
        pm.CHUNK_CAP = cap if what == "chunk" else default[0]
        pm.TILE_CAP_FACTOR = default[1] if what == "chunk" else cap / ws
        return cap

    for what, v in settings:  # compile every setting first
        configure(what, v)
        run()
    times = {s: [] for s in settings}
    for _ in range(args.repeats):  # interleaved: the machine's load drifts over the run
        for s in settings:
            configure(*s)
            times[s].append(run())
    for what, v in settings:
        cap = configure(what, v)
        run()
        tb, rpc = seen["batches"]
        best = min(times[(what, v)])
        row = {"varied": what, "cap_bytes": cap, "tile_batch": tb, "rows_per_chunk": rpc,
               "chunk_bytes": rpc * seen["row_bytes"], "tile_batch_bytes": tb * seen["per_tile"],
               "n_chunks": -(-seen["tiles_shape"][0] // rpc), "s_per_position": best / scan.n_positions,
               "s_per_position_median": float(np.median(times[(what, v)])) / scan.n_positions,
               "load": os.getloadavg()}
        result["rows"].append(row)
        rows.append([what, v, tb, rpc, f"{row['chunk_bytes'] / 2**20:.1f}", f"{row['tile_batch_bytes'] / 2**20:.1f}",
                     f"{1e3 * row['s_per_position']:.3f}", f"{1e3 * row['s_per_position_median']:.3f}",
                     f"{row['load'][0]:.1f}"])
        print(rows[-1], flush=True)
    print_table(["varied", "cap", "tiles/batch", "rows/chunk", "chunk [MiB]", "tile batch [MiB]", "ms/position (min)",
                 "(median)", "load"], rows)
    print("wrote", write_results("prism_batches", result))


if __name__ == "__main__":
    main()
