"""Demo: plane-wave multislice of SrTiO3 [001] — thickness series, diffraction, Pendellösung, HRTEM,
and Kirkland's five-atom HRTEM test image."""
from __future__ import annotations

TITLE = "Multislice: SrTiO3 [001] thickness series, diffraction and HRTEM"
ORDER = 10


def srtio3_unit():
    from jaxem.structure import crystals

    return crystals.SrTiO3()  # published a and room-temperature B (sources in jaxem/data/crystals.json)


def kirkland_five_atoms():
    from jaxem.structure import Structure

    return Structure.create([[x, 25.0, 4.0] for x in (5.0, 15.0, 25.0, 35.0, 45.0)], ["C", "Si", "Cu", "Au", "U"],
                            [50.0, 50.0, 8.0])


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import LogNorm

    from jaxem.beam import Beam
    from jaxem.optics import Aberrations, hrtem_image
    from jaxem.potential import potential
    from jaxem.propagate import diffraction_pattern, multislice, plane_wave

    beam = Beam(300e3)

    n_cells = 4 if ctx.small else 8
    nz = 20 if ctx.small else 60
    sampling = 0.06 if ctx.small else 0.04
    crystal = srtio3_unit().repeat(n_cells, n_cells, nz)
    pot = potential(crystal, sampling=sampling, slice_thickness=3.905 / 2, debye_waller=True)
    waves = multislice(plane_wave(pot.grid, beam), pot, exit_planes=2 * (nz // 10))
    thick = np.arange(1, waves.array.shape[0] + 1) * 2 * (nz // 10) * pot.slice_thickness
    ctx.text(f"<p>SrTiO3 [001], {n_cells}×{n_cells}×{nz} cells ({len(crystal)} atoms), 300 kV, Lobato "
             f"potential with Debye–Waller smearing, {pot.grid.gpts[0]}² grid at {pot.grid.sampling[0]:.3f} Å, "
             f"{pot.n_slices} slices of {pot.slice_thickness:.3f} Å (2 distinct slices computed once). "
             f"Exit waves every {thick[0]:.1f} Å.</p>")

    dp = diffraction_pattern(waves, max_angle=60.0, batch_axes=["thickness"])
    picks = [0, len(thick) // 2, len(thick) - 1]
    vmax = float(np.max(np.asarray(dp.array)[picks]))
    norm = LogNorm(vmin=vmax * 1e-6, vmax=vmax)  # six decades below the brightest beam
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, i in zip(axes, picks):
        d = np.asarray(dp.array[i])
        im = ax.imshow(np.clip(d, norm.vmin, None), norm=norm, extent=dp.extent(), cmap="magma")
        ax.set_title(f"t = {thick[i]:.0f} Å")
        ax.set_xlabel("θx [mrad]")
    axes[0].set_ylabel("θy [mrad]")
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="fraction of incident intensity per pixel")
    ctx.figure("diffraction", fig, "Diffraction patterns, centred (zero frequency in the middle), log scale over six "
                                   "decades below the brightest beam.")
    ctx.data("diffraction_series", dp)

    # Pendellösung: Bragg-beam intensities vs thickness
    f = np.abs(np.fft.fft2(np.asarray(waves.array))) ** 2 / np.prod(pot.grid.gpts) ** 2
    beams = {"000": (0, 0), "100": (0, n_cells), "110": (n_cells, n_cells), "200": (0, 2 * n_cells)}
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = []
    for name, (iy, ix) in beams.items():
        ax.plot(thick, f[:, iy, ix], marker="o", ms=3, label=name)
        rows.append([name] + [float(f[i, iy, ix]) for i in picks])
    ax.set_xlabel("thickness [Å]")
    ax.set_ylabel("beam intensity [fraction of incident]")
    ax.legend()
    ctx.figure("pendelloesung", fig, "Bragg-beam intensities vs thickness (dynamical scattering).")
    ctx.table(["beam"] + [f"t = {thick[i]:.0f} Å" for i in picks], rows, "Beam intensities")

    # HRTEM images with partial coherence at the last thickness
    img_kw = dict(objective_aperture=25.0, focal_spread=30.0, source_angle=0.3)
    exit_wave = waves.replace(array=waves.array[-1])
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, df in zip(axes, (-100.0, 0.0, 100.0)):
        img = hrtem_image(exit_wave, Aberrations(C10=-df, C30=-1.0e5), method="focal_average", **img_kw)
        im = ax.imshow(np.asarray(img.array), cmap="gray", extent=img.extent())
        fig.colorbar(im, ax=ax, shrink=0.8, label="intensity (vacuum = 1)")
        ax.set_title(f"Δf = {df:.0f} Å, Cs = −1·10⁵ Å")
        ax.set_xlabel("x [Å]")
    ctx.figure("hrtem", fig, "HRTEM images (focal spread 30 Å by Gauss–Hermite averaging, 0.3 mrad source, "
                             "25 mrad aperture) at the largest thickness.")

    # Kirkland Fig. 5.12 five-atom test
    five = kirkland_five_atoms()
    p5 = potential(five, gpts=512, slice_thickness=8.0, parametrization="kirkland")
    w5 = multislice(plane_wave(p5.grid, Beam(200e3)), p5)
    img = hrtem_image(w5, Aberrations(C10=-700.0, C30=1.3e7), objective_aperture=10.37, method="coherent")
    arr = np.asarray(img.array)
    fig, ax = plt.subplots(figsize=(7, 3))
    im = ax.imshow(arr, cmap="gray", extent=img.extent())
    fig.colorbar(im, ax=ax, shrink=0.8, label="intensity (vacuum = 1)")
    ax.set_title("C, Si, Cu, Au, U at 200 kV (Kirkland 2010, Fig. 5.12)")
    ax.set_xlabel("x [Å]")
    ctx.figure("kirkland_5_12", fig, f"Image min {arr.min():.3f}, max {arr.max():.3f} (book: 0.72 / 1.03).")
