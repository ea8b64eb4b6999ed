"""Demo: vibrational scattering of fcc Ni (CuNi.eam.alloy): TACAW dispersion over the phonopy branches
from an analytic harmonic trajectory; frozen-trajectory excitation (FTE) of the TA(X) mode —
time-resolved TDS maps at delays, ellipse-integrated intensities and mode energy vs time, the
relaxation time with its confidence interval; the G ± q / G ± 2q satellites of the excited mode; and
the short-time (time-resolved) TACAW of one excited copy with each window's energy resolution; and a
vibrational STEM spectrum image (TACAW at every probe position through an off-axis aperture)."""
from __future__ import annotations

import math

TITLE = "Phonons in Ni: TACAW dispersion, frozen-trajectory excitation, time-resolved TDS and TACAW"
ORDER = 61
A = 3.52


def tetragonal_ni():
    """fcc Ni in the 2-atom cell x ∥ [001], y ∥ [1-10], z ∥ [110] (beam along [110])."""
    from jaxem.structure import Structure

    r2 = math.sqrt(2.0)
    return Structure.create([[0, 0, 0], [A / 2, A / (2 * r2), A / (2 * r2)]], ["Ni", "Ni"], [A, A / r2, A / r2])


def tacaw_dispersion(small: bool):
    """(supercell, projector, grid, energies [meV], S(E, qy, qx)) of a harmonic trajectory at 300 K."""
    import jax

    from jaxem.grid import Grid
    from jaxem.phonons import FrameKernel, harmonic_phonons, mode_projector, modal, tacaw_spectrum
    from jaxem.propagate import plane_wave

    n_x = 4 if small else 8
    h = harmonic_phonons(tetragonal_ni(), (n_x, 2, 1), potential="Ni")
    p = mode_projector(h, "float64")
    s = h.supercell
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(24, 12 * n_x))
    k = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]))
    n_traj, n_frames = (4, 256) if small else (16, 1024)
    spec = 0.0
    for i in range(n_traj):
        traj = modal.harmonic_trajectory(jax.random.PRNGKey(i), p, 300, n_frames, 10.0, fixed_amplitudes=True)
        sp = tacaw_spectrum(k(traj), 10.0)
        spec = spec + sp.intensity / n_traj
    return h, p, grid, sp.energy, spec


def run(ctx):
    """The section, in float64 (mode projections and Hessians to 1e-12) without switching JAX's 64-bit
    mode on for the sections that run after it (``accel.float64_mode``)."""
    from jaxem import accel

    with accel.float64_mode():
        _run(ctx)


def _run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem.grid import Grid
    from jaxem.phonons import FrameKernel, fte, harmonic_phonons, mode_projector, modal, stft
    from jaxem.phonons.frfpms import ellipse_mask, region_intensities
    from jaxem.phonons.tacaw import H_MEV_FS
    from jaxem.propagate import plane_wave
    from jaxem.structure import crystals

    # ---- 1. TACAW dispersion ----
    h, p, grid, e, spec = tacaw_dispersion(ctx.small)
    kx = np.fft.fftfreq(grid.gpts[1], grid.sampling[1])
    ky = np.fft.fftfreq(grid.gpts[0], grid.sampling[0])
    iy = int(np.argmin(np.abs(ky - math.sqrt(2) / A)))  # row through G = (1,−1,1)
    order = np.argsort(kx)
    cut = np.asarray(spec)[:, iy, order]
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    im = ax.pcolormesh(kx[order] * A, e, np.log10(cut + 1e-14), shading="nearest", cmap="magma",
                       vmin=np.log10(cut.max()) - 4)
    fig.colorbar(im, ax=ax, label="log₁₀ S(q, E) [fraction of beam per bin]")
    xs = np.linspace(0, 1, 41)
    x_frac = (np.asarray(h.phonopy.primitive.cell) @ np.array([1 / A, 0.0, 0.0])).tolist()  # X = (1/a, 0, 0)
    d, f, _ = h.band_structure([("Γ", [0, 0, 0]), ("X", x_frac)], n_points=41)
    for sgn, g in ((1, 1.0), (-1, 1.0)):
        for b in range(f.shape[1]):
            ax.plot(g + sgn * xs, f[:, b] * 1e-3 * H_MEV_FS, "c--", lw=0.8)
    ax.set(xlim=(0, 2), ylim=(0, 45), xlabel="Q_x [1/a] (G = (1,−1,1) row, Γ–X–Γ)", ylabel="energy loss E [meV]")
    ctx.figure("dispersion", fig, "TACAW S(q, E) of an analytic harmonic trajectory of Ni at 300 K (CuNi.eam.alloy "
               "force constants, one slice, 200 kV) along Q_x through G = (1,−1,1); dashed: phonopy branches Γ–X.")

    # ---- 1b. vibrational STEM spectrum image (TACAW, a probe per scan position) ----
    import jax

    from jaxem.phonons import tacaw_spectrum_image
    from jaxem.stem import GridScan

    s1 = h.supercell
    traj = modal.harmonic_trajectory(jax.random.PRNGKey(7), p, 300, 128 if ctx.small else 512, 10.0)
    a_y = float(s1.lengths[1]) / 2  # one tetragonal cell: A/√2 along y, A along x
    scan = GridScan.create(start=(0.0, 0.0), end=(a_y, A), gpts=(4, 6) if ctx.small else (8, 12))
    si = tacaw_spectrum_image(s1, traj, 10.0, scan, energy=200e3, semi_angle=25.0, collection_radius=20.0,
                              collection_center=(0.0, 35.0), sampling=0.12, slice_thickness=float(s1.lengths[2]),
                              temperature=300.0, precision="float64", progress=ctx.progress)
    es = si.axes[2].offset + si.axes[2].sampling * np.arange(si.array.shape[2])
    band = (es > 5.0) & (es < 40.0)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    dy_, dx_ = scan.sampling  # pixel centres on the probe positions
    im = a1.imshow(si.array[:, :, band].sum(-1), cmap="inferno", origin="upper", interpolation="nearest",
                   extent=[-dx_ / 2, A - dx_ / 2, a_y - dy_ / 2, -dy_ / 2])
    fig.colorbar(im, ax=a1, label="loss 5–40 meV [fraction of beam]")
    a1.plot([0, A, 0, A, A / 2], [0, 0, a_y, a_y, a_y / 2], "c+", ms=9, mew=1.5)  # the Ni columns along [110]
    a1.set(xlabel="x [Å] ([001])", ylabel="y [Å] ([1-10])", title="vibrational map (off-axis aperture)")
    ny_, nx_ = si.array.shape[:2]
    for (iy_, ix_), lab in (((0, 0), "on a column"), ((0, nx_ // 4), "between columns")):
        a2.plot(es, si.array[iy_, ix_], label=f"{lab} ({iy_ * scan.sampling[0]:.2f}, {ix_ * scan.sampling[1]:.2f}) Å")
    a2.set(xlim=(-45, 45), xlabel="energy loss E [meV] (< 0: gain)", ylabel="S(E) [fraction of beam per bin]")
    a2.legend(fontsize=7)
    ctx.figure("spectrum_image", fig, "Vibrational STEM spectrum image of Ni [110] by TACAW "
               "(<code>phonons.tacaw_spectrum_image</code>): 200 kV, 25 mrad probe at every scan position, "
               "a 20 mrad spectrometer aperture centred at 35 mrad, the harmonic trajectory at 300 K with the "
               "quantum factor (loss > gain). Left: the 5–40 meV loss intensity over one cell; right: two spectra.")

    # ---- 2. FTE: TA(X) excitation ----
    S = (2, 2, 2)
    hn = harmonic_phonons(crystals.crystal("Ni").replace(positions=crystals.crystal("Ni").positions * A /
                                                            float(crystals.crystal("Ni").lengths[0]),
                                                            cell=crystals.crystal("Ni").cell * A /
                                                            float(crystals.crystal("Ni").lengths[0])),
                          S, potential="Ni", primitive="F")
    pn = fte.paired_projector(mode_projector(hn, "float64"))
    n_copies, steps = (8, 600) if ctx.small else (32, 4000)
    e_target = 30 * fte.KB_EV * 300
    run_ = fte.fte_ensemble(hn.supercell, "Ni", pn, [0.0, 0.5, 0.5], 0, e_target, temperature=300, n_copies=n_copies,
                            seed=1, steps=steps, dump_every=20, equilibration_steps=500, progress=ctx.progress)
    tau, sig = fte.relaxation_time(run_)
    sc = hn.supercell
    g2 = Grid.from_extent((float(sc.lengths[1]), float(sc.lengths[0])), gpts=(32, 32))
    k2 = FrameKernel(sc, plane_wave(g2, 200e3, precision="float64"), slice_thickness=float(sc.lengths[2]) / 4)
    delays = np.arange(0, len(run_.times), max(1, len(run_.times) // 10))
    tds = np.asarray(fte.time_resolved_tds(k2, run_.positions[:, delays]))
    ctx.text(f"<p>FTE (our mode-space operator, <code>jaxem.phonons.fte</code>): {n_copies} independent 300 K copies "
             f"of a 2×2×2 Ni cell, the TA(X) mode and its −q partner kicked to 30 k<sub>B</sub>T (impulsive: momenta only, "
             f"so the injected energy is exactly the harmonic {np.mean(run_.injected):.3f} eV), then NVE. "
             f"τ = {tau:.0f} ± {sig:.0f} fs (bootstrap over copies).</p>")
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), layout="constrained")
    show = [0, len(delays) // 3, 2 * len(delays) // 3, len(delays) - 1]
    for ax, i in zip(axes, show):
        im = ax.imshow(np.fft.fftshift(np.log10(tds[i] + 1e-12)), cmap="viridis",
                       extent=[-0.5 / g2.sampling[1], 0.5 / g2.sampling[1], 0.5 / g2.sampling[0],
                               -0.5 / g2.sampling[0]])
        ax.set(title=f"t = {run_.times[delays[i]]:.0f} fs", xlabel="k_x [1/Å]", ylabel="k_y [1/Å]")
        fig.colorbar(im, ax=ax, label="log₁₀ TDS")
    ctx.figure("tds_maps", fig, "Time-resolved TDS (ensemble average over excited copies) at four delays.")
    centres = [(0.0, 1 / A), (0.0, 3 / A), (2 / A, 1 / A)]
    masks = np.stack([ellipse_mask(g2, c, (0.12, 0.08)) for c in centres])
    ints = np.asarray(region_intensities(tds, masks))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
    for m, c in enumerate(centres):
        a1.plot(run_.times[delays], ints[:, m] / ints[-1, m], "o-", label=f"ellipse at ({c[0]:.2f}, {c[1]:.2f}) 1/Å")
    a1.set(xlabel="delay t [fs]", ylabel="I_E(t) / I_E(last)")
    a1.legend(fontsize=7)
    a2.plot(run_.times, run_.mode_energy.mean(0) / (fte.KB_EV * 300), label="TA(X) mode energy")
    a2.axhline(fte.final_energy(run_) / (fte.KB_EV * 300), color="k", ls=":", label="equipartition")
    a2.set(xlabel="t [fs]", ylabel="E / k_BT")
    a2.legend()
    ctx.figure("ellipses", fig, "Ellipse-integrated TDS vs delay (left) and the excited mode's energy (right).")

    # ---- 3. satellites of the excited mode (frozen single mode, Jacobi–Anger) ----
    cell = modal.cell_set(pn, [0.0, 0.5, 0.5], [0])
    uf = np.asarray(modal.mode_filter(pn, run_.positions[0, :10] - np.asarray(pn.positions), cell))
    u1 = uf[int(np.argmax(np.sum(uf ** 2, axis=(1, 2))))] * 4.0  # the kick is displacement ¼ period later
    pat = np.abs(np.asarray(k2(np.asarray(pn.positions)[None] + u1[None])[0])) ** 2
    fig, ax = plt.subplots(figsize=(4.6, 4), layout="constrained")
    im = ax.imshow(np.fft.fftshift(np.log10(pat + 1e-12)), cmap="magma",
                   extent=[-0.5 / g2.sampling[1], 0.5 / g2.sampling[1], 0.5 / g2.sampling[0], -0.5 / g2.sampling[0]])
    fig.colorbar(im, ax=ax, label="log₁₀ |Ψ|²")
    ax.set(xlabel="k_x [1/Å]", ylabel="k_y [1/Å]", title="frozen TA(X) wave ×4: G ± q, G ± 2q")
    ctx.figure("satellites", fig, "Diffraction of the frozen excited TA(X) displacement (amplified ×4): first- and "
               "second-order (2q) satellites J_n²(Q·εA) around the Bragg spots.")

    # ---- 4. time-resolved TACAW of one excited copy ----
    psi = np.asarray(k2(run_.positions[0]))
    iy2, ix2 = int(round(1 / A * g2.extent[0])) % 32, 0
    rows = []
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    for length in (200.0, 400.0, min(800.0, run_.times[-1])):
        t, en, sp, res = stft(psi[:, iy2, ix2], 20.0, length)
        ax.plot(en, sp.mean(0) / sp.mean(0).max(), label=f"window {length:.0f} fs (FWHM {res:.1f} meV)")
        rows.append([f"{length:.0f}", f"{res:.1f}", len(t)])
    ax.set(xlim=(0, 50), xlabel="E [meV]", ylabel="S (normalised)")
    ax.legend(fontsize=7)
    ctx.figure("stft", fig, "Short-time TACAW (Hann windows) of one excited copy at the pixel (1/a, 0): classical "
               "spectra (out of equilibrium, no quantum factor); each window's resolution in the legend.")
    ctx.table(["window [fs]", "energy FWHM [meV]", "windows"], rows,
              "Time–energy resolution: a Hann window of length T has FWHM 1.44 h/T.")
