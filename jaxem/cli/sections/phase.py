"""Demo section: direct phase retrieval from a simulated 4D-STEM dataset, every method side by side.

The object is a weak phase object with atomic contrast (a hexagonal 2D lattice of Gaussian atoms with
one vacancy, 300 kV, 20 mrad, C10 = 150 Å, C12 = 20 Å, detector rotated by −8°), imaged with the
public weak-phase-object model :func:`jaxem.phase.simulate_dataset`. Shown: the aberration fit
from zero, iCoM / SSB / OBF / WDD / parallax (plain and flipped), the CTF-corrected (Wiener) tcBF and
parallax, Wiener-integrated DPC with the rotation from the data, upsampled parallax from a
2×-coarser scan, analytic transfer functions, and the streaming parallax at several stages of a
replayed acquisition with its frame rate, and imperfect descan before and after
``phase.remove_descan``.
"""
from __future__ import annotations

import time

import numpy as np

TITLE = "Direct phase retrieval (4D-STEM): iCoM/DPC, SSB, OBF, WDD, parallax, Wiener tcBF, streaming"
ORDER = 40


def run(ctx):
    import jax
    import matplotlib.pyplot as plt

    from ... import phase
    from ...optics.aberrations import Aberrations
    from ...phase import streaming

    n = 40 if ctx.small else 96
    samp, energy, semi = 0.25, 300e3, 20.0
    truth = Aberrations.create(C10=150.0, C12=20.0, phi12=np.deg2rad(25.0))
    theta = np.deg2rad(-8.0)
    phi = phase.lattice_phase(n, samp)
    true_ds = phase.simulate_dataset(phi, samp, energy, semi, truth, rotation=theta)
    # the data as measured: the true probe and detector orientation are unknown
    ds = true_ds.replace(array=true_ds.array.astype(np.float32), rotation=0.0, aberrations=Aberrations())
    stack = phase.bright_field_stack(ds)
    t0 = time.perf_counter()
    fit = phase.fit_parallax(stack)
    t_fit = time.perf_counter() - t0
    ab, rot = fit.aberrations, fit.rotation
    ctx.text(f"<p>Simulated {n}×{n} scan × {n}×{n} detector, 300 kV, 20 mrad. Aberrations fitted from the "
             f"bright-field parallax shifts, starting from zero, in {t_fit:.1f} s.</p>")
    ctx.table(("parameter", "true", "fitted"),
              [("C10 [Å]", truth.C10, float(ab.C10)), ("C12 [Å]", truth.C12, float(ab.C12)),
               ("φ12 [°]", np.rad2deg(truth.phi12), float(np.rad2deg(ab.phi12))),
               ("rotation [°]", np.rad2deg(theta), float(np.rad2deg(rot)))],
              caption="aberration fit from vBF shifts (zero start)")
    dsr = ds.replace(rotation=rot, aberrations=ab)

    def image(data, method, *args, **kw):
        return np.asarray(phase.reconstruct(data, method, *args, **kw).array)

    images = {
        "object φ": phi,
        "iCoM": image(dsr, "icom", descan_order=1),
        "SSB": image(stack, "ssb", ab, rot),
        "OBF": image(stack, "obf", ab, rot),
        "WDD (ε=1e-2)": image(dsr, "wdd", epsilon=1e-2),
        "parallax": image(stack, "parallax", ab, rot),
        "parallax, flipped": image(stack, "parallax", ab, rot, flip=True),
        "parallax, Wiener CTF-corrected": np.asarray(phase.wiener_parallax(stack, ab, rot)),
        "tcBF, channel Wiener": np.asarray(phase.wiener_direct(stack, ab, rot)),
        "DPC, Wiener (rotation from data)": np.asarray(phase.dpc(ds, ab, rotation="data").image),
    }
    # upsampled parallax from a 2× coarser scan (every second probe position)
    coarse = dsr.replace(array=ds.array[::2, ::2], scan_sampling=(2 * samp, 2 * samp))
    st2 = phase.bright_field_stack(coarse)
    images["parallax, scan 2× coarser"] = np.kron(image(st2, "parallax", ab, rot, flip=True), np.ones((2, 2)))
    images["… upsampled u=2"] = image(st2, "parallax", ab, rot, upsampling=2, flip=True)
    fig, axes = plt.subplots(3, 4, figsize=(14, 10.5))
    extent = (0, phi.shape[1] * samp, phi.shape[0] * samp, 0)
    for axx, (name, img) in zip(axes.ravel(), images.items()):
        im = axx.imshow(img, cmap="gray", extent=extent)
        c = np.corrcoef(img.ravel(), phi.ravel())[0, 1]
        axx.set_title(f"{name}\ncorr {c:.2f}", fontsize=9)
        axx.set_xlabel("x [Å]", fontsize=8)
        axx.set_ylabel("y [Å]", fontsize=8)
        fig.colorbar(im, ax=axx, fraction=0.046, label="rad")
    for axx in axes.ravel()[len(images):]:
        axx.axis("off")
    ctx.figure("methods", fig, "Every method on the same data (correlation with the true phase in titles). iCoM "
                              "and unflipped parallax are not aberration-compensated: at 150 Å defocus their "
                              "transfer changes sign in bands of q, hence their low or negative correlation; "
                              "SSB, OBF, WDD and flipped parallax compensate the fitted aberrations; the Wiener-corrected "
                              "tcBF also restores the frequencies at the zeros of sin χ; DPC takes the "
                              "detector rotation from the curl of its own CoM field (θ mod π: its sign "
                              "is fixed by the phase skewness)")

    fig, axx = plt.subplots(figsize=(6, 4))
    for m in ("ssb", "obf", "parallax", "icom"):
        t = np.asarray(phase.stack_transfer(m, stack, ab, rot))
        q, r = phase.radial_average(np.abs(t), ds.scan_sampling, bins=40, qmax=2.2 * stack.cutoff)
        axx.plot(q / stack.cutoff, r, label=m)
    axx.set_xlabel("q / k_probe")
    axx.set_ylabel("|T(q)| (azimuthal mean)")
    axx.legend()
    ctx.figure("transfer", fig, "Analytic transfer functions at the fitted aberrations")

    state = streaming.init(streaming.parallax_config(dsr, upsampling=1))
    frames = jax.numpy.asarray(np.asarray(ds.array).reshape(-1, n, n))
    total = frames.shape[0]
    snaps, t_stream = [], 0.0
    chunk = max(1, total // 8)
    for start in range(0, total, chunk):  # the driver: replays the acquisition chunk by chunk
        stop = min(total, start + chunk)
        t0 = time.perf_counter()
        state = streaming.step(state, frames[start:stop], np.arange(start, stop))
        jax.block_until_ready(state.image)
        t_stream += time.perf_counter() - t0
        if len(snaps) < 4 and stop >= (len(snaps) + 1) * total // 4:
            snaps.append((stop, np.asarray(streaming.result(state, flip=True))))
    fig, axes = plt.subplots(1, len(snaps), figsize=(3 * len(snaps), 3))
    for axx, (k, img) in zip(np.atleast_1d(axes), snaps):
        axx.imshow(img, cmap="gray")
        axx.set_title(f"{k}/{total} frames", fontsize=9)
        axx.axis("off")
    ctx.figure("streaming", fig, f"Streaming parallax during a replayed acquisition (positions not yet "
                                 f"acquired show the mean; {total / t_stream:.0f} frames/s including "
                                 f"compilation on this machine)")
    _descan(ctx, true_ds, phi, samp)
    _from_multislice(ctx)


def _descan(ctx, true_ds, phi, samp):
    """SSB and OBF of data whose pattern moves with the scan (imperfect descan), before and after
    :func:`jaxem.phase.remove_descan` (plane fitted to the pattern centre of mass)."""
    import matplotlib.pyplot as plt

    from ... import phase

    sy, sx = true_ds.scan_shape
    iy, ix = np.meshgrid(np.linspace(-1, 1, sy), np.linspace(-1, 1, sx), indexing="ij")
    d = np.stack([2.0 * iy, -1.5 * ix], -1)  # a plane of descan, ±2 / ±1.5 px [px]
    # the measurement: each pattern displaced by d(r) (resampling at k − d is the inverse of removing d)
    moved = phase.remove_descan(true_ds, descan=-d)
    fixed = phase.remove_descan(moved)
    rows, imgs = [], {}
    for label, data in (("no descan", true_ds), ("descan ±2 px", moved), ("descan removed", fixed)):
        st = phase.bright_field_stack(data)
        for m in ("ssb", "obf"):
            img = np.asarray(phase.reconstruct(st, m, true_ds.aberrations, true_ds.rotation).array)
            imgs[(label, m)] = img
        rows.append((label, *(f"{np.corrcoef(imgs[(label, m)].ravel(), phi.ravel())[0, 1]:.3f}" for m in ("ssb", "obf"))))
    ctx.table(("data", "SSB corr", "OBF corr"), rows,
              caption="imperfect descan: the disk moving with the scan swamps the bright-field methods; "
                      "phase.remove_descan fits the plane to the pattern centre of mass and resamples")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    extent = (0, phi.shape[1] * samp, phi.shape[0] * samp, 0)
    for axx, label in zip(axes, ("no descan", "descan ±2 px", "descan removed")):
        im = axx.imshow(imgs[(label, "obf")], cmap="gray", extent=extent)
        axx.set_title(f"OBF, {label}", fontsize=9)
        axx.set_xlabel("x [Å]", fontsize=8)
        axx.set_ylabel("y [Å]", fontsize=8)
        fig.colorbar(im, ax=axx, fraction=0.046, label="rad·SNR")
    fig.tight_layout()
    ctx.figure("descan", fig, "OBF of the same object with a plane of descan (±2 px, ±1.5 px) and after "
                              "phase.remove_descan (fitted from the data)")


def _from_multislice(ctx):
    """SSB and parallax of a 4D-STEM dataset simulated by jaxem's multislice (thin SrTiO3 [001])."""
    import matplotlib.pyplot as plt

    from ...optics.aberrations import Aberrations
    from ...phase import Dataset4D, bright_field_stack, parallax, ssb
    from ...potential import potential
    from ...stem import GridScan, PixelatedDetector, STEMSimulation, stem_scan
    from ...structure import crystals

    cells = 3
    sto = crystals.SrTiO3().repeat(cells, cells, 2)  # ~7.8 Å: close to a weak phase object
    pot = potential(sto, sampling=0.1, slice_thickness=1.953)
    ab = Aberrations.create(defocus=-120.0)
    sim = STEMSimulation(300e3, 20.0, (PixelatedDetector(30.0),), aberrations=ab)
    n = 24 if ctx.small else 48
    scan = GridScan.create((0.0, 0.0), pot.grid.extent, gpts=(n, n))  # periodic scan over the cell
    res = stem_scan(sim, scan, pot, progress=False)["pixelated"]
    ds = Dataset4D.from_measurement(res)  # the simulation's 4D-STEM layout: axes, energy, semi-angle
    ds = ds.replace(array=np.asarray(ds.array, np.float32))
    my, mx = ds.detector_shape
    stack = bright_field_stack(ds)
    img_ssb = np.asarray(ssb(stack, ab, 0.0))
    img_par = np.asarray(parallax(stack, ab, 0.0, flip=True))
    proj = np.asarray(pot.full().sum(0))
    step = proj.shape[0] // n
    ref = proj[::step, ::step][:n, :n] if step >= 1 else proj
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
    for axx, (name, im) in zip(axes, (("projected potential", ref), ("SSB", img_ssb), ("parallax, flipped", img_par))):
        axx.imshow(im, cmap="gray")
        c = np.corrcoef(im.ravel(), ref.ravel())[0, 1] if im.shape == ref.shape else float("nan")
        axx.set_title(f"{name}" + ("" if name.startswith("proj") else f"\ncorr {c:.2f}"), fontsize=9)
        axx.axis("off")
    ctx.figure("multislice", fig, f"From jaxem's own multislice: SrTiO3 [001], {len(sto)} atoms, 7.8 Å thick, "
                                  f"300 kV, 20 mrad, Δf = −120 Å, {n}×{n} scan × {my}×{mx} pixels "
                                  "(jaxem.stem.stem_scan → jaxem.phase)")
