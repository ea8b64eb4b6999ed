"""Demo section: quantitative HRTEM of synthetic BaTiO3 [001] — BO, gradient and hybrid fits."""
from __future__ import annotations

TITLE = "Quantitative HRTEM: fitting BaTiO3 [001] by TuRBO and autodiff, and a field by ROIs"
ORDER = 60


def run(ctx) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    from ...hrtem.workflow import run_strategies
    from ...hrtem.displacements import polar_displacements
    from ...hrtem.losses import l2
    from ...hrtem.synthetic import batio3_problem, errors

    small = ctx.small
    pr = batio3_problem(cells=1 if small else 3, repeats=8, sampling=0.2 if small else 0.1)
    m = pr.model
    res = run_strategies(pr, bo_max_evaluations=16 if small else 160, grad_steps=8 if small else 60,
                         bo_only_max_evaluations=16 if small else 320, strategies=("hybrid", "gradient", "bo"))
    ctx.text("Synthetic BaTiO3 [001] at 300 kV (Δf = 8 nm, Cs = −15 µm, A1 = 2.5 nm, 6 unit cells, in-plane Ti "
             "+8/+3 pm and O −3 pm shifts, 1e4 e⁻/Å² Poisson + readout noise), fitted from a wrong start "
             "(Δf +4 nm, Cs +3 µm, A1 = 0, −2 cells, ideal columns). <b>Hybrid</b>: TuRBO for the global "
             "parameters, then L-BFGS through the differentiable multislice for globals + column positions.")
    fit = res["hybrid"]["params"]
    sim = np.asarray(m.render(fit))
    data = np.asarray(pr.data)
    fig, ax = plt.subplots(1, 4, figsize=(15, 3.6))
    for a, img, title in zip(ax[:3], (data, sim, data - sim), ("data (noisy)", "hybrid fit", "residual")):
        im = a.imshow(img, cmap="gray" if title != "residual" else "RdBu_r")
        a.set_title(title)
        a.axis("off")
        fig.colorbar(im, ax=a, fraction=0.046, label="intensity (vacuum = 1)")
    for name, r in res.items():
        h = np.asarray(r["history"], float)
        ax[3].plot(h[:, 0], h[:, 2], label=name)
    ax[3].axhline(float(l2(m.render(pr.truth), pr.data)), color="k", ls=":", label="truth")
    ax[3].set_xlabel("wall time [s]")
    ax[3].set_ylabel("loss (L2 / var)")
    ax[3].set_yscale("log")
    ax[3].legend()
    fig.tight_layout()
    ctx.figure("images", fig, "Data, hybrid fit, residual, and convergence (best loss vs wall time).")

    rows = []
    for name, r in res.items():
        e = errors(m, r["params"], pr.truth)
        rows.append([name, round(r["time"], 1), f"{r['loss']:.4f}", round(e["defocus"] / 10, 3), round(e["Cs"] / 1e4, 3),
                     round(e["A1"] / 10, 3), round(e["thickness_cells"], 2), round(100 * e["columns_rms"], 2),
                     round(100 * e["ti_o_max"], 2)])
    ctx.table(["strategy", "time [s]", "loss", "|ΔΔf| [nm]", "|ΔCs| [µm]", "|ΔA1| [nm]", "|Δt| [cells]",
               "columns RMS [pm]", "max |Δd(Ti–O)| [pm]"], rows,
              caption="errors vs the truth (acceptance: 1 nm, 2 µm, 1 nm, 1 cell, 5 pm, 5 pm)")
    truth_rows = [[k, f"{float(np.ravel(getattr(pr.truth, k))[0]):.5g}", f"{float(np.ravel(getattr(pr.start, k))[0]):.5g}",
                   f"{float(np.ravel(getattr(fit, k))[0]):.5g}"] for k in ("defocus", "Cs", "thickness")]
    truth_rows += [["A1 (x, y)", str(np.round(np.asarray(pr.truth.A1), 2)), str(np.round(np.asarray(pr.start.A1), 2)),
                    str(np.round(np.asarray(fit.A1), 2))]]
    ctx.table(["parameter [Å]", "true", "start", "hybrid fit"], truth_rows, caption="fitted vs true parameters")

    d_f, pos = polar_displacements(fit.xy, m.column_species, m.lengths)
    d_t, _ = polar_displacements(pr.truth.xy, m.column_species, m.lengths)
    fig, a = plt.subplots(figsize=(4.5, 4.5))
    a.imshow(data, cmap="gray", extent=(0, m.lengths[0], m.lengths[1], 0))
    a.quiver(pos[:, 0], pos[:, 1], 100 * d_t[:, 0], 100 * d_t[:, 1], color="c", angles="xy", scale_units="xy",
             scale=10, label="true")
    a.quiver(pos[:, 0], pos[:, 1], 100 * d_f[:, 0], 100 * d_f[:, 1], color="r", angles="xy", scale_units="xy",
             scale=10, label="fit", width=0.004)
    a.legend(loc="upper right")
    a.set_title("Ti–O displacement (×10 Å per pm-scaled arrow)")
    ctx.figure("displacements", fig, "Ti–O in-plane displacement per Ti column: true (cyan) and fitted (red).")

    _roi_field(ctx, small)


def _roi_field(ctx, small) -> None:
    """A field with a thickness gradient and a Ti–O displacement field, fitted ROI by ROI (batched)."""
    import matplotlib.pyplot as plt
    import numpy as np

    from ...hrtem.synthetic import batio3_field, fit_field

    fp = batio3_field(cells=6 if small else 10, roi_cells=2, repeats=8, sampling=0.25 if small else 0.125)
    r = fit_field(fp, stride=1, steps=20 if small else 40)
    uc = fp.field_model.unit_length
    n = int(round(np.sqrt(r["n_rois"])))
    ctx.text(f"<b>ROI field.</b> A {fp.cells}×{fp.cells}-cell field (thickness rising along the diagonal from "
             f"{fp.thickness_map.min() / uc:.1f} to {fp.thickness_map.max() / uc:.1f} unit cells; Ti columns displaced "
             "by a periodic field d = 8 pm·(cos 2πx/L, sin 2πy/L); 1e4 e⁻/Å²) is cut into "
             f"{r['n_rois']} overlapping 2×2-cell ROIs (stride 1 cell). All ROIs are fitted together (vmap over the ROI "
             "axis: thickness scan, then L-BFGS on thickness + column positions), then the column positions are "
             f"stitched (overlaps weighted towards ROI centres). {r['n_ok']}/{r['n_rois']} ROIs ok, "
             f"{r['time']:.1f} s.")
    ext = (0, fp.field_model.lengths[0], fp.field_model.lengths[1], 0)
    t_fit = r["thickness_fit"].reshape(n, n) / uc
    t_true = r["thickness_true"].reshape(n, n) / uc
    fig, ax = plt.subplots(1, 4, figsize=(16, 3.8))
    ax[0].imshow(fp.data, cmap="gray", extent=ext)
    for oy, ox in r["result"].origins[:: max(1, n + 1)]:
        ax[0].add_patch(plt.Rectangle((ox * fp.cell, oy * fp.cell), 2 * fp.cell, 2 * fp.cell, fill=False, color="y"))
    ax[0].set_title("field (noisy) and some ROIs")
    lo, hi = float(min(t_fit.min(), t_true.min())), float(max(t_fit.max(), t_true.max()))
    for a, img, title in ((ax[1], t_true, "true thickness [cells]"), (ax[2], t_fit, "fitted thickness [cells]")):
        im = a.imshow(img, vmin=lo, vmax=hi, cmap="viridis")
        a.set_title(title)
        a.set_xlabel("ROI column")
        a.set_ylabel("ROI row")
        fig.colorbar(im, ax=a, fraction=0.046, label="thickness [unit cells]")
    im = ax[3].imshow((t_fit - t_true) * uc, cmap="RdBu_r")
    ax[3].set_title("fit − truth [Å]")
    fig.colorbar(im, ax=ax[3], fraction=0.046, label="thickness error [Å]")
    fig.tight_layout()
    ctx.figure("roi_thickness", fig, "Field image, and per-ROI thickness: truth (mean over the ROI), fit, error.")

    pos, d_f, d_t = r["ti_xy"], r["d_fit"], r["d_true"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 5))
    ax[0].imshow(fp.data, cmap="gray", extent=ext)
    kw = dict(angles="xy", scale_units="xy", scale=0.04)
    ax[0].quiver(pos[:, 0], pos[:, 1], d_t[:, 0], d_t[:, 1], color="c", label="true", **kw)
    ax[0].quiver(pos[:, 0], pos[:, 1], d_f[:, 0], d_f[:, 1], color="r", width=0.004, label="fit (stitched)", **kw)
    ax[0].legend(loc="upper right")
    ax[0].set_title("Ti–O displacement (arrow length 1 Å ↔ 4 pm)")
    err = 100 * np.hypot(*(d_f - d_t).T)
    sc = ax[1].scatter(pos[:, 0], pos[:, 1], c=err, cmap="magma", s=120)
    ax[1].set_xlim(ext[0], ext[1])
    ax[1].set_ylim(ext[2], ext[3])
    ax[1].set_aspect("equal")
    ax[1].set_title("|d_fit − d_true| [pm] per Ti column")
    fig.colorbar(sc, ax=ax[1], fraction=0.046, label="displacement error [pm]")
    fig.tight_layout()
    ctx.figure("roi_displacements", fig, "Stitched Ti–O displacement field vs truth, and its error per Ti column.")
    ctx.table(["ROIs (ok)", "fit time [s]", "thickness RMS error [cells]", "thickness max error [cells]",
               "displacement RMS error [pm]", "displacement max error [pm]"],
              [[f"{r['n_rois']} ({r['n_ok']})", round(r["time"], 1), round(r["thickness_rms_cells"], 3),
                round(r["thickness_max_cells"], 3), round(100 * r["d_rms"], 2), round(100 * r["d_max"], 2)]],
              caption="ROI field: fitted vs true thickness (per ROI) and Ti–O displacement (stitched, per Ti column)")
