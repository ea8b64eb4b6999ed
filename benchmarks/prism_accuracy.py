"""PRISM's error vs f, cell size and thickness (issue 19): SrTiO3 [001], 300 kV, 20 mrad (hard aperture),
HAADF 55–83 mrad, 4D-STEM within 40 mrad, against probe-by-probe multislice on the same grid
(0.078 Å: 50 pixels per unit cell, one slice per cell as ``benchmarks/prism.py``).

For each case the errors are evaluated at a ``--scan`` × ``--scan`` raster of probe positions over one
unit cell by PRISM's own construction (:func:`jaxem.stem.prism_accuracy.prism_error_estimate` with
those positions: multislice of the probe built from every f-th plane wave, read in the L/f window,
which equals :func:`jaxem.stem.prism_scan` there — ``tests/stem/test_prism_accuracy.py``), so no
S-matrix of ~800 plane waves per case is needed; the model's default prediction (4 positions around
the cell's centre) is written beside it. Definitions: :mod:`jaxem.stem.prism_accuracy` (HAADF
max|ΔI|/max I; 4D relative L2 per pattern against the multislice pattern at PRISM's pixels,
"sampled" and "binned"). Results after every case; ``os.getloadavg()`` with each.

``--edge`` [mrad] gives the aperture a raised-cosine edge and ``--weighting fraction`` the HAADF detector
area-fraction pixel weights (the two parts of the thin-specimen floor, :mod:`jaxem.stem.prism_accuracy`);
rows are keyed by (cells, thickness, f, edge, weighting).

Usage: python benchmarks/prism_accuracy.py [--cells 4,8,12] [--nz 1,13,26,52] [--f 1,2,4,8] [--scan 4]
       [--edge 0] [--weighting centre]
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
    ap.add_argument("--cells", default="4,8,12")
    ap.add_argument("--nz", default="1,13,26,52")
    ap.add_argument("--f", default="1,2,4,8")
    ap.add_argument("--scan", type=int, default=4)
    ap.add_argument("--px", type=int, default=50, help="pixels per unit cell")
    ap.add_argument("--edge", type=float, default=0.0, help="aperture edge width [mrad]")
    ap.add_argument("--weighting", default="centre", choices=("centre", "fraction"))
    ap.add_argument("--name", default="prism_accuracy")
    args = ap.parse_args()
    import numpy as np

    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation
    from jaxem.stem.prism_accuracy import prism_error_estimate
    from jaxem.structure import crystals

    sim = STEMSimulation(300e3, 20.0, (AnnularDetector(55.0, 83.0, "HAADF", weighting=args.weighting),
                                       PixelatedDetector(40.0, name="4D")), edge_width=args.edge)
    result = {"case": {"structure": "SrTiO3 [001]", "energy_eV": 300e3, "semi_angle_mrad": 20.0, "aperture": "hard unless a row has edge_mrad > 0",
                       "haadf_mrad": [55.0, 83.0], "pattern_max_angle_mrad": 40.0, "pixels_per_cell": args.px,
                       "slice_thickness_A": A, "positions": f"{args.scan}x{args.scan} over one unit cell",
                       "method": "PRISM's construction at those positions vs multislice (prism_error_estimate)",
                       "precision": "float32"}, "rows": []}
    out = Path(__file__).resolve().parent / "results" / f"{args.name}.json"
    if out.exists():  # keep the rows of other cases from earlier runs
        import json

        try:
            result["rows"] = json.loads(out.read_text()).get("rows", [])
        except (ValueError, OSError):
            pass
    rows = []
    for cells in [int(c) for c in args.cells.split(",")]:
        for nz in [int(z) for z in args.nz.split(",")]:
            pot = potential(crystals.SrTiO3().repeat(cells, cells, nz), gpts=(cells * args.px,) * 2, slice_thickness=A)
            pos = GridScan.create((0.0, 0.0), (A, A), gpts=(args.scan, args.scan)).positions().reshape(-1, 2)
            pos = pos + np.asarray(pot.grid.extent) / 2  # the central unit cell (a Sr column at its corner)
            for f in [int(v) for v in args.f.split(",")]:
                if (cells * args.px) % f:
                    continue
                t0 = time.perf_counter()
                m = prism_error_estimate(sim, pot, f, positions=pos)
                t = time.perf_counter() - t0
                d = prism_error_estimate(sim, pot, f)
                row = {"cells": cells, "thickness_A": nz * A, "f": f, "window_A": cells * A / f,
                       "edge_mrad": args.edge, "weighting": args.weighting,
                       "haadf": m["haadf"], "pattern": m["pattern"], "pattern_binned": m["pattern_binned"],
                       "model_haadf": d["haadf"], "model_pattern": d["pattern"], "vacuum_extent_A": m["extent"],
                       "seconds": t, "load": os.getloadavg()}
                key = (cells, nz * A, f, args.edge, args.weighting)
                result["rows"] = [r for r in result["rows"] if (r["cells"], r["thickness_A"], r["f"],
                                                                r.get("edge_mrad", 0.0), r.get("weighting", "centre"))
                                  != key] + [row]
                rows.append([cells, f"{nz * A / 10:.1f}", f, f"{cells * A / f:.1f}", f"{m['haadf']:.4f}",
                             f"{d['haadf']:.4f}", f"{m['pattern']:.2e}", f"{m['pattern_binned']:.3f}",
                             f"{m['extent']:.1f}", f"{row['load'][0]:.1f}"])
                print(rows[-1], flush=True)
                write_results(args.name, result)
    print_table(["cells", "t [nm]", "f", "window [Å]", "HAADF err", "model (4 pos)", "4D sampled", "4D binned",
                 "vacuum extent [Å]", "load"], rows)
    print("wrote", write_results(args.name, result))


if __name__ == "__main__":
    main()
