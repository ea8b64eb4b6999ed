"""PRISM's HAADF floor from detector pixelation (issue 19): hard pixel inclusion vs area-fraction
weights, against multislice and a continuum reference.

At f, PRISM's patterns lie on a reciprocal grid f times coarser than multislice's, so an annular
detector that includes a pixel when its centre lies in the annulus integrates a differently pixelated
annulus. Weighting each pixel by the fraction of its area inside the annulus (exact, analytic:
:func:`jaxem.stem.detectors.annulus_fractions`) makes the integrated area exact on both grids. For
each case this script evaluates, at a ``--scan`` × ``--scan`` raster over one unit cell:

* ``ms``: multislice of the exact probe (fine grid, the cell's k-sampling);
* ``prism``: PRISM's construction at f (the probe from every f-th plane wave, read in the L/f
  window; equals ``prism_scan`` there, ``tests/stem/test_prism_accuracy.py``);
* ``cont``: the continuum reference ∫_annulus |Ψ(k)|² d²k: multislice in a supercell ``--up`` times
  larger per axis (same sampling and probe positions; k-sampling ``--up`` times finer), area-fraction
  weights (its centre-weighted value is written beside it: the reference's own pixelation).

PRISM at f with the window L/f is, for this crystal (periodic with the window), multislice in a cell of
L/f: the three are the same calculation at k-samplings f/L, 1/L and 1/(up·L).

HAADF errors as :func:`jaxem.stem.prism_accuracy.image_error` (max|ΔI|/max I_ref over the raster) for
hard and fractional detectors: PRISM vs multislice (both hard = the current definition; both
fractional), and each vs the continuum. SrTiO3 [001], 300 kV, 20 mrad, HAADF 55–83 mrad, 50 pixels per
unit cell, one slice per cell, as ``benchmarks/prism_accuracy.py``.

Usage: python benchmarks/prism_pixelation.py [--cells 8] [--nz 1,26,52] [--f 2,4] [--scan 4] [--up 2]
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


def _reference(sim, cells, nz, px, up, rel, detectors):
    """HAADF (per detector) of multislice in a supercell ``up`` times larger per axis (the same crystal
    and sampling, the same probe positions ``rel`` relative to the central unit cell): its k-sampling is
    ``up`` times finer, so its sums approach the continuum integral ∫_annulus |Ψ(k)|² d²k of the probe
    in the infinite crystal."""
    import numpy as np

    from jaxem.optics.probes import probe_transfer
    from jaxem.potential import potential
    from jaxem.stem.prism_accuracy import _exit_waves, _window_patterns
    from jaxem.structure import crystals

    big = cells * up
    pot = potential(crystals.SrTiO3().repeat(big, big, nz), gpts=(big * px,) * 2, slice_thickness=A)
    pos = rel + np.asarray(pot.grid.extent) / 2
    pk = np.asarray(probe_transfer(pot.grid, sim.beam, sim.semi_angle, sim.aberrations, sim.edge_width)).astype(complex)
    dp = _window_patterns(_exit_waves(sim, pot, pk, pos), pos, pot.grid, (1, 1))
    return {d.weighting: np.asarray(d.apply(d.prepare(sim.beam, pot.grid), dp), np.float64) for d in detectors}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", default="8")
    ap.add_argument("--nz", default="1,26,52")
    ap.add_argument("--f", default="2,4")
    ap.add_argument("--scan", type=int, default=4)
    ap.add_argument("--px", type=int, default=50)
    ap.add_argument("--up", type=int, default=2)
    ap.add_argument("--edge", type=float, default=0.0, help="aperture edge width [mrad] (0: hard)")
    ap.add_argument("--name", default="prism_pixelation")
    args = ap.parse_args()
    import numpy as np

    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, GridScan, STEMSimulation
    from jaxem.stem.prism import window_grid
    from jaxem.stem.prism_accuracy import _exit_waves, _window_patterns, image_error, window_leakage
    from jaxem.optics.probes import probe_transfer
    from jaxem.structure import crystals

    hard = AnnularDetector(55.0, 83.0, "HAADF")
    frac = AnnularDetector(55.0, 83.0, "HAADF", weighting="fraction")
    sim = STEMSimulation(300e3, 20.0, (hard,), edge_width=args.edge)
    beam = sim.beam
    result = {"case": {"structure": "SrTiO3 [001]", "energy_eV": 300e3, "semi_angle_mrad": 20.0, "aperture_edge_mrad": args.edge,
                       "haadf_mrad": [55.0, 83.0], "pixels_per_cell": args.px, "slice_thickness_A": A,
                       "positions": f"{args.scan}x{args.scan} over one unit cell", "upsampling": args.up,
                       "precision": "float32 multislice, float64 detector sums"}, "rows": []}
    out = Path(__file__).resolve().parent / "results" / f"{args.name}.json"
    if out.exists():  # keep the rows of other cases (edge widths) from earlier runs
        import json

        try:
            result["rows"] = [r for r in json.loads(out.read_text()).get("rows", []) if "edge_mrad" in r]
        except (ValueError, OSError):
            pass
    rows = []
    for cells in [int(c) for c in args.cells.split(",")]:
        for nz in [int(z) for z in args.nz.split(",")]:
            t0 = time.perf_counter()
            pot = potential(crystals.SrTiO3().repeat(cells, cells, nz), gpts=(cells * args.px,) * 2, slice_thickness=A)
            grid = pot.grid
            pos = GridScan.create((0.0, 0.0), (A, A), gpts=(args.scan, args.scan)).positions().reshape(-1, 2)
            pos = pos + np.asarray(grid.extent) / 2
            pk = np.asarray(probe_transfer(grid, beam, sim.semi_angle, sim.aberrations, sim.edge_width)).astype(complex)
            ex = _exit_waves(sim, pot, pk, pos)
            ms_dp = _window_patterns(ex, pos, grid, (1, 1))
            ms = {d.weighting: np.asarray(d.apply(d.prepare(beam, grid), ms_dp), np.float64) for d in (hard, frac)}
            ref = _reference(sim, cells, nz, args.px, args.up, pos - np.asarray(grid.extent) / 2, (hard, frac))
            cont = ref["fraction"]
            for f in [int(v) for v in args.f.split(",")]:
                mask = np.zeros(grid.gpts, bool)
                mask[::f, ::f] = True
                pr_dp = _window_patterns(_exit_waves(sim, pot, np.where(mask, pk, 0), pos), pos, grid, (f, f))
                wg = window_grid(grid, (f, f))
                pr = {d.weighting: np.asarray(d.apply(d.prepare(beam, wg), pr_dp), np.float64) for d in (hard, frac)}
                row = {"cells": cells, "thickness_A": nz * A, "f": f, "edge_mrad": args.edge,
                       "window_leakage": window_leakage(sim, grid, nz * A, f),
                       "prism_vs_ms_hard": image_error(pr["centre"], ms["centre"]),
                       "prism_vs_ms_fraction": image_error(pr["fraction"], ms["fraction"]),
                       "prism_fraction_vs_ms_hard": image_error(pr["fraction"], ms["centre"]),
                       "prism_hard_vs_cont": image_error(pr["centre"], cont),
                       "prism_fraction_vs_cont": image_error(pr["fraction"], cont),
                       "ms_hard_vs_cont": image_error(ms["centre"], cont),
                       "ms_fraction_vs_cont": image_error(ms["fraction"], cont),
                       "ref_centre_vs_fraction": image_error(ref["centre"], cont),
                       "haadf_max": float(cont.max()), "seconds": time.perf_counter() - t0, "load": os.getloadavg()}
                result["rows"] = [r for r in result["rows"] if (r["cells"], r["thickness_A"], r["f"], r["edge_mrad"]) !=
                                  (cells, nz * A, f, args.edge)] + [row]
                rows.append([cells, f"{nz * A / 10:.1f}", f] + [f"{100 * row[k]:.3f}" for k in (
                    "prism_vs_ms_hard", "prism_vs_ms_fraction", "prism_fraction_vs_ms_hard", "prism_hard_vs_cont",
                    "prism_fraction_vs_cont", "ms_hard_vs_cont", "ms_fraction_vs_cont")] + [f"{row['load'][0]:.1f}"])
                print(rows[-1], flush=True)
                write_results(args.name, result)
    print_table(["cells", "t [nm]", "f", "P−M hard %", "P−M frac %", "Pfrac−Mhard %", "P hard−C %", "P frac−C %",
                 "M hard−C %", "M frac−C %", "load"], rows)
    print("wrote", write_results(args.name, result))


if __name__ == "__main__":
    main()
