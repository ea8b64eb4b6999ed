"""Demo: an HRTEM focal series in one call — a phase grating imaged at seven defoci (coherent and
with focal spread), the CTF of each defocus, and the contrast reversal of the lattice fringes."""
from __future__ import annotations

TITLE = "HRTEM focal series: one call, a calibrated defocus axis"
ORDER = 21

E = 300e3  # [eV]
CS = 1.2e7  # [Å] (1.2 mm)
SPREAD = 30.0  # rms focal spread Δ [Å]


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem.beam import Beam
    from jaxem.grid import Grid
    from jaxem.measurement import Measurement
    from jaxem.optics import Aberrations, ctf_profile, hrtem_image
    from jaxem.propagate import waves_from_array

    beam = Beam(E)
    scherzer = (4.0 / 3.0 * CS * beam.wavelength) ** 0.5  # Kirkland 2010, eq. 3.47 [Å]
    defocus = np.linspace(-200.0, 1000.0, 7)  # Δf [Å] (C10 = −Δf), evenly spaced: a calibrated axis
    series = Aberrations(C10=-defocus, C30=CS)

    # ---- the object: a phase grating of Gaussian columns on a 3.2 Å square lattice ---------------
    m, cells = (96, 3) if ctx.small else (192, 6)
    d = 3.2 * cells / m  # [Å]
    g = Grid((m, m), (d, d))
    yy, xx = np.meshgrid(np.arange(m) * d, np.arange(m) * d, indexing="ij")
    a = 3.2
    phase = sum(np.exp(-((yy - (i + 0.5) * a) ** 2 + (xx - (j + 0.5) * a) ** 2) / (2 * 0.35**2))
                for i in range(cells) for j in range(cells))
    wave = waves_from_array(np.exp(0.4j * phase).astype(np.complex64), g, beam, norm=float(m * m))

    coherent = hrtem_image(wave, series, objective_aperture=30.0, method="coherent")
    partial = hrtem_image(wave, series, objective_aperture=30.0, focal_spread=SPREAD, source_angle=0.1,
                          method="focal_average", n_focal=12)
    axis = partial.axes[0]
    ctx.data("focal_series", partial)

    fig, axes = plt.subplots(2, len(defocus), figsize=(2.3 * len(defocus), 5.2), layout="constrained")
    for row, (label, stack) in enumerate((("coherent", coherent), (f"Δ = {SPREAD:.0f} Å", partial))):
        for j in range(len(defocus)):
            img = np.asarray(stack.array[j])
            ax = axes[row, j]
            im = ax.imshow(img, cmap="gray", extent=stack.extent())
            fig.colorbar(im, ax=ax, shrink=0.7).set_label("intensity (vacuum = 1)", fontsize=7)
            ax.set_title(f"{label}\nΔf = {axis.offset + j * axis.sampling:.0f} Å", fontsize=8)
            ax.set_xlabel("x [Å]", fontsize=7)
            ax.set_ylabel("y [Å]", fontsize=7)
            ax.tick_params(labelsize=6)
    ctx.figure("images", fig, f"One hrtem_image call per row: Aberrations(C10 = −Δf for Δf = {defocus[0]:.0f} … "
               f"{defocus[-1]:.0f} Å, Cs = {CS:.3g} Å), 300 kV, 30 mrad aperture; top coherent, bottom with "
               f"focal spread Δ = {SPREAD:.0f} Å and 0.1 mrad source size (focal average). The stack has a "
               f"calibrated '{axis.name}' axis [{axis.units}] (offset {axis.offset:.0f}, step {axis.sampling:.0f}). "
               f"Scherzer defocus {scherzer:.0f} Å.")

    # ---- the CTF of every defocus, and the fringe contrast -----------------------------------------
    k = np.linspace(0.0, 1.2, 400 if ctx.small else 1200)
    h = np.asarray(ctf_profile(k, beam, series, focal_spread=SPREAD, source_angle=0.1))
    g0 = 1.0 / a  # the (10) lattice frequency [1/Å]
    fig, axs = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    im = axs[0].imshow(-h.imag, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, origin="lower",
                       extent=(k[0], k[-1], defocus[0] - axis.sampling / 2, defocus[-1] + axis.sampling / 2))
    fig.colorbar(im, ax=axs[0], label="phase-contrast transfer sin χ · E_t · E_s")
    axs[0].axvline(g0, color="k", lw=0.8, ls=":")
    axs[0].set_xlabel("spatial frequency k [1/Å]")
    axs[0].set_ylabel("defocus Δf [Å]")
    axs[0].set_title("CTF of each defocus (one ctf_profile call)")
    spec = np.abs(np.fft.fft2(np.asarray(partial.array) - 1.0, axes=(-2, -1)))[:, 0, cells] / (m * m)
    transfer = -np.asarray(ctf_profile(np.array([g0]), beam, series, focal_spread=SPREAD, source_angle=0.1)).imag[:, 0]
    axs[1].plot(defocus, spec, "o-", label="image: |I(g₁₀)| (focal average)")
    axs[1].plot(defocus, np.abs(transfer) * spec.max() / max(np.abs(transfer).max(), 1e-12), "--",
                label="|sin χ(g₁₀)| E_t E_s (scaled)")
    axs[1].axhline(0.0, color="k", lw=0.5)
    axs[1].set_xlabel("defocus Δf [Å]")
    axs[1].set_ylabel("fringe amplitude [1]")
    axs[1].legend(fontsize=8)
    ctx.figure("ctf", fig, "Left: the CTF of each defocus of the series; dotted: the (10) lattice frequency "
               "1/3.2 Å⁻¹. Right: the (10) Fourier amplitude of each image follows |sin χ| at that frequency "
               "(weak-phase approximation; the grating's 0.4 rad peaks add non-linear terms).")
    ctx.data("ctf_series", Measurement(-h.imag, (axis, type(axis)("k", float(k[1] - k[0]), "1/Å")),
                                       {"beam": beam.to_dict(), "aberrations": series.to_metadata(),
                                        "focal_spread": {"value": SPREAD, "units": "Å"},
                                        "quantity": "phase-contrast transfer sin(chi)*Et*Es"}))
    ctx.table(["Δf [Å]", "|I(g₁₀)|", "sin χ(g₁₀) E_t E_s"],
              [[float(f), float(s), float(t)] for f, s, t in zip(defocus, spec, transfer)],
              "Fringe amplitude and transfer at the (10) frequency per defocus")
