"""Multislice ptychography: jaxem vs py4DSTEM 0.14.18 on one jaxem-simulated thick SrTiO3 dataset.

Data: SrTiO3 [001], 2×2 cells, ``--layers`` unit cells thick (26 = 10.2 nm), 300 kV, 20 mrad, 12×12
probe positions over the periodic cell, detector to 45 mrad, Poisson noise at ``--dose`` e⁻/Å²
(default 1e5). Both codes get the same patterns, positions and probe (same aberrations), the same
number of slices and slice thickness, and run in the same process one after the other. The error is
the same number for both: Σ(√I_model − √I)² / ΣI over all detector pixels (py4DSTEM's ``error``,
computed during each iteration; jaxem's amplitude error of the epoch). Reported per code: the error
and wall time after every chunk of iterations, the converged error (last value), the first time each
code comes within 1 % of py4DSTEM's converged error, and jaxem's per-slice phase correlation with
the true slice potentials (plus SSB / parallax / iCoM correlations with the total phase).

jaxem runs its schedule twice in the process: ``cold`` (the first time, every compile included) and
``warm`` (the same schedule again: compiled code only; the compile count of each run is recorded, 0
expected for the warm one). The per-slice correlations are given three ways: on the full object grid,
with the truth low-passed to the information limit θ_max/λ of the data (the detector edge), and
resampled to the scan grid (the band on which the direct methods are scored). Note that in a perfect
crystal every slice block holds the same atoms, so all slice truths are the same image.

Run: ``python benchmarks/ptychography.py [--layers 26] [--iters 200] [--start vacuum|icom] [--quick]``; writes
``benchmarks/results/ptychography.json`` with the machine load.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_results  # noqa: E402


def _compile_counter():
    """Number of XLA backend compilations so far (jax.monitoring)."""
    from jax import monitoring

    count = [0]

    def listener(event, duration, **kw):
        if event == "/jax/core/compile/backend_compile_duration":
            count[0] += 1

    monitoring.register_event_duration_secs_listener(listener)
    return count


def run_jaxem(ds, pot, n_slices, iters, chunk, kz, warm_start, compiles, start="vacuum"):
    """One schedule of ``iters`` epochs in chunks; rows (epochs, cumulative wall s, error)."""
    from jaxem import ptycho

    depth = len(pot.sequence) * pot.slice_thickness
    kw = dict(n_slices=n_slices, slice_thickness=depth / n_slices, progress=False, batch=12, rate_object=0.03,
              kz=kz, aberrations=ds.aberrations)
    rows, state, t_total = [], None, 0.0
    c0 = compiles[0]
    t0 = time.perf_counter()
    data = ptycho.prepare(ds, object_extent=(1 / ds.detector_sampling[0], 1 / ds.detector_sampling[1]))
    t_total += time.perf_counter() - t0
    for done in range(0, iters, chunk):
        t0 = time.perf_counter()
        first = {} if state is not None else {"start": start}
        res = ptycho.reconstruct(data, iterations=chunk, state=state,
                                 warm_start=warm_start if state is None else 0, **first, **kw)
        t_total += time.perf_counter() - t0
        state = res.state
        rows.append((done + chunk, t_total, float(res.history[-1, 3])))
    corr = {}
    for label, ma in (("full object grid", None), ("information limit (detector edge)", ptycho.information_limit(ds))):
        truth = ptycho.true_slice_phases(pot, ds.beam, n_slices, res.object.shape[1:], max_angle=ma)
        corr[label] = ptycho.slice_correlations(res.object, truth)
    truth = ptycho.true_slice_phases(pot, ds.beam, n_slices, ds.scan_shape)
    corr["scan grid (as the direct methods)"] = ptycho.slice_correlations(
        ptycho.fourier_resample(np.asarray(res.object.array), ds.scan_shape), truth)
    return rows, res, corr, compiles[0] - c0


def run_py4dstem(ds, n_slices, depth, iters, chunk):
    import py4DSTEM

    dc = ds.to_py4dstem()
    ms = py4DSTEM.process.phase.MultislicePtychography(
        energy=ds.energy, num_slices=n_slices, slice_thicknesses=depth / n_slices, datacube=dc,
        semiangle_cutoff=ds.semiangle, polar_parameters={"C10": float(ds.aberrations.C10)},
        object_padding_px=(0, 0), device="cpu", verbose=False, object_type="potential")
    ms.preprocess(plot_center_of_mass=False, plot_rotation=False, plot_probe_overlaps=False,
                  force_com_rotation=0.0, force_com_transpose=False, fit_function="constant")
    rows, t_total = [], 0.0
    for done in range(0, iters, chunk):
        t0 = time.perf_counter()
        ms.reconstruct(num_iter=chunk, reset=(done == 0), progress_bar=False, max_batch_size=12,
                       gaussian_filter=False, butterworth_filter=False, tv_denoise=False,
                       tv_denoise_chambolle=False, kz_regularization_filter=False, object_positivity=False)
        t_total += time.perf_counter() - t0
        rows.append((done + chunk, t_total, float(ms.error)))
    return rows


def first_within(rows, target):
    for it, t, e in rows:
        if e <= target:
            return it, t
    return None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--layers", type=int, default=26)
    ap.add_argument("--slices", type=int, default=8)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--chunk", type=int, default=10)
    ap.add_argument("--dose", type=float, default=1e5)
    ap.add_argument("--scan", type=int, default=12, help="probe positions per side")
    ap.add_argument("--kz", type=float, default=1.0, help="jaxem depth regularisation weight")
    ap.add_argument("--warm-start", type=int, default=0, help="jaxem single-slice epochs first")
    ap.add_argument("--quick", action="store_true", help="4 layers, 20 iterations (checks the script)")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--start", default="vacuum", choices=("vacuum", "icom", "auto"),
                    help="jaxem's starting object (vacuum = py4DSTEM's start, the like-for-like default)")
    a = ap.parse_args()
    if a.quick:
        a.layers, a.iters, a.chunk, a.slices = 4, 20, 5, 2
    from jaxem import ptycho

    load0 = os.getloadavg()
    compiles = _compile_counter()
    t0 = time.perf_counter()
    ds, pot = ptycho.simulate_crystal("300 kV", n_layers=a.layers, dose=a.dose, scan_gpts=a.scan)
    t_sim = time.perf_counter() - t0
    depth = len(pot.sequence) * pot.slice_thickness
    direct = ptycho.compare_methods(ds, pot, ptychography=False)["correlations"]
    # cold: the first schedule in this process (includes every compile); warm: the same schedule again
    cold_rows, _, _, cold_compiles = run_jaxem(ds, pot, a.slices, a.iters, a.chunk, a.kz, a.warm_start, compiles,
                                               a.start)
    jx_rows, res, corr, warm_compiles = run_jaxem(ds, pot, a.slices, a.iters, a.chunk, a.kz, a.warm_start,
                                                  compiles, a.start)
    peer_rows = [] if a.no_peer else run_py4dstem(ds, a.slices, depth, a.iters, a.chunk)
    target = peer_rows[-1][2] * 1.01 if peer_rows else None
    jx_hit = first_within(jx_rows, target) if target else (None, None)
    cold_hit = first_within(cold_rows, target) if target else (None, None)
    peer_hit = first_within(peer_rows, target) if target else (None, None)
    payload = {
        "dataset": {"specimen": "SrTiO3 [001]", "thickness_A": depth, "energy_eV": ds.energy,
                    "semiangle_mrad": ds.semiangle, "scan": list(ds.scan_shape), "detector": list(ds.detector_shape),
                    "dose_e_per_A2": a.dose, "slices": a.slices, "simulation_s": t_sim},
        "jaxem": {"settings": {"kz": a.kz, "warm_start": a.warm_start, "start": a.start, "batch": 12,
                               "rate_object": 0.03},
                  "rows_cold": cold_rows, "compiles_cold": cold_compiles,
                  "rows_warm": jx_rows, "compiles_warm": warm_compiles,
                  "converged_error": jx_rows[-1][2], "slice_correlations": corr,
                  "within_1pct_of_peer_cold": {"iterations": cold_hit[0], "seconds": cold_hit[1]},
                  "within_1pct_of_peer_warm": {"iterations": jx_hit[0], "seconds": jx_hit[1]}},
        "py4dstem": {"rows": peer_rows, "converged_error": peer_rows[-1][2] if peer_rows else None,
                     "within_1pct_of_own": {"iterations": peer_hit[0], "seconds": peer_hit[1]}},
        "direct_correlations": direct,
        "load_average": {"start": load0, "end": os.getloadavg()},
    }
    path = write_results("ptychography", payload, quick=a.quick)
    print_table(("code", "iterations", "wall [s]", "error"),
                [("jaxem (cold)", r[0], r[1], r[2]) for r in cold_rows[-1:]]
                + [("jaxem (warm)", r[0], r[1], r[2]) for r in jx_rows[-1:]]
                + [("py4DSTEM", r[0], r[1], r[2]) for r in peer_rows[-1:]])
    print("within 1 % of py4DSTEM's converged error: jaxem cold", cold_hit, "warm", jx_hit, "py4DSTEM", peer_hit)
    print("compiles: cold", cold_compiles, "warm", warm_compiles)
    print("jaxem slice correlations", {k: np.round(v, 3).tolist() for k, v in corr.items()})
    print("direct", {k: round(v, 3) for k, v in direct.items()})
    print("written", path)


if __name__ == "__main__":
    main()
