"""STEM HAADF and frozen-phonon diffraction: jaxem vs abTEM in the same run, and peak memory vs N.

1. HAADF of SrTiO3 [001] (static potential): probe positions per second (warm, median of repeats); also
   with a thickness series (one exit plane per unit cell, recorded by the observer hook of the slice step).
2. 16-configuration frozen-phonon diffraction pattern (plane wave): wall time (warm).
3. Peak resident memory of the frozen-phonon run for N = 4, 8, 16, 32 configurations, each in a fresh
   process (it must stay flat in N: running sums, batches from the memory budget).

Usage: python benchmarks/stem_thermal.py [--cells N] [--nz NZ] [--scan S] [--no-abtem] [--abtem-device cpu|gpu]

On a GPU machine both codes run on the GPU (abTEM through CuPy) unless ``--abtem-device`` says
otherwise; ``benchmarks/gpu/README.md`` says how to run this on the lent device machine.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import median_time, print_table, write_results  # noqa: E402

A = 3.905
B = {"Sr": 0.62, "Ti": 0.44, "O": 0.73}

MEM_CODE = """
import resource, jax, json
from jaxem.structure import crystals
from jaxem.propagate import frozen_phonon_multislice, plane_wave
from jaxem import Beam, Grid
s = crystals.SrTiO3().repeat({n}, {n}, {nz})
g = Grid.from_extent(({n}*3.905, {n}*3.905), sampling=0.08, fft_friendly=True)
r = frozen_phonon_multislice(jax.random.key(0), s, plane_wave(g, Beam(300e3)), n_configs={N}, slice_thickness=3.905/2)
r.total_diffraction.block_until_ready()
print(json.dumps({{"peak_rss_MB": max([int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")] or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])}}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--nz", type=int, default=10)
    ap.add_argument("--scan", type=int, default=8, help="scan positions per axis over one unit cell")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-abtem", action="store_true")
    ap.add_argument("--abtem-device", choices=("cpu", "gpu"), default=None,
                    help="abTEM's device (default: gpu when JAX's default backend is a GPU, else cpu)")
    args = ap.parse_args()
    n, nz, ns = args.cells, args.nz, args.scan

    import jax
    import numpy as np

    from jaxem import Beam
    from jaxem.potential import potential
    from jaxem.propagate import frozen_phonon_multislice, plane_wave
    from jaxem.stem import AnnularDetector, GridScan, STEMSimulation, stem_scan
    from jaxem.structure import crystals

    beam = Beam(300e3)
    sto = crystals.SrTiO3().repeat(n, n, nz)
    pot = potential(sto, sampling=0.05, slice_thickness=A / 2)
    sim = STEMSimulation(beam, 20.0, (AnnularDetector(70.0, 125.0, "HAADF"),))
    scan = GridScan.create((0, 0), (A, A), gpts=(ns, ns))
    t_haadf = median_time(lambda: stem_scan(sim, scan, pot, progress=False), args.repeats)
    per_cell = max(1, pot.n_slices // nz)
    t_series = median_time(lambda: stem_scan(sim, scan, pot, exit_planes=per_cell, progress=False), args.repeats)
    grid = pot.grid  # the FFT-friendly grid potential() chose (sampling ≤ 0.05 Å)
    t_fp = median_time(lambda: frozen_phonon_multislice(jax.random.key(1), sto, plane_wave(grid, beam), n_configs=16,
                                                        slice_thickness=A / 2).total_diffraction.block_until_ready(),
                       max(1, args.repeats - 1))
    rows = [["jaxem HAADF positions/s", scan.n_positions / t_haadf],
            [f"jaxem HAADF positions/s, {nz}-plane thickness series", scan.n_positions / t_series],
            ["jaxem 16-config FP DP [s]", t_fp]]
    result = {"case": {"cells": [n, n, nz], "sampling_A": 0.05, "scan": [ns, ns], "energy_eV": 300e3},
              "jaxem": {"haadf_positions_per_s": scan.n_positions / t_haadf,
                        "haadf_series_positions_per_s": scan.n_positions / t_series, "fp16_seconds": t_fp}}

    if not args.no_abtem:
        import abtem
        import ase

        ab_device = args.abtem_device or ("gpu" if jax.default_backend() == "gpu" else "cpu")
        abtem.config.set({"progress_bar": False, "device": ab_device})
        atoms = ase.Atoms("SrTiOOO", scaled_positions=[[0, 0, 0], [.5, .5, .5], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]],
                          cell=[A, A, A], pbc=True) * (n, n, nz)
        ab_pot = abtem.Potential(atoms, gpts=pot.grid.gpts, slice_thickness=A / 2, projection="infinite")  # same grid
        probe = abtem.Probe(semiangle_cutoff=20.0, energy=300e3, soft=False)
        det = abtem.AnnularDetector(inner=70.0, outer=125.0)
        ab_scan = abtem.GridScan((0, 0), (A, A), gpts=(ns, ns), endpoint=False)
        t_ab = median_time(lambda: probe.scan(ab_pot, scan=ab_scan, detectors=det).compute(), max(1, args.repeats - 1))
        sigmas = {k: float(np.sqrt(v / (8 * np.pi**2))) for k, v in B.items()}
        fp = abtem.FrozenPhonons(atoms, num_configs=16, sigmas=sigmas, seed=1)
        ab_fp_pot = abtem.Potential(fp, gpts=pot.grid.gpts, slice_thickness=A / 2, projection="infinite")
        t_ab_fp = median_time(lambda: abtem.PlaneWave(energy=300e3).multislice(ab_fp_pot).diffraction_patterns().compute(),
                              max(1, args.repeats - 2))
        rows += [["abTEM HAADF positions/s", scan.n_positions / t_ab], ["abTEM 16-config FP DP [s]", t_ab_fp],
                 ["speed-up HAADF", t_ab / t_haadf], ["speed-up 16-config FP", t_ab_fp / t_fp]]
        result["abtem"] = {"haadf_positions_per_s": scan.n_positions / t_ab, "fp16_seconds": t_ab_fp,
                           "device": ab_device, "version": abtem.__version__}
        result["ratios"] = {"haadf": t_ab / t_haadf, "fp16": t_ab_fp / t_fp}

    mem = {}
    for N in (4, 8, 16, 32):
        out = subprocess.run([sys.executable, "-c", MEM_CODE.format(n=n, nz=nz, N=N)], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
        mem[N] = json.loads(out)["peak_rss_MB"]
        rows.append([f"peak RSS, N = {N} [MB]", mem[N]])
    result["peak_rss_MB_vs_N"] = mem
    print_table(["measurement", "value"], rows)
    print("wrote", write_results("stem_thermal", result))


if __name__ == "__main__":
    main()
