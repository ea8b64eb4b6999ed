"""Demo: energy- and mode-resolved diffraction of 3C-SiC (Vashishta): band-limited harmonic ensembles
(energy-resolved TDS per frequency bin), acoustic vs optic one-phonon TDS at equilibrium, and after a
frozen-trajectory excitation of the Γ optic mode: energy flow into the acoustic branches and the
acoustic/optic TDS at delays."""
from __future__ import annotations

TITLE = "Phonons in SiC: energy- and mode-resolved diffraction at equilibrium and after an optic excitation"
ORDER = 62
A = 4.3582


def run(ctx):
    """The section, in float64 (mode projections and Hessians to 1e-12) without switching JAX's 64-bit
    mode on for the sections that run after it (``accel.float64_mode``)."""
    from jaxem import accel

    with accel.float64_mode():
        _run(ctx)


def _run(ctx):
    import jax
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem.grid import Grid
    from jaxem.phonons import FrameKernel, fte, harmonic_phonons, mode_projector, modal
    from jaxem.phonons.frfpms import incoherent
    from jaxem.propagate import plane_wave
    from jaxem.structure import crystals

    c = crystals.crystal("SiC-3C")
    f0 = A / float(c.lengths[0])
    uc = c.replace(positions=c.positions * f0, cell=c.cell * f0)
    n = 2
    h = harmonic_phonons(uc, (n, n, n), potential="SiC", primitive="F")
    p = fte.paired_projector(mode_projector(h, "float64"))
    s = h.supercell
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(48, 48))
    k = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]) / 4)
    ext = [-0.5 / grid.sampling[1], 0.5 / grid.sampling[1], 0.5 / grid.sampling[0], -0.5 / grid.sampling[0]]

    # ---- energy-resolved TDS at equilibrium (band-limited harmonic ensembles) ----
    fmax = float(np.max(p.frequencies)) * 1.0001
    edges = np.array([0.0, 12.0, 20.0, fmax])
    masks = modal.band_masks(p, edges)
    n_snap = 32 if ctx.small else 256
    bands = []
    for i, m in enumerate(masks):
        from jaxem.phonons import harmonic_snapshots

        pos = harmonic_snapshots(jax.random.key(i), p, 300, n_snap, quantum=True, modes=m, precision="float64")
        bands.append(np.asarray(incoherent(k(pos))))
    fig, axes = plt.subplots(1, len(bands), figsize=(4.6 * len(bands), 3.8), layout="constrained")
    for ax, b, lo, hi in zip(axes, bands, edges[:-1], edges[1:]):
        im = ax.imshow(np.fft.fftshift(np.log10(b + 1e-12)), cmap="viridis", extent=ext)
        ax.set(title=f"{lo:.0f}–{hi:.0f} THz ({lo * 4.136:.0f}–{hi * 4.136:.0f} meV)", xlabel="k_x [1/Å]",
               ylabel="k_y [1/Å]")
        fig.colorbar(im, ax=ax, label="log₁₀ TDS")
    ctx.figure("energy_resolved", fig, "Energy-resolved TDS of 3C-SiC at 300 K (quantum harmonic ensembles "
               "populating only the modes of each frequency bin; 200 kV, [001], 8.7 Å).")

    # ---- optic excitation, relaxation, energy flow ----
    n_copies, steps = (4, 400) if ctx.small else (16, 4000)
    sets = {k_: v for k_, v in modal.branch_sets(p).items() if k_ in ("acoustic", "optic")}
    run_ = fte.fte_ensemble(s, "SiC", p, [0.0, 0.0, 0.0], 3, 20 * fte.KB_EV * 300, temperature=300,
                            n_copies=n_copies, seed=2, steps=steps, dump_every=10, timestep_fs=1.0,
                            equilibration_steps=500, sets=sets, progress=ctx.progress)
    xs = run_.positions
    en = run_.set_energies
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    for name, e in en.items():
        e = np.asarray(e).mean(0)
        ax.plot(run_.times, (e - e[0]) / (fte.KB_EV * 300), label=f"{name} branches")
    ax.set(xlabel="t after excitation [fs]", ylabel="ΔE (harmonic) / k_BT")
    ax.legend()
    ctx.figure("energy_flow", fig, "Energy flow after an impulsive kick of the Γ optic mode to 20 k_BT: harmonic energy of the "
               "optic and acoustic branch groups vs time (mean over copies, from the exact MD velocities).")

    # ---- mode-resolved TDS at delays ----
    delays = [0, len(run_.times) // 2, len(run_.times) - 1]
    fig, axes = plt.subplots(2, len(delays), figsize=(4.4 * len(delays), 7), layout="constrained")
    rows = []
    for j, d in enumerate(delays):
        res = modal.branch_parity_split(k, p, xs[:, d], sets)
        for i, name in enumerate(("acoustic", "optic")):
            img = np.asarray(res.one_phonon[name])
            im = axes[i, j].imshow(np.fft.fftshift(np.log10(img + 1e-12)), cmap="magma", extent=ext)
            axes[i, j].set(title=f"{name}, t = {run_.times[d]:.0f} fs", xlabel="k_x [1/Å]", ylabel="k_y [1/Å]")
            fig.colorbar(im, ax=axes[i, j], label="log₁₀ one-phonon TDS")
            rows.append([name, f"{run_.times[d]:.0f}", float(img.sum())])
    ctx.figure("mode_resolved", fig, "Mode-resolved one-phonon TDS (each group's part of Ψ odd in its own displacement "
               "and even in the others', inside the full ensemble: modal.branch_parity_split) of the acoustic and "
               "optic branch groups at three delays after the optic excitation (ensemble over copies).")
    ctx.table(["branch group", "delay [fs]", "Σ one-phonon TDS"], rows, "Integrated mode-resolved TDS vs delay.")
