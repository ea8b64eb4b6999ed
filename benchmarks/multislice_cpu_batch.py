"""Multislice on the CPU: the batch working-set cap (accel.CPU_WORKING_SET) before/after, and abTEM, in one run.

On the CPU backend, batched 2-D FFTs are cache-bound: a vmapped batch of many large waves runs slower per
wave than a small one. Since this change, ``stem_scan`` (multislice path), ``propagate.multislice`` /
``multislice_tilts`` and ``frozen_phonon_multislice`` cap their batch working set at
:func:`jaxem.accel.cpu_working_set` when no explicit ``memory_budget`` is given. The old behaviour (batch
from a quarter of the free memory) is forced in the same process with ``JAXEM_CPU_WORKING_SET=off``.

Cases (SrTiO3 [001], 300 kV, slices of a/2, ``--nz`` unit cells thick):

1. HAADF scan (``--scan``² positions over one unit cell) at each ``--gpts`` (e.g. 256, 512);
2. 4D-STEM (pixelated detector to 40 mrad) at the first ``--gpts``;
3. 16-configuration frozen-phonon plane-wave diffraction at the first ``--gpts``;
4. (``--hrtem``) a 16-tilt plane-wave series (``multislice_tilts``) and a 16-node HRTEM focal average at
   the last ``--gpts``, jaxem before/after only.

Part 0 (``--sweep``) times the HAADF scan (first ``--gpts``) per probe vs the batch (forced through an
explicit budget) to show where the optimum lies. Every timing is the minimum over ``--repeats`` runs, the three codes
interleaved (the machine is shared); the 1-minute load average is recorded with each number.

Usage: python benchmarks/multislice_cpu_batch.py [--gpts 256 512] [--nz 10] [--scan 8] [--repeats 3]
       [--sweep 1 2 4 8 16 64] [--no-abtem] [--hrtem | --hrtem-only]
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
B = {"Sr": 0.62, "Ti": 0.44, "O": 0.73}
ENV = "JAXEM_CPU_WORKING_SET"


def _timed(fns: dict, repeats: int) -> dict:
    """{name: (min wall [s], median load)} with the functions run round-robin after one warm-up each."""
    for f in fns.values():
        f()
    wall = {k: [] for k in fns}
    load = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            load[k].append(os.getloadavg()[0])
            t0 = time.perf_counter()
            f()
            wall[k].append(time.perf_counter() - t0)
    return {k: (min(wall[k]), sorted(load[k])[len(load[k]) // 2]) for k in fns}


def _with_cap(value, fn):
    """``fn`` run with the environment variable JAXEM_CPU_WORKING_SET = value (None: unset)."""
    def run():
        old = os.environ.get(ENV)
        if value is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = value
        try:
            return fn()
        finally:
            if old is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = old
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gpts", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--nz", type=int, default=10, help="unit cells along the beam (2 slices each)")
    ap.add_argument("--scan", type=int, default=8, help="probe positions per axis over one unit cell")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sweep", type=int, nargs="*", default=[], help="batches for the per-probe sweep (HAADF)")
    ap.add_argument("--no-abtem", action="store_true")
    ap.add_argument("--hrtem", action="store_true", help="also a 16-tilt plane-wave series and 16-node HRTEM focal "
                                                          "average at the last --gpts (jaxem before/after only)")
    ap.add_argument("--hrtem-only", action="store_true", help="only case 4 (results: multislice_cpu_batch_hrtem.json)")
    args = ap.parse_args()

    import jax
    import numpy as np

    from jaxem import Beam, accel
    from jaxem.potential import potential
    from jaxem.propagate import frozen_phonon_multislice, plane_wave
    from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, stem_scan
    from jaxem.stem.scanning import _WAVE_COPIES
    from jaxem.structure import crystals

    if jax.default_backend() != "cpu":
        print("note: the cap applies on the CPU backend only; on", jax.default_backend(), "before = after")
    beam = Beam(300e3)
    haadf = AnnularDetector(70.0, 125.0, "HAADF")
    scan = GridScan.create((0, 0), (A, A), gpts=(args.scan, args.scan))
    n_pos = scan.n_positions
    result = {"cpu_working_set_bytes": accel.CPU_WORKING_SET, "case": {"nz": args.nz, "scan": [args.scan] * 2,
              "energy_eV": 300e3, "slice_thickness_A": A / 2}, "load_average_1min_at_start": os.getloadavg()[0],
              "cases": []}
    rows = []

    if not args.no_abtem:
        import abtem
        import ase

        abtem.config.set({"progress_bar": False, "device": "cpu"})

    def structures(n_px):
        cells = max(1, round(n_px * 0.05 / A))
        sto = crystals.SrTiO3().repeat(cells, cells, args.nz)
        atoms = None
        if not args.no_abtem:
            atoms = ase.Atoms("SrTiOOO", scaled_positions=[[0, 0, 0], [.5, .5, .5], [.5, .5, 0], [.5, 0, .5],
                                                           [0, .5, .5]], cell=[A, A, A], pbc=True) * (cells, cells,
                                                                                                       args.nz)
        return sto, atoms

    def record(case, n_px, n_slices, per, timings, unit_n, unit):
        t_old, l_old = timings["jaxem before"]
        t_new, l_new = timings["jaxem after"]
        entry = {"case": case, "gpts": n_px, "n_slices": n_slices, "unit": unit,
                 "jaxem_before_s": t_old, "jaxem_after_s": t_new, "load_before": l_old, "load_after": l_new,
                 "batch_before": per[0], "batch_after": per[1], "after_over_before_speedup": t_old / t_new}
        rows.append([f"{case} {n_px}² jaxem before (batch {per[0]}) [{unit}]", t_old / unit_n, l_old])
        rows.append([f"{case} {n_px}² jaxem after (batch {per[1]}) [{unit}]", t_new / unit_n, l_new])
        if "abTEM" in timings:
            t_ab, l_ab = timings["abTEM"]
            entry.update(abtem_s=t_ab, load_abtem=l_ab, abtem_over_after=t_ab / t_new, abtem_over_before=t_ab / t_old)
            rows.append([f"{case} {n_px}² abTEM [{unit}]", t_ab / unit_n, l_ab])
            rows.append([f"{case} {n_px}² abTEM time / jaxem after (before)",
                         f"{t_ab / t_new:.2f} ({t_ab / t_old:.2f})", ""])
        rows.append([f"{case} {n_px}² after speed-up over before", f"{t_old / t_new:.2f}", ""])
        result["cases"].append(entry)

    def batches(per_item, n):
        old = accel.batch_size(per_item, n, memory_budget=accel.memory_budget())
        new = accel.batch_size(per_item, n, cpu_cap=accel.cpu_working_set())
        return old, new

    for i, n_px in enumerate([] if args.hrtem_only else args.gpts):
        sto, atoms = structures(n_px)
        pot = potential(sto, gpts=(n_px, n_px), slice_thickness=A / 2)
        per_position = _WAVE_COPIES * n_px * n_px * 8
        dets = [("HAADF", (haadf,))] + ([("4D-STEM", (PixelatedDetector(40.0),))] if i == 0 else [])
        for case, det in dets:
            sim = STEMSimulation(beam, 20.0, det)
            run = lambda sim=sim: stem_scan(sim, scan, pot, progress=False, method="multislice")  # noqa: E731
            fns = {"jaxem before": _with_cap("off", run), "jaxem after": _with_cap(None, run)}
            if atoms is not None:
                ab_pot = abtem.Potential(atoms, gpts=(n_px, n_px), slice_thickness=A / 2, projection="infinite")
                probe = abtem.Probe(semiangle_cutoff=20.0, energy=300e3, soft=False)
                ab_det = abtem.AnnularDetector(inner=70.0, outer=125.0) if case == "HAADF" else \
                    abtem.PixelatedDetector(max_angle=40.0)
                ab_scan = abtem.GridScan((0, 0), (A, A), gpts=(args.scan, args.scan), endpoint=False)
                fns["abTEM"] = lambda p=probe, ap=ab_pot, d=ab_det, s=ab_scan: p.scan(ap, scan=s, detectors=d).compute()
            record(case, n_px, pot.n_slices, batches(per_position, n_pos), _timed(fns, args.repeats), n_pos / 1e3,
                   "ms per probe")
        if args.sweep and i == 0:
            sim = STEMSimulation(beam, 20.0, (haadf,))
            fns = {b: (lambda b=b: stem_scan(sim, scan, pot, progress=False, method="multislice",
                                             memory_budget=int(b * per_position * 1.02))) for b in args.sweep}
            t = _timed(fns, args.repeats)
            sweep = [{"batch": b, "working_set_MiB": b * per_position / 2**20, "ms_per_probe": 1e3 * t[b][0] / n_pos,
                      "load": t[b][1]} for b in args.sweep]
            result.setdefault("sweep", []).append({"gpts": n_px, "n_slices": pot.n_slices, "rows": sweep})
            rows += [[f"sweep {n_px}² HAADF batch {s['batch']} ({s['working_set_MiB']:.0f} MiB) [ms per probe]",
                      s["ms_per_probe"], s["load"]] for s in sweep]
        if i == 0:  # 16-configuration frozen-phonon plane-wave diffraction
            grid = pot.grid
            fp = lambda: frozen_phonon_multislice(jax.random.key(1), sto, plane_wave(grid, beam), n_configs=16,  # noqa
                                                  slice_thickness=A / 2).total_diffraction.block_until_ready()
            fns = {"jaxem before": _with_cap("off", fp), "jaxem after": _with_cap(None, fp)}
            if atoms is not None:
                sig = {k: float(np.sqrt(v / (8 * np.pi**2))) for k, v in B.items()}
                ab_fp = abtem.Potential(abtem.FrozenPhonons(atoms, num_configs=16, sigmas=sig, seed=1),
                                        gpts=(n_px, n_px), slice_thickness=A / 2, projection="infinite")
                fns["abTEM"] = lambda: abtem.PlaneWave(energy=300e3).multislice(ab_fp).diffraction_patterns().compute()
            per_item = 8 * n_px * n_px * (3 * pot.n_slices + 12)
            record("FP 16 configs", n_px, pot.n_slices, batches(per_item, 16),
                   _timed(fns, max(1, args.repeats - 1)), 16, "s per config")

    if args.hrtem or args.hrtem_only:  # tilt series and HRTEM focal averaging (jaxem only: abTEM has no batch here)
        from jaxem.optics import Aberrations
        from jaxem.optics.imaging import hrtem_image
        from jaxem.propagate import multislice_tilts

        n_px = args.gpts[-1]
        sto, _ = structures(n_px)
        pot = potential(sto, gpts=(n_px, n_px), slice_thickness=A / 2)
        tilts = np.random.default_rng(1).uniform(-3, 3, (16, 2)).astype(np.float32)
        tilt_run = lambda: jax.block_until_ready(multislice_tilts(pot, beam, tilts))  # noqa: E731
        phase = np.random.default_rng(0).standard_normal((n_px, n_px)).astype(np.float32)
        exit_wave = plane_wave(pot.grid, beam)
        exit_wave = exit_wave.replace(array=np.exp(0.3j * phase).astype(np.complex64))
        img = lambda: jax.block_until_ready(hrtem_image(exit_wave, Aberrations(C10=-50.0, C30=-1e4),  # noqa: E731
                                                        focal_spread=30.0, objective_aperture=25.0, n_focal=16).array)
        for case, fn, n, per in (("tilt series 16 tilts", tilt_run, 16, 7 * n_px * n_px * 8),
                                 ("HRTEM focal average 16 nodes", img, 16, 4 * n_px * n_px * 8)):
            t = _timed({"jaxem before": _with_cap("off", fn), "jaxem after": _with_cap(None, fn)}, args.repeats)
            record(case, n_px, pot.n_slices, batches(per, n), t, n, "s per tilt/node")

    result["load_average_1min_at_end"] = os.getloadavg()[0]
    print_table(["measurement", "value", "load (1 min)"], rows)
    print("wrote", write_results("multislice_cpu_batch_hrtem" if args.hrtem_only else "multislice_cpu_batch", result))


if __name__ == "__main__":
    main()
