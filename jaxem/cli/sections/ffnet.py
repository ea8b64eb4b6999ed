"""Demo: FFT spot detection and indexing — database tables, the U-Net's training curve, detections vs
dose against the classical baselines, indexing of a two-grain image, and the annotation GUI."""
from __future__ import annotations

TITLE = "FFT spots: database, U-Net detection, zone-axis indexing, annotation GUI"
ORDER = 90

SI, AL2O3 = "ncrystal:Si_sg227", "ncrystal:Al2O3_sg167_Corundum"


def _bank(small):
    from jaxem.ml import Bank, get_structure, simulate_zone

    th = (60.0,) if small else (40.0, 100.0, 180.0)
    fd = (0.0,) if small else (-150.0, 0.0, 150.0)
    b1, _ = simulate_zone(get_structure(SI), (1, 1, 0), th, fd, entry=0)
    b2, _ = simulate_zone(get_structure(AL2O3), (0, 0, 1), th, fd, entry=1)
    return Bank.concatenate([b1, b2])


def run(ctx):
    import jax
    import matplotlib.pyplot as plt
    import numpy as np

    from jaxem.ml import candidates, evaluate, get_structure, index_spots, lattice, peaks, render, train, zone_table
    from jaxem.ml.kinematic import zone_frame

    # 1. database tables
    si = get_structure(SI)
    t = zone_table(si, (1, 1, 0), frame=zone_frame(si, (1, 1, 0)))
    rows = [[str(tuple(int(x) for x in t.hkl[i])), round(float(t.d[i]), 4), round(float(t.amplitude[i]), 3),
             bool(t.allowed[i])] for i in range(0, min(12, len(t.d)))]
    ctx.text("<p>Each database entry (structure, zone axis) holds the kinematic reflections (|g|, d, |F| with the "
             "NCrystal Debye–Waller factor; forbidden reflections flagged) and the sorted (|g_a|, |g_b|, ∠) pair "
             "table the indexer looks up. Si [110], first reflections:</p>")
    ctx.table(["hkl", "d [Å]", "|F| [Å]", "allowed"], rows, "Si [110] kinematic reflections (Lobato f_e, DW).")

    # 2. training curve of the shipped weights
    config, variables, info = train.load_default()
    curve = np.array(info.get("curve", [[0, np.nan]]))
    fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    ax.plot(curve[:, 0], curve[:, 1], "o-", ms=3)
    ax.set_xlabel("training step"); ax.set_ylabel("weighted BCE loss"); ax.set_yscale("log")
    ctx.figure("training_curve", fig, f"Training curve of the shipped U-Net (f = {config.filters}, "
                                      f"{info.get('steps')} steps on CPU, batches rendered on device).")

    # 3. detections vs dose (U-Net vs baselines)
    bank = render.device_bank(_bank(ctx.small))
    doses = (2.0, 20.0, 100.0)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    f1 = []
    methods = ("U-Net", "peak_local_max", "blob_log")
    for ax, dose in zip(axes, doses):
        # the same four images at every dose (one key): the labels (visible at 100 e⁻/px) are the same
        cfg = render.RenderConfig(dose=(dose, dose), p_two_grains=0.0)
        smp = jax.device_get(render.render_batch(jax.random.PRNGKey(3), bank, 4, cfg))
        prob = np.asarray(peaks.probability(smp.fft, config, variables))
        strict = {m: [0, 0, 0] for m in methods}
        easy = {m: [0, 0, 0] for m in methods}
        for b in range(4):
            mag = np.asarray(render.fft_input(smp.image[b])[1])
            true = smp.spots[b][smp.visible[b]]
            certain, hard = evaluate.split_difficult(smp.spots[b], smp.visible[b], smp.snr[b])
            dose_b = lattice.effective_dose(np.asarray(smp.image[b], float))  # from the image's own shot noise
            found = {"U-Net": peaks.peaks_from_probability(prob[b], mag, dose=dose_b)[0],
                     "peak_local_max": peaks.detect_peak_local_max(mag)[0], "blob_log": peaks.detect_blob_log(mag)[0]}
            for m, pos in found.items():
                strict[m] = [a + c for a, c in zip(strict[m], peaks.match(pos, true, 2.0)[:3])]
                tally = peaks.match(pos, smp.spots[b][certain], 2.0, ignore=smp.spots[b][hard])[:3]
                easy[m] = [a + c for a, c in zip(easy[m], tally)]
            if b == 0:
                im = ax.imshow(smp.fft[0], cmap="gray", vmin=-2, vmax=8)
                ax.plot(true[:, 1], true[:, 0], "o", mfc="none", mec="lime", ms=9, label="label (visible at 100 e⁻/px)")
                u = found["U-Net"]
                ax.plot(u[:, 1], u[:, 0], "+", color="red", ms=7, label="U-Net")
                ax.set_title(f"{dose:g} e⁻/px"); ax.set_xlabel("k_x [px]"); ax.set_ylabel("k_y [px]")
        f1.append([dose] + [round(peaks.scores(*strict[m])["f1"], 3) for m in methods]
                  + [round(peaks.scores(*easy[m])["f1"], 3) for m in methods])
    axes[0].legend(loc="lower left", fontsize=8)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="robust z of log(1 + |F|)")
    ctx.figure("detections", fig, "Detections (red: U-Net, then the lattice step with the dose read from each image's shot noise) and the labelled spots (green: visible at the label dose, "
                                  "100 e⁻/px) on canonical FFTs of the same simulated HRTEM image (multislice + "
                                  "partial coherence) at three doses.")
    ctx.table(["dose [e⁻/px]"] + [f"F1 {m}" for m in methods] + [f"F1 {m} (difficult ignored)" for m in methods], f1,
              "Detection F1 (one-to-one, 2 px) on 4 images per dose (demo size; the benchmark has the full set): "
              "strict, and with the spots of expected SNR 3.5–6.5 at the label dose treated as difficult (neither "
              "rewarded nor penalised, the PASCAL VOC convention).")

    # 4. indexing of a two-grain image
    al = get_structure(AL2O3)
    tables = {(SI, (1, 1, 0)): t, (AL2O3, (0, 0, 1)): zone_table(al, (0, 0, 1), frame=zone_frame(al, (0, 0, 1)))}
    for uvw in [(1, 0, 0), (1, 1, 1), (2, 1, 1)]:
        tables[(SI, uvw)] = zone_table(si, uvw)
    cands = candidates(tables)
    cfg = render.RenderConfig(dose=(60.0, 60.0), p_two_grains=1.0, p_full=1.0)
    smp = jax.device_get(render.render_batch(jax.random.PRNGKey(11), bank, 8, cfg))
    pick = int(np.argmax([len(set(np.asarray(e).tolist())) for e in smp.entry]))
    spots = peaks.detect(x=smp.fft[pick], fft_mag=np.asarray(render.fft_input(smp.image[pick])[1]),
                         config=config, variables=variables,
                         dose=lattice.effective_dose(np.asarray(smp.image[pick], float)))
    grains = index_spots(spots.g, cands)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
    im0 = axes[0].imshow(smp.image[pick], cmap="gray")
    axes[0].set_title("two-grain HRTEM image (counts)"); axes[0].set_xlabel("x [px, 0.4 Å]"); axes[0].set_ylabel("y [px]")
    fig.colorbar(im0, ax=axes[0], shrink=0.8, label="counts")
    im1 = axes[1].imshow(smp.fft[pick], cmap="gray", vmin=-2, vmax=8)
    fig.colorbar(im1, ax=axes[1], shrink=0.8, label="robust z of log(1 + |F|)")
    colors = ["red", "cyan", "yellow"]
    for k, G in enumerate(grains):
        p = spots.positions[G.spots]
        axes[1].plot(p[:, 1], p[:, 0], "o", mfc="none", mec=colors[k % 3], ms=8,
                     label=f"{G.phase.split(':')[1].split('_')[0]} [{' '.join(map(str, G.uvw))}]")
    axes[1].legend(fontsize=8, loc="lower left"); axes[1].set_title("indexed grains")
    axes[1].set_xlabel("k_x [px]"); axes[1].set_ylabel("k_y [px]")
    truth = " + ".join(("Si [110]", "Al2O3 [001]")[int(e)] for e in smp.entry[pick])
    ctx.figure("two_grains", fig, f"Greedy grain separation: {len(grains)} grain(s) found; truth: {truth}.")
    ctx.table(["grain", "phase", "[uvw]", "θ [deg]", "scale", "spots", "ambiguous"],
              [[k + 1, G.phase, str(list(G.uvw)), round(G.rotation_deg, 2), round(G.scale, 4), len(G.spots), G.ambiguous]
               for k, G in enumerate(grains)], "Indexing result (refined by optax least squares).")
    _screenshot(ctx, smp.image[pick])


def _screenshot(ctx, image):
    """The GUI in headless Chromium (when Debian's chromium is installed)."""
    import shutil
    import tempfile
    import threading
    from pathlib import Path

    import numpy as np

    chromium = shutil.which("chromium")
    if chromium is None:
        ctx.text("<p>(GUI screenshot skipped: chromium is not installed.)</p>")
        return
    from playwright.sync_api import sync_playwright

    from jaxem.ml import database as db
    from jaxem.ml import get_structure, zone_table
    from jaxem.ml.gui import make_server

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db.zarr"
        t = zone_table(get_structure(SI), (1, 1, 0))
        db.write_entry(path, SI, t, {"images": np.asarray(image, np.float32)[None]})
        srv = make_server(path, port=0)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                br = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
                page = br.new_page(viewport={"width": 1300, "height": 760})
                page.goto(f"http://127.0.0.1:{srv.server_address[1]}/")
                page.wait_for_function("document.querySelectorAll('#entry option').length > 0")
                page.click("#load")
                page.wait_for_function("window.ffnet.fftImg !== null")
                page.click("#detect")
                page.wait_for_function("document.getElementById('status').textContent.startsWith('detected')",
                                       timeout=120000)
                png = Path(tmp) / "gui.png"
                page.screenshot(path=str(png))
                br.close()
        finally:
            srv.shutdown()
            srv.server_close()
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(11, 6.5), layout="constrained")
        ax.imshow(plt.imread(png)); ax.set_axis_off()
        ctx.figure("gui", fig, "The annotation GUI (jaxem ml gui) after loading an image and running the U-Net.")
