"""Write and execute notebooks/prism.ipynb. Run: python tools/make_prism_notebook.py [--no-execute]"""
from make_notebooks import write

write("prism.ipynb", [
    r"""md:# PRISM: STEM from a scattering matrix

Probe-by-probe multislice costs one multislice per scan position. PRISM (Ophus 2017) propagates the
plane waves inside the probe aperture once (the S-matrix) and builds every probe's exit wave as their
weighted sum; with interpolation factor f only every f-th plane wave is used and each probe is read
in a window of L/f around it. `stem_scan(..., method="prism", interpolation=f)` gives the same
`Measurement`s as multislice; `method="auto"` picks PRISM where it is faster and its error estimate
is below a tolerance. Everything is differentiable: the end of this notebook fits aberrations to a
4D-STEM data set through PRISM gradients. Small sizes so that it runs in CI.""",
    """import time
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import jaxem as jx
from jaxem.stem import (AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, build_smatrix,
                        choose_method, prism_error_estimate, prism_signals, probe_coefficients, stem_scan)
from jaxem.stem.prism import window_grid

A = 3.905
beam = jx.Beam("300 kV")
pot = jx.potential(jx.crystals.SrTiO3().repeat(4, 4, 2), gpts=(96, 96), slice_thickness=A)
sim = STEMSimulation(beam, 20.0, (AnnularDetector(25.0, 40.0, "ADF"), AnnularDetector(10.0, 20.0, "ABF")))
scan = GridScan.create((0, 0), (A, A), gpts=(6, 6))
print(pot.grid, pot.n_slices, "slices")""",
    r"""md:## Multislice and PRISM at f = 1, 2, 4

f = 1 is exact (multislice is linear in the incident wave); larger f uses f² times fewer plane waves
and windows of L/f, where the probe's tails and its periodic copies cost accuracy.""",
    """runs = {}
for label, kw in [("multislice", dict(method="multislice")), ("f=1", dict(method="prism", interpolation=1)),
                  ("f=2", dict(method="prism", interpolation=2)), ("f=4", dict(method="prism", interpolation=4))]:
    t0 = time.perf_counter()
    runs[label] = (stem_scan(sim, scan, pot, progress=False, **kw)["ADF"], time.perf_counter() - t0)
ref = np.asarray(runs["multislice"][0].array)
fig, axes = plt.subplots(2, 4, figsize=(14, 6), layout="constrained")
for j, (label, (m, t)) in enumerate(runs.items()):
    img = np.asarray(m.array)
    im = axes[0, j].imshow(img, cmap="gray", extent=m.extent()); axes[0, j].set_title(f"{label}: {t:.1f} s")
    fig.colorbar(im, ax=axes[0, j], label="fraction of beam")
    d = (img - ref) / ref.max(); lim = max(np.abs(d).max(), 1e-12)
    im = axes[1, j].imshow(d, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=m.extent())
    axes[1, j].set_title(f"(I − I_ms)/max: {lim:.1e}"); fig.colorbar(im, ax=axes[1, j], label="relative difference")
    for ax in axes[:, j]: ax.set_xlabel("x [Å]")
axes[0, 0].set_ylabel("y [Å]"); axes[1, 0].set_ylabel("y [Å]");""",
    r"""md:## What f does, and the accuracy model

PRISM's plane waves on every f-th reciprocal-lattice point build the probe's periodisation with period
L/f, so its exit wave is that of the whole probe array. Where the specimen repeats with the window
(here: 4 cells at f = 2 or 4), PRISM's 4D patterns are *exactly* the multislice patterns at its
(f times coarser) pixels; the error is in the detector integrals, a coarser quadrature of a pattern
whose fine structure comes from the exit wave's spread, which grows with thickness (the specimen's
beam spreading, not the vacuum probe's). `prism_errors` is the one error definition (images:
max|ΔI|/max I; patterns: relative L2 against the multislice pattern at PRISM's pixels, "sampled" or
"binned"); `prism_error_estimate` runs PRISM's construction by multislice at a few probe positions
and predicts the error of every detector. The signals do not share one error, so `method="auto"`
checks its tolerance against the worst detector and names it (`choose_method`, and the
`method_choice` metadata of an auto scan).""",
    """from jaxem.stem.prism_accuracy import prism_errors

sim4 = STEMSimulation(beam, 20.0, sim.detectors + (PixelatedDetector(30.0, name="4D"),))
scan4 = GridScan.create((0, 0), (A, A), gpts=(2, 2))
ms4 = stem_scan(sim4, scan4, pot, method="multislice", progress=False)
for f in (2, 4):
    pr4 = stem_scan(sim4, scan4, pot, method="prism", interpolation=f, progress=False)
    err = prism_errors(pr4, ms4, sim4, pot.grid, f)
    binned = prism_errors(pr4, ms4, sim4, pot.grid, f, compare="binned")["4D"]
    est = prism_error_estimate(sim4, pot, f, positions=scan4.positions().reshape(-1, 2))
    print(f"f={f}: window {est['window'][0]:.2f} Å | 4D binned {binned:.3f} | worst (model): {est['detector']}")
    for name in err:
        print(f"    {name:4s} error {err[name]:.2e}  model {est['detectors'][name]:.2e}")
big = GridScan.create((0, 0), pot.grid.extent, gpts=(64, 64))
for tol in (0.05, 0.1):  # method="auto" restricted to f = 4 (the decision stem_scan would make)
    c = choose_method(sim4, big, pot, tolerance=tol, interpolation=4)
    print(f"auto at f = 4, tolerance {tol:g}, 64 × 64 scan: {c.method}, decided by {c.detector!r}: {c.reason}")""",
    r"""md:## Aberration fit through PRISM gradients

The pure level: `build_smatrix` once, then `probe_coefficients(smatrix, semi_angle, Aberrations(...))`
and `prism_signals(...)` are differentiable in the aberrations. A 4D-STEM data set simulated at
C10 = −60 Å, C12 = 25 Å, φ12 = 0.6 rad is fitted from a wrong start by Adam.""",
    """sm = build_smatrix(pot, beam, 20.0, 2)
det = (PixelatedDetector(25.0, name="4D"),)
states = tuple(d.prepare(beam, window_grid(pot.grid, (2, 2))) for d in det)
g = np.linspace(0, A, 4, endpoint=False) + 0.3
pos = jnp.asarray(np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2), jnp.float32)

def patterns(p):
    ab = jx.Aberrations(C10=p[0], C12=p[1], phi12=p[2])
    return prism_signals(sm, pos, probe_coefficients(sm, 20.0, ab), det, states)[0]

true = jnp.asarray([-60.0, 25.0, 0.6])
data = patterns(true)
scale = 1.0 / float(jnp.mean(data ** 2))
loss_grad = jax.jit(jax.value_and_grad(lambda q: scale * jnp.mean((patterns(q) - data) ** 2)))
p, precond = jnp.asarray([-35.0, 8.0, 0.3]), jnp.asarray([1.0, 1.0, 0.02])
opt = optax.adam(1.5); state = opt.init(p / precond); hist = []
for _ in range(80):
    val, grad = loss_grad(p)
    upd, state = opt.update(grad * precond, state)
    p = p + upd * precond
    hist.append(float(val))
print("fitted C10, C12, φ12:", np.round(np.asarray(p), 3), " true:", np.asarray(true))
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.semilogy(hist); ax.set_xlabel("step"); ax.set_ylabel("loss (normalised MSE)");""",
])
