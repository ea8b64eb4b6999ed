"""Demo: quantitative STEM-EDS on a synthetic ZnO wedge — Cliff–Lorimer vs ζ-factor."""
from __future__ import annotations

import numpy as np

TITLE = "Quantitative STEM-EDS: Cliff–Lorimer vs ζ-factor on a ZnO wedge"
ORDER = 50

METHOD_STYLE = {"CL standard": "C0-", "CL standardless": "C1--", "CL + AC (true t)": "C2:",
                "zeta + AC": "C3-"}


def run(ctx) -> None:
    import matplotlib.pyplot as plt

    from ...eds.wedge import zno_wedge
    from ...measurement import Axis, Measurement

    if True:  # float32 unless JAX's 64-bit mode is on
        n = 61 if ctx.small else 301
        res = zno_wedge(seed=0, n_points=n, live_time_s=10.0)
        t = res["thickness_nm"]
        ctx.text(
            "A wedge-shaped ZnO lamella (Zn:O = 50:50 at.%), 0–300 nm, 200 kV, take-off angle 22°, "
            "1 nA × 10 s per profile point (e.g. 10 pixels × 1 s summed across the profile): O Kα and Zn Kα counts from the ζ-factor equation with thin-film "
            "absorption and Poisson noise. Quantified per pixel by Cliff–Lorimer (k from a 10 nm "
            "standard; theoretical k), CL with absorption correction at the true thickness, and the "
            "ζ-factor method (ζ from a 50 nm standard) with its iterative absorption correction. "
            "Pixels with no counts (t = 0) are flagged 'no signal', not NaN."
        )
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
        ok = res["status"] == 0
        for m, o in res["o_at"].items():
            ax[0].plot(t[ok], o[ok], METHOD_STYLE[m], label=m)
        ax[0].fill_between(t[ok], 50 - res["o_sigma"][ok], 50 + res["o_sigma"][ok], color="C3", alpha=0.15,
                           label="ζ ±1σ (Poisson)")
        ax[0].axhline(50, color="k", lw=0.6)
        ax[0].set(xlabel="thickness [nm]", ylabel="O [at.%]", ylim=(15, 60), title="apparent O content")
        ax[0].legend(fontsize=7)
        ax[1].plot(t[ok], res["thickness_zeta_nm"][ok], "C3.", ms=4, label="ζ-factor")
        ax[1].plot(t, t, "k-", lw=0.6, label="true")
        ax[1].set(xlabel="true thickness [nm]", ylabel="thickness from ρt/ρ [nm]", title="thickness")
        ax[1].legend(fontsize=8)
        ctx.figure("wedge_profile", fig, "O at.% vs thickness for each method, and the ζ-factor thickness")

        idx = [int(np.argmin(np.abs(t - x))) for x in (50, 100, 200, 300)]
        rows = [[m] + [float(res["o_at"][m][i]) for i in idx] for m in res["o_at"]]
        rows.append(["ζ thickness / true"] + [float(res["thickness_zeta_nm"][i] / t[i]) for i in idx])
        ctx.table(["method", "50 nm", "100 nm", "200 nm", "300 nm"], rows,
                  "O at.% (true 50) at selected thicknesses (noisy profile)")

        # sensitivity (noise-free): take-off angle and attenuation table
        toas = [18.0, 20.0, 22.0, 24.0, 26.0]
        fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
        for toa in toas:
            r = zno_wedge(seed=0, n_points=61, toa=toa, noise=False)
            ax[0].plot(r["thickness_nm"][1:], r["o_at"]["zeta + AC"][1:], label=f"ζ, assumed {toa:g}°")
        ax[0].axhline(50, color="k", lw=0.6)
        ax[0].set(xlabel="thickness [nm]", ylabel="O [at.%]", title="ζ + AC: assumed TOA (true 22°)")
        ax[0].legend(fontsize=7)
        rows = []
        for tt, ta in (("chantler", "chantler"), ("elam", "chantler"), ("chantler", "elam")):
            r = zno_wedge(seed=0, n_points=61, table_true=tt, table=ta, noise=False)
            lab = f"data {tt}, analysis {ta}"
            ax[1].plot(r["thickness_nm"][1:], r["o_at"]["zeta + AC"][1:], label=lab)
            rows.append([lab] + [float(r["o_at"]["zeta + AC"][i]) for i in (10, 20, 40, 60)]
                        + [float(r["thickness_zeta_nm"][60] / 300.0)])
        ax[1].axhline(50, color="k", lw=0.6)
        ax[1].set(xlabel="thickness [nm]", ylabel="O [at.%]", title="ζ + AC: μ/ρ table")
        ax[1].legend(fontsize=7)
        ctx.figure("wedge_sensitivity", fig, "Sensitivity of the ζ-factor result to the assumed "
                   "take-off angle and to the mass attenuation table (noise-free)")
        ctx.table(["tables", "50 nm", "100 nm", "200 nm", "300 nm", "t/true at 300 nm"], rows,
                  "ζ + AC O at.% when data and analysis use different μ/ρ tables")
        ctx.data("wedge_o_at", Measurement(
            np.stack([res["o_at"][m] for m in res["o_at"]]),
            (Axis("method"), Axis("thickness", float(t[1] - t[0]), "nm")),
            {"methods": list(res["o_at"]), "quantity": "O at.%"}))
