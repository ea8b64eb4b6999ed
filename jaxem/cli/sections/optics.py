"""Demo: electron optics — CTF with envelopes at 300 kV Scherzer focus, probe profiles, probe image,
and HRTEM image formation with partial coherence."""
from __future__ import annotations

TITLE = "Optics: CTF, envelopes, probes and partially coherent HRTEM"
ORDER = 20

E = 300e3  # [eV]
CS = 1.2e7  # [Å] (1.2 mm)
CC = 1.4e7  # [Å] (1.4 mm)


def scherzer_defocus(cs, wavelength):
    """Scherzer defocus Δf = sqrt(4/3 · Cs λ) [Å] (Kirkland 2010, eq. 3.47)."""
    return (4.0 / 3.0 * cs * wavelength) ** 0.5


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem.beam import Beam
    from jaxem.grid import Grid
    from jaxem.measurement import Axis, Measurement
    from jaxem.optics import (Aberrations, Aperture, DetectorMTF, ctf_profile, focal_spread_from_instabilities,
                              hrtem_image, probe)
    from jaxem.propagate import waves_from_array

    beam = Beam(E)
    lam = beam.wavelength
    df = scherzer_defocus(CS, lam)
    spread = focal_spread_from_instabilities(CC, beam, energy_spread=0.8 / 2.3548, voltage_instability=5e-7,
                                             current_instability=2.5e-7)
    theta = 0.1  # [mrad]
    ab = Aberrations(C10=-df, C30=CS)

    # ---- CTF curves ---------------------------------------------------------------------------
    k = np.linspace(0.0, 1.0, 400 if ctx.small else 2000)
    full = np.asarray(ctf_profile(k, beam, ab, focal_spread=spread, source_angle=theta))
    coherent = np.asarray(ctf_profile(k, beam, ab))
    e_t = np.abs(np.asarray(ctf_profile(k, beam, ab, focal_spread=spread)))
    e_s = np.abs(np.asarray(ctf_profile(k, beam, ab, source_angle=theta)))
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(k, -coherent.imag, color="0.7", lw=0.8, label="sin χ (coherent)")
    ax.plot(k, -full.imag, color="C0", label="sin χ · E_t · E_s")
    ax.plot(k, e_t, "--", color="C1", label=f"E_t (Δ = {spread:.1f} Å)")
    ax.plot(k, e_s, "--", color="C2", label=f"E_s (θ_s = {theta} mrad)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("spatial frequency k [1/Å]")
    ax.set_ylabel("transfer")
    ax.legend(fontsize=8)
    ctx.figure("ctf", fig, f"Phase contrast transfer at 300 kV, C30 = Cs = {CS:.3g} Å, Scherzer defocus "
               f"Δf = {df:.0f} Å (C10 = {-df:.0f} Å). Negative transfer: atoms appear dark.")
    ctx.data("ctf_profile", Measurement(np.stack([-full.imag, e_t, e_s]),
                                        (Axis("curve", 1, "index"), Axis("k", k[1] - k[0], "1/Å")),
                                        {"beam": beam.to_dict(), "curves": ["sin(chi)*Et*Es", "Et", "Es"],
                                         "aberrations": ab.to_metadata(),
                                         "focal_spread": {"value": spread, "units": "Å"},
                                         "source_angle": {"value": theta, "units": "mrad"}}))
    sign = np.sign(coherent.imag[1:])
    first_zero = k[1:][np.argmax(sign[1:] != sign[:-1]) + 1]
    info_limit = (2 / (np.pi * lam * spread)) ** 0.5  # E_t = exp(−2)
    ctx.table(["quantity", "value"], [
        ["wavelength λ [Å]", lam], ["Scherzer defocus Δf [Å]", df],
        [f"focal spread Δ from Cc = {CC:.3g} Å, ΔE = 0.8 eV FWHM [Å]", spread],
        ["first CTF zero (point resolution) [Å]", 1 / first_zero],
        ["information limit (E_t = e⁻²) [Å]", 1 / info_limit],
    ], "300 kV optics")

    # ---- probe profiles -----------------------------------------------------------------------
    n = 256 if ctx.small else 512
    grid = Grid((n, n), (0.05, 0.05))
    c = n * 0.05 / 2
    x = (np.arange(n) - n // 2) * 0.05
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for a0 in (10.0, 20.0, 30.0):
        p = np.abs(np.asarray(probe(grid, beam, a0, positions=np.array([c, c])))) ** 2
        axes[0].plot(x, p[n // 2] / p.max(), label=f"α = {a0:.0f} mrad")
    axes[0].set_xlim(-3, 3)
    axes[0].set_title("aberration-free (Airy)")
    for label, abp in [("Δf = 0", Aberrations()), ("Δf = 50 Å", Aberrations(C10=-50.0)),
                       ("Cs = 2·10⁵ Å", Aberrations(C30=2e5)),
                       ("Cs = 2·10⁵ Å, Δf = 40 Å", Aberrations(C30=2e5, C10=-40.0))]:
        p = np.abs(np.asarray(probe(grid, beam, 25.0, abp, positions=np.array([c, c])))) ** 2
        axes[1].plot(x, p[n // 2], label=label)
    axes[1].set_xlim(-4, 4)
    axes[1].set_title("α = 25 mrad with aberrations")
    for ax in axes:
        ax.set_xlabel("x [Å]")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("intensity / peak")
    axes[1].set_ylabel("intensity fraction per pixel")
    ctx.figure("probe_profiles", fig, "Probe intensity profiles through the centre at 300 kV.")

    # ---- 2D probe intensity -------------------------------------------------------------------
    ab2 = Aberrations(C10=-30.0, C12=20.0, phi12=0.5, C21=3e3, phi21=1.2, C23=2e3, phi23=0.3)
    p2 = np.abs(np.asarray(probe(grid, beam, 25.0, ab2, positions=np.array([c, c]), edge_width=0.5))) ** 2
    probe_m = Measurement(p2, (Axis("y", 0.05, "Å"), Axis("x", 0.05, "Å")),
                          {"beam": beam.to_dict(), "semi_angle": {"value": 25.0, "units": "mrad"},
                           "aberrations": ab2.to_metadata(), "quantity": "probe intensity (fraction per pixel)"})
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    probe_m.show(ax=axes[0], cmap="inferno", title="|ψ|², Δf 30 Å, A1 20 Å, B2 3000 Å, A2 2000 Å")
    probe_m.show(ax=axes[1], cmap="inferno", log=True, title="log10 |ψ|²")
    ctx.figure("probe_2d", fig, "Aberrated 25 mrad probe (two-fold astigmatism, axial coma, three-fold astigmatism).")
    ctx.data("probe_intensity", probe_m)

    # ---- HRTEM of a synthetic phase grating: coherence models -----------------------------------
    m, cells = (128, 4) if ctx.small else (256, 8)
    d = 0.1  # [Å]
    g = Grid((m, m), (d, d))
    yy, xx = np.meshgrid(np.arange(m) * d, np.arange(m) * d, indexing="ij")
    a = m * d / cells  # 3.2 Å square lattice of Gaussian phase bumps
    phase = sum(np.exp(-((yy - (i + 0.5) * a) ** 2 + (xx - (j + 0.5) * a) ** 2) / (2 * 0.35**2))
                for i in range(cells) for j in range(cells))
    wave = waves_from_array(np.exp(1j * 0.6 * phase).astype(np.complex64), g, beam, norm=float(m * m))
    kw = dict(objective_aperture=Aperture.create(25.0, 1.0), focal_spread=spread, source_angle=theta)
    images = {
        "coherent": hrtem_image(wave, ab, objective_aperture=kw["objective_aperture"], method="coherent"),
        "envelope": hrtem_image(wave, ab, method="envelope", **kw),
        "focal average": hrtem_image(wave, ab, method="focal_average", n_focal=16, **kw),
        "+ image spread 0.3 Å, MTF": hrtem_image(wave, ab, method="focal_average", image_spread=0.3,
                                                mtf=DetectorMTF.create(b=0.4, c=0.05, d=2.5), **kw),
    }
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    rows = []
    for ax, (name, image) in zip(axes, images.items()):
        img = np.asarray(image.array)
        im = ax.imshow(img, cmap="gray", extent=image.extent())
        fig.colorbar(im, ax=ax, shrink=0.8, label="intensity (vacuum = 1)")
        ax.set_title(name)
        ax.set_xlabel("x [Å]")
        rows.append([name, float(img.min()), float(img.max()), float(img.std() / img.mean())])
    ctx.figure("hrtem_models", fig, "HRTEM at Scherzer focus of a 0.6 rad phase grating (Gaussian columns on a 3.2 Å lattice, dark at Scherzer): coherent, quasi-coherent "
               "envelope, exact focal average (Gauss–Hermite), and incoherent image spread + detector MTF.")
    ctx.table(["model", "min", "max", "contrast (std/mean)"], rows, "Image statistics per coherence model")
