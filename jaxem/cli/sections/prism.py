"""Demo: PRISM vs multislice STEM of SrTiO3 [001] — HAADF, ABF and 4D-STEM at f = 1, 2, 4 side by side
with difference maps and timings, and an aberration fit to a simulated 4D-STEM data set through
gradients of the S-matrix reduction."""
from __future__ import annotations

TITLE = "PRISM: S-matrix STEM vs multislice, and an aberration fit through PRISM gradients"
ORDER = 42

A = 3.905


def simulate(small: bool):
    """{method label: (results, seconds)} for multislice and PRISM at f = 1, 2, 4, plus the setup."""
    import time

    from jaxem.beam import Beam
    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, stem_scan
    from jaxem.structure import crystals

    cells, nz, gp, ns = (4, 4, 160, 8) if small else (8, 26, 400, 32)
    pot = potential(crystals.SrTiO3().repeat(cells, cells, nz), gpts=(gp, gp), slice_thickness=A / 2)
    haadf_outer = min(200.0, 0.98 * Beam(300e3).cutoff_angle(pot.grid))  # what the grid's band holds
    dets = (AnnularDetector(0.55 * haadf_outer, haadf_outer, "HAADF"), AnnularDetector(10.0, 20.0, "ABF"),
            PixelatedDetector(40.0, name="4D"))
    sim = STEMSimulation(300e3, 20.0, dets)
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(ns, ns))
    out = {}
    for label, kw in (("multislice", dict(method="multislice")), ("PRISM f=1", dict(method="prism", interpolation=1)),
                      ("PRISM f=2", dict(method="prism", interpolation=2)),
                      ("PRISM f=4", dict(method="prism", interpolation=4))):
        t0 = time.perf_counter()
        res = stem_scan(sim, scan, pot, progress=False, **kw)
        out[label] = (res, time.perf_counter() - t0)
    return out, dict(cells=cells, nz=nz, grid=pot.grid, pot=pot, sim=sim, scan=scan)


def figure_images(out, name: str, cmap="gray"):
    import matplotlib.pyplot as plt
    import numpy as np

    labels = list(out)
    ref = np.asarray(out["multislice"][0][name].array)
    fig, axes = plt.subplots(2, len(labels), figsize=(3.6 * len(labels), 6.4), squeeze=False)
    ext = out["multislice"][0][name].extent()
    for j, label in enumerate(labels):
        img = np.asarray(out[label][0][name].array)
        im = axes[0, j].imshow(img, cmap=cmap, extent=ext, vmin=ref.min(), vmax=ref.max())
        axes[0, j].set_title(f"{label} ({out[label][1]:.1f} s)", fontsize=9)
        fig.colorbar(im, ax=axes[0, j], shrink=0.8, label="fraction of beam")
        diff = (img - ref) / ref.max()
        lim = max(float(np.abs(diff).max()), 1e-12)
        im = axes[1, j].imshow(diff, cmap="RdBu_r", extent=ext, vmin=-lim, vmax=lim)
        axes[1, j].set_title(f"difference / max: {lim:.1e}", fontsize=9)
        fig.colorbar(im, ax=axes[1, j], shrink=0.8, label="(I − I_ms) / max I_ms")
        for ax in axes[:, j]:
            ax.set_xlabel("x [Å]")
    axes[0, 0].set_ylabel("y [Å]")
    axes[1, 0].set_ylabel("y [Å]")
    fig.tight_layout()
    return fig


def figure_patterns(out):
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import LogNorm

    labels = list(out)
    fig, axes = plt.subplots(1, len(labels), figsize=(3.6 * len(labels), 3.4), squeeze=False)
    for ax, label in zip(axes[0], labels):
        m = out[label][0]["4D"]
        dp = np.asarray(m.array[0, 0])
        im = ax.imshow(np.clip(dp, dp.max() * 1e-5, None), norm=LogNorm(dp.max() * 1e-5, dp.max()), cmap="inferno",
                       extent=m.extent()[-4:] if len(m.extent()) > 4 else m.extent())
        ax.set_title(f"{label}: {dp.shape[0]}² px of {m.axes[-1].sampling:.2f} mrad", fontsize=9)
        ax.set_xlabel("θx [mrad]")
        fig.colorbar(im, ax=ax, shrink=0.8, label="fraction per pixel")
    axes[0, 0].set_ylabel("θy [mrad]")
    fig.tight_layout()
    return fig


def aberration_fit(small: bool, n_steps=None):
    """Fit C10, C12, φ12 to a simulated 4D-STEM data set by gradient descent through PRISM (f = 2).
    Returns (true, start, history of (loss, C10, C12, φ12))."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from jaxem.beam import Beam
    from jaxem.optics import Aberrations
    from jaxem.potential import potential
    from jaxem.stem import PixelatedDetector, build_smatrix, prism_signals, probe_coefficients
    from jaxem.stem.prism import window_grid
    from jaxem.structure import crystals

    pot = potential(crystals.SrTiO3().repeat(4, 4, 2), gpts=(96, 96), slice_thickness=A)
    beam = Beam(300e3)
    sm = build_smatrix(pot, beam, 20.0, 2)
    det = (PixelatedDetector(25.0, name="4D"),)
    states = tuple(d.prepare(beam, window_grid(pot.grid, (2, 2))) for d in det)
    g = np.linspace(0, A, 4, endpoint=False) + 0.3
    pos = jnp.asarray(np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2), jnp.float32)

    def patterns(p):
        ab = Aberrations(C10=p[0], C12=p[1], phi12=p[2])
        return prism_signals(sm, pos, probe_coefficients(sm, 20.0, ab), det, states)[0]

    true = jnp.asarray([-60.0, 25.0, 0.6])
    data = patterns(true)
    scale = 1.0 / float(jnp.mean(data ** 2))

    @jax.jit
    def loss_grad(p):
        return jax.value_and_grad(lambda q: scale * jnp.mean((patterns(q) - data) ** 2))(p)

    p = jnp.asarray([-30.0, 5.0, 0.2])
    start = p
    opt = optax.adam(1.0)
    precond = jnp.asarray([1.0, 1.0, 0.02])  # per-parameter scales [Å, Å, rad]: steps of ~1 Å and ~0.02 rad
    state = opt.init(p / precond)
    hist = []
    for _ in range(n_steps or (80 if small else 200)):
        val, grad = loss_grad(p)
        upd, state = opt.update(grad * precond, state)
        p = p + upd * precond
        hist.append([float(val)] + [float(v) for v in p])
    return np.asarray(true), np.asarray(start), np.asarray(hist)


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    out, setup = simulate(ctx.small)
    g = setup["grid"]
    ctx.text(f"<p>SrTiO3 [001], {setup['cells']}×{setup['cells']}×{setup['nz']} cells, 300 kV, 20 mrad probe, "
             f"{g.gpts[0]}² grid at {g.sampling[0]:.3f} Å; a {setup['scan'].gpts[0]}² scan over one unit cell by "
             "probe-by-probe multislice and by PRISM (S-matrix of plane waves, interpolation f, each probe's exit "
             "wave read in a window of L/f). f = 1 equals multislice to round-off; f = 2 and 4 trade accuracy for "
             "fewer plane waves (timings include compilation on this machine).</p>")
    for name, cmap in (("HAADF", "gray"), ("ABF", "gray")):
        ctx.figure(f"prism_{name.lower()}", figure_images(out, name, cmap),
                   f"{name} by multislice and PRISM (top) and the difference to multislice (bottom).")
    ctx.figure("prism_4d", figure_patterns(out), "4D-STEM pattern at the first scan position, log scale: PRISM's "
                                                 "patterns lie on an f times coarser angular grid.")
    rows = []
    from jaxem.stem import prism_error_estimate
    from jaxem.stem.prism_accuracy import prism_errors

    sim, pot, ms = setup["sim"], setup["pot"], out["multislice"][0]
    pos = setup["scan"].positions().reshape(-1, 2)[:: max(1, setup["scan"].n_positions // 4)]
    for label, (res, t) in out.items():
        f = res["HAADF"].metadata.get("interpolation", ["–"])[0]
        if f == "–":
            rows.append([label, f"{t:.2f}", "–", "–", "–", "–", "–"])
            continue
        err = prism_errors(res, ms, sim, pot.grid, f)
        binned = prism_errors(res, ms, sim, pot.grid, f, compare="binned")["4D"]
        est = prism_error_estimate(sim, pot, f, positions=pos)
        rows.append([label, f"{t:.2f}", res["HAADF"].metadata.get("n_plane_waves", "–"), f"{err['HAADF']:.2e}",
                     f"{est['detectors']['HAADF']:.2e}", f"{err['ABF']:.2e}", f"{est['detectors']['ABF']:.2e}",
                     f"{err['4D']:.1e}", f"{binned:.3f}", f"{est['detector']} ({est['error']:.1e})"])
    ctx.table(["method", "time [s]", "plane waves", "HAADF max|Δ|/max", "model", "ABF max|Δ|/max", "model",
               "4D sampled", "4D binned", "worst (model)"], rows,
              "Timings and errors against multislice (jaxem.stem.prism_accuracy.prism_errors: images max|ΔI|/max I; "
              "4D relative L2 against the multislice pattern at PRISM's pixels, sampled at the same angles or "
              "binned into them); the model is PRISM's construction by multislice at 4 of the positions, every "
              "detector judged, and method='auto' checks its tolerance against the worst of them.")
    import html

    from jaxem.stem import GridScan, choose_method

    big = GridScan.create((0.0, 0.0), setup["grid"].extent, gpts=(64, 64))
    lines = []
    for tol in (1e-2, 1e-1):
        c = choose_method(sim, big, pot, tolerance=tol)
        lines.append(f"<li>tolerance {tol:g}: <b>{c.method}</b>"
                     f"{'' if c.interpolation is None else f' at f = {c.interpolation[0]}'} — {html.escape(c.reason)}</li>")
    ctx.text("<p>What <code>stem_scan(method='auto')</code> would choose for a 64 × 64 scan of this cell "
             "(<code>jaxem.stem.choose_method</code>; the decision and the detector that made it are also in "
             "every result's <code>method_choice</code> metadata):</p><ul>" + "".join(lines) + "</ul>")

    true, start, hist = aberration_fit(ctx.small)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].semilogy(hist[:, 0])
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss (normalised mean squared difference)")
    for i, (name, unit) in enumerate((("C10", "Å"), ("C12", "Å"), ("φ12 ×100", "rad/100"))):
        s = 100.0 if i == 2 else 1.0
        axes[1].plot(hist[:, i + 1] * s, label=f"{name} [{unit}]", color=f"C{i}")
        axes[1].axhline(true[i] * s, color=f"C{i}", ls=":")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("coefficient")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    ctx.figure("prism_aberration_fit", fig, "Aberration fit to a simulated 4D-STEM data set (16 positions, PRISM "
                                            "f = 2) by Adam on gradients through the S-matrix reduction; dotted: "
                                            "true values.")
    ctx.table(["", "C10 [Å]", "C12 [Å]", "φ12 [rad]"],
              [["true"] + [f"{v:.3f}" for v in true], ["start"] + [f"{v:.3f}" for v in start],
               ["fitted"] + [f"{v:.3f}" for v in hist[-1, 1:]]], "Aberration fit")
