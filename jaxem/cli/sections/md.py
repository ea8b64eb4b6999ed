"""Demo: molecular-dynamics snapshots for frozen phonons — a short LAMMPS Tersoff run (or a shipped
dump when LAMMPS is missing), mean-square displacements per species, B(MD) vs tabulated Debye–Waller
factors, and the projected potential of one snapshot."""
from __future__ import annotations

from pathlib import Path

TITLE = "MD snapshots: LAMMPS Tersoff runs, mean-square displacements and Debye–Waller factors"
ORDER = 32

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "md" / "sic_300K.dump.gz"
# Tabulated room-temperature B [Å²] (quantum, incl. zero-point motion): diamond C from Peng, Ren,
# Dudarev & Whelan, Acta Cryst. A52 (1996) 456, Table 1.
B_TABLE = {("diamond", "C"): 0.142}
THETA_D = {"diamond": 2230.0}  # Debye temperature [K] for the classical Debye estimate


def classical_debye_B(mass_u: float, temperature: float, theta: float) -> float:
    """Classical (high-T) Debye-model B = 6h²T/(m k_B Θ²) [Å²] (mass [u], T and Θ [K])."""
    h, kb, u = 6.62607015e-34, 1.380649e-23, 1.66053906660e-27
    return 6 * h**2 * temperature / (mass_u * u * kb * theta**2) * 1e20


def crystals(n: int):
    from ase.build import bulk

    from jaxem.structure import Structure

    return {"diamond": Structure.from_ase(bulk("C", "diamond", a=3.567, cubic=True)).repeat(n, n, n),
            "3C-SiC": Structure.from_ase(bulk("SiC", "zincblende", a=4.36, cubic=True)).repeat(n, n, n)}


def trajectories(small: bool):
    """{name: (Trajectory, source text)} from LAMMPS if installed, else the shipped SiC dump."""
    from jaxem.md import LammpsNotFoundError, find_lammps, find_potential_file, lammps_version, read_dump, run_md

    try:
        find_lammps()
        find_potential_file("SiC.tersoff")
    except LammpsNotFoundError:
        missing = "LAMMPS is not installed here (<code>apt-get install lammps</code>)"
    except FileNotFoundError:
        missing = ("LAMMPS is installed but its potential files are not (<code>apt-get install lammps-data</code> "
                   "ships SiC.tersoff)")
    else:
        missing = None
    if missing:
        return {"3C-SiC": read_dump(SHIPPED, timestep_fs=0.5)}, (
            f"{missing}, so no MD runs: the shipped 3C-SiC dump <code>{SHIPPED.name}</code> (made with the "
            "Tersoff potential SiC.tersoff, which covers Si–Si, Si–C and C–C, so diamond as well) is analysed "
            "instead; diamond appears when LAMMPS is installed.")
    n, steps = (2, 2000) if small else (4, 8000)
    out = {name: run_md(st, temperature=300.0, timestep_fs=0.5, equilibration_steps=1000, production_steps=steps,
                        dump_every=10, seed=7, progress=False) for name, st in crystals(n).items()}
    return out, (f"LAMMPS {lammps_version()} ran {n}×{n}×{n} conventional cells with the Tersoff 1989 potential "
                 f"(SiC.tersoff), 0.5 fs steps: 1000 NVT steps at 300 K, then {steps} NVE steps dumped every 5 fs.")


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np
    from ase.data import atomic_masses

    from jaxem.md import debye_waller_factors, msd_vs_time
    from jaxem.potential import potential
    from jaxem.structure import atomic_number

    trajs, source = trajectories(ctx.small)
    ctx.text(f"<p>{source} Displacements are measured from each atom's time-averaged position after "
             "removing the centre-of-mass drift; B = 8π²⟨u²⟩ per direction, averaged over x, y, z.</p>")

    fig, axes = plt.subplots(1, len(trajs), figsize=(5.5 * len(trajs), 3.8), squeeze=False)
    rows = []
    for ax, (name, tr) in zip(axes[0], trajs.items()):
        t = tr.times / 1000.0
        for sym, u2 in msd_vs_time(tr).items():
            ax.plot(t, u2.sum(axis=1), label=f"{sym}: ⟨|u|²⟩(t)")
        ax.set_xlabel("time [ps]")
        ax.set_ylabel("⟨|u|²⟩ [Å²]")
        ax.set_title(f"{name}, {tr.n_atoms} atoms, {tr.n_frames} frames")
        ax.legend()
        for sym, B in debye_waller_factors(tr).items():
            theta = THETA_D.get(name)
            cl = classical_debye_B(float(atomic_masses[atomic_number(sym)]), 300.0, theta) if theta else None
            rows.append([name, sym, B, "—" if cl is None else cl, B_TABLE.get((name, sym), "—")])
    ctx.figure("msd", fig, "Instantaneous mean-square displacement per species vs time (sum over x, y, z).")
    ctx.table(["crystal", "species", "B(MD) [Å²]", "B classical Debye [Å²]", "B table (quantum) [Å²]"], rows,
              "Debye–Waller factors at 300 K. Classical MD misses zero-point motion, which dominates for "
              "diamond (Θ_D ≈ 2230 K), so B(MD) follows the classical Debye estimate, well below the "
              "tabulated (quantum) value.")

    name, tr = next(reversed(trajs.items()))
    snap = tr.frame(-1)
    ideal = tr.replace(positions=tr.positions.mean(axis=0, keepdims=True),
                       cells=tr.cells[:1], origins=tr.origins[:1], timesteps=tr.timesteps[:1]).frame(0)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, (label, st) in zip(axes, (("time-averaged", ideal), ("snapshot", snap))):
        pot = potential(st, sampling=0.05, slice_thickness=2.0)
        proj = np.asarray(pot.full()).sum(axis=0)
        im = ax.imshow(proj, cmap="viridis", extent=[0, pot.grid.extent[1], pot.grid.extent[0], 0])
        fig.colorbar(im, ax=ax, shrink=0.8, label="projected potential [V·Å]")
        ax.set_title(f"{name} [001], {label}")
        ax.set_xlabel("x [Å]")
    axes[0].set_ylabel("y [Å]")
    ctx.figure("snapshot", fig, "Projected potential [V·Å] of the time-averaged structure and of the last MD "
                                "snapshot: thermal displacements spread the atomic columns.")
