"""Vibrational-spectroscopy throughput: snapshots/s through the snapshot → Ψ(q) kernel
(jaxem.phonons.FrameKernel) at 256² and 512² against the two-FFT-per-slice floor, peak RSS of the
streamed kernel (frame_waves_to_zarr) vs the number of frames (must be flat), and the wall time of a
full Ni harmonic TACAW (≥ 1,000 frames).

Run: PYTHONPATH=. python benchmarks/phonon_spectroscopy.py [--small]
Writes benchmarks/results/phonon_spectroscopy.json with the 1-minute load average beside each number.
There is no peer code for this kernel (TACAW/FRFPMS peers are not installable here); the floor is the
cost of the two FFTs per slice every multislice step needs, timed in the same run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_time, print_table, write_results  # noqa: E402

RSS_CODE = """
import resource, sys, tempfile, numpy as np, json
import jax
from jaxem.grid import Grid
from jaxem.propagate import plane_wave
from jaxem.phonons import frame_waves_to_zarr
from jaxem.structure import crystals
s = crystals.crystal("Ni").repeat(4, 4, 2)
n = {n}
rng = np.random.default_rng(0)
class Frames:
    shape = (n, len(s), 3)
    def __getitem__(self, sl):
        k = range(*sl.indices(n))
        return np.asarray(s.positions)[None] + 0.05 * rng.standard_normal((len(k), len(s), 3))
grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(128, 128))
with tempfile.TemporaryDirectory() as d:
    frame_waves_to_zarr(d + "/w.zarr", s, plane_wave(grid, 200e3), Frames(), time_step=10.0, frames_per_chunk=32,
                        q_region=[[0.0, 0.0], [0.0, 4 / float(s.lengths[0])]], progress=False)
print(json.dumps({{"n": n, "peak_rss_MB": max([int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")] or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])}}))
"""


NOTE = ("The exact band-limited frozen-snapshot step needs per slice: the potential (structure-factor product on "
        "kx ≥ 0 + one real inverse FFT), exp(iσv), the 2/3-Nyquist band limit of t (two FFTs) and the propagation "
        "(two FFTs): about 4.5 FFT-equivalents + one complex exponential, i.e. ≈ 2.3–2.5× the two-FFT floor "
        "before any overhead; the 1.5× target is below what this exact algorithm can reach without changing "
        "results (e.g. dropping the band limit of t, which aliases).")


def load():
    return os.getloadavg()[0]


def throughput(gpts: int, n_frames: int, n_probes: int = 0):
    """Snapshots/s of the kernel and its ratio to the two-FFT floor of the same number of waves.

    ``n_probes`` = 0: one plane wave per snapshot (every snapshot's transmission functions are used
    once); else a STEM line scan of ``n_probes`` focused probes per snapshot (20 mrad, 200 kV), the
    spectrum-image case, where each snapshot's transmission functions serve all its probes."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxem import accel
    from jaxem.grid import Grid
    from jaxem.optics import probe
    from jaxem.phonons import FrameKernel
    from jaxem.propagate import plane_wave, waves_from_array
    from jaxem.structure import crystals

    reps = max(1, round(gpts * 0.05 / 3.52))  # cell sized for ≈ 0.05 Å pixels
    s = crystals.crystal("Ni").repeat(reps, reps, 2)
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(gpts, gpts))
    if n_probes:
        ly, lx = grid.extent
        pos = np.stack([np.full(n_probes, ly / 2), np.linspace(lx / 4, 3 * lx / 4, n_probes)], -1)
        waves = waves_from_array(probe(grid, 200e3, 20.0, positions=pos), grid, 200e3, norm=1.0)
    else:
        waves = plane_wave(grid, 200e3)
    k = FrameKernel(s, waves, slice_thickness=1.76)
    rng = np.random.default_rng(0)
    frames = np.asarray(s.positions)[None] + 0.05 * rng.standard_normal((n_frames, len(s), 3))
    l0 = load()
    k_batch = int(accel.batch_size(k.bytes_per_frame(), n_frames, None, cpu_cap=accel.cpu_working_set()))
    n_slices = len(k.layout.sequence)
    n_waves = n_frames * max(1, n_probes)
    x = jnp.asarray(rng.standard_normal((n_waves, gpts, gpts)) + 1j * rng.standard_normal((n_waves, gpts, gpts)),
                    jnp.complex64)

    def pairs(a):  # the two FFTs per slice every multislice step needs, nothing else
        for _ in range(n_slices):
            a = jnp.fft.ifft2(jnp.fft.fft2(a) * 1.0001)
        return a

    # the floor at its own best batch (the FFTs are cache-bound on a CPU: a fair floor is not a big batch)
    floor_fns = {b: jax.jit(lambda a, b=b: jax.lax.map(pairs, a, batch_size=b)) for b in sorted({1, 4, n_waves})}
    floors = {b: median_time(lambda f=f: jax.block_until_ready(f(x)), repeats=3) for b, f in floor_fns.items()}
    best = min(floors, key=floors.get)

    def kernel():
        jax.block_until_ready(k(frames))

    def floor():
        jax.block_until_ready(floor_fns[best](x))

    kernel(), floor()  # compiled
    # interleaved rounds: on a loaded shared machine the ratio of neighbouring runs is the stable number
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter(); kernel(); tk = time.perf_counter() - t0  # noqa: E702
        t0 = time.perf_counter(); floor(); tf = time.perf_counter() - t0  # noqa: E702
        rounds.append((tk, tf))
    tk = statistics.median(r[0] for r in rounds)
    tf = statistics.median(r[1] for r in rounds)
    ratio = statistics.median(r[0] / r[1] for r in rounds)
    return {"mode": f"STEM, {n_probes} probes per snapshot" if n_probes else "plane wave",
            "gpts": gpts, "atoms": len(s), "slices": n_slices, "frames": n_frames, "probes": n_probes,
            "snapshots_per_s": n_frames / tk, "waves_per_s": n_waves / tk, "floor_waves_per_s": n_waves / tf,
            "ratio_to_floor": ratio,
            "ratio_rounds": [a / b for a, b in rounds], "floor_s_by_batch": {str(b): v for b, v in floors.items()},
            "floor_batch": best, "kernel_batch": k_batch, "load_1min": [l0, load()]}


def ni_tacaw(n_frames: int):
    import jax

    from jaxem.grid import Grid
    from jaxem.phonons import FrameKernel, harmonic_phonons, mode_projector, modal, tacaw_spectrum
    from jaxem.propagate import plane_wave
    from jaxem.structure import Structure

    jax.config.update("jax_enable_x64", True)
    a, r2 = 3.52, math.sqrt(2)
    uc = Structure.create([[0, 0, 0], [a / 2, a / (2 * r2), a / (2 * r2)]], ["Ni", "Ni"], [a, a / r2, a / r2])
    l0 = load()
    t0 = time.perf_counter()
    h = harmonic_phonons(uc, (4, 2, 1), potential="Ni")
    p = mode_projector(h, "float64")
    s = h.supercell
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(48, 96))
    k = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]))
    traj = modal.harmonic_trajectory(jax.random.PRNGKey(0), p, 300, n_frames, 10.0)
    spec = tacaw_spectrum(k(traj), 10.0, temperature=300)
    jax.block_until_ready(spec.intensity)
    return {"frames": n_frames, "atoms": len(s), "gpts": list(grid.gpts), "bin_meV": spec.bin_width,
            "wall_s": time.perf_counter() - t0, "load_1min": [l0, load()]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="small sizes (a functional check)")
    args = ap.parse_args()
    sizes = ([(64, 4, 0), (128, 4, 0), (64, 2, 8)] if args.small else
             [(256, 16, 0), (512, 8, 0), (256, 4, 64), (512, 2, 32)])
    thr = [throughput(g, n, p) for g, n, p in sizes]
    print_table(["mode", "gpts", "atoms", "slices", "snapshots/s", "waves/s", "floor waves/s", "ratio", "load"],
                [[r["mode"], r["gpts"], r["atoms"], r["slices"], r["snapshots_per_s"], r["waves_per_s"],
                  r["floor_waves_per_s"], r["ratio_to_floor"], f"{r['load_1min'][0]:.1f}"] for r in thr])
    rss = []
    for n in ((32, 128) if args.small else (128, 1024)):
        l0 = load()
        out = subprocess.run([sys.executable, "-c", RSS_CODE.format(n=n)], check=True, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["load_1min"] = [l0, load()]
        rss.append(r)
    print_table(["frames", "peak RSS [MB]"], [[r["n"], r["peak_rss_MB"]] for r in rss])
    tac = ni_tacaw(256 if args.small else 1024)
    print("Ni harmonic TACAW:", tac)
    path = write_results("phonon_spectroscopy", {"small": args.small, "throughput": thr, "streamed_rss": rss,
                                                  "ni_tacaw": tac, "target": "≤ 1.5× the two-FFT floor",
                                                  "note": NOTE})
    print("wrote", path)


if __name__ == "__main__":
    main()
