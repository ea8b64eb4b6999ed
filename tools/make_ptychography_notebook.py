"""Write and execute notebooks/ptychography.ipynb. Run: python tools/make_ptychography_notebook.py [--no-execute]"""
from make_notebooks import write

write("ptychography.ipynb", [
    r"""md:# Multislice ptychography where the weak-phase methods fail: thick and low-voltage SrTiO3

jaxem's multislice is differentiable, so it is also the forward model of gradient-based
ptychography (`jaxem.ptycho`): the object is a stack of transmission slices e^{iφ−μ}, the probe has
incoherent modes, and positions and aberrations can be fitted, all with optax in mini-batches of scan
positions. Here one SrTiO3 [001] crystal (2×2 cells) is simulated thin (2 cells, 0.8 nm) and thick
(8 cells, 3.1 nm; the benchmark uses 10 nm) at 300 kV and 30 kV (4D-STEM in an SEM), with Poisson
noise at 10⁵ e⁻/Å², 12×12 positions (0.65 Å steps), and reconstructed by SSB, flipped parallax, Wiener
parallax, iCoM and multislice ptychography with k_z (depth) and total-variation regularisers.

At 30 kV and 3.1 nm the exit wave is far from e^{iσΣv} (channelling): the linear response of the data
inverts, so SSB and parallax show inverted contrast — and so did ptychography started from vacuum,
whose first gradient is that same linear response. Ptychography here starts from the integrated centre
of mass (`start="icom"`, the default for a grid scan): by Ehrenfest's theorem the CoM is the
probe-weighted potential gradient at any thickness, so its sign is right, and the data set its scale.
That case also needs 4 slices: with 2 slices of 1.6 nm the true object's own error (`truth_error`) is
0.097 — a 2-slice model cannot represent these data.

Units: lengths Å, angles mrad, phases rad.""",
    """import matplotlib.pyplot as plt
import numpy as np

from jaxem import ptycho""",
    r"""md:## Simulate and reconstruct every case

`ptycho.simulate_crystal` runs `jaxem.stem_scan` (multislice, pixelated detector) over the periodic
cell; `ptycho.compare_methods` runs the direct methods of `jaxem.phase` and `ptycho.reconstruct`, and
correlates each with the true projected potential: the direct methods on the scan grid, each
ptychographic slice both resampled to that grid and on its own fine grid (truth low-passed to the
detector edge, the information limit of the data). Both halves of a perfect crystal hold the same atoms,
so the slice truths are one image: this scores each slice, not depth resolution.""",
    """# (beam, thickness [unit cells], semi-angle [mrad], detector edge [mrad], slices)
cases = [("300 kV", 2, 20.0, 45.0, 2), ("300 kV", 8, 20.0, 45.0, 2), ("30 kV", 2, 30.0, 90.0, 2), ("30 kV", 8, 30.0, 90.0, 4)]
results = {}
for energy, layers, semi, mx, n_slices in cases:
    ds, pot = ptycho.simulate_crystal(energy, n_layers=layers, semiangle=semi, max_angle=mx, dose=1e5, scan_gpts=12)
    results[(energy, layers)] = ptycho.compare_methods(ds, pot, n_slices=n_slices, iterations=30, dose=1e5,
                                                       ptycho_kwargs=dict(batch=12, rate_object=0.03, kz=1.0, tv=3e-3))
for (energy, layers), out in results.items():
    c = out["correlations"]
    print(f"{energy:>6}, {layers * ptycho.UNIT_CELL / 10:.1f} nm:  SSB {c['SSB']:.2f}  parallax {c['parallax (flipped)']:.2f}"
          f"  Wiener parallax {c['Wiener parallax']:.2f}  iCoM {c['iCoM']:.2f}")
    print(f"      ptycho slices (scan grid) {np.round(c['ptychography (per slice, scan grid)'], 2)}"
          f"  (fine grid) {np.round(c['ptychography (per slice)'], 2)}"
          f"  error {out['result'].error:.4f} (true object: {out['truth_error']:.4f})")""",
    r"""md:## Images

Truth (total projected phase on the scan grid), SSB, iCoM and the exit-side ptychographic slice.""",
    """fig, axes = plt.subplots(len(results), 4, figsize=(11, 11))
for row, ((energy, layers), out) in zip(axes, results.items()):
    panels = [("truth σΣv", out["truth"]), ("SSB", out["images"]["SSB"]), ("iCoM", out["images"]["iCoM"]),
              ("ptycho exit-side slice", np.asarray(out["result"].object.array)[-1])]
    for ax, (name, img) in zip(row, panels):
        im = ax.imshow(img, cmap="magma")
        ax.set_title(f"{energy}, {layers} cells: {name}", fontsize=8)
        ax.set_xlabel("x [px]"); ax.set_ylabel("y [px]")
        fig.colorbar(im, ax=ax, shrink=0.8, label="phase [rad]")
fig.tight_layout()""",
    r"""md:## Convergence and the reconstructed probe

The amplitude error Σ(√I_model − √I)²/ΣI per epoch (the same number py4DSTEM reports), and the probe
of the thick 30 kV case as a Measurement with axes.""",
    """fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 4))
for (energy, layers), out in results.items():
    h = out["result"].history
    a0.semilogy(h[:, 0], h[:, 3], label=f"{energy}, {layers} cells")
a0.set_xlabel("epoch"); a0.set_ylabel("amplitude error"); a0.legend()
probe = results[("30 kV", 8)]["result"].probe
im = a1.imshow(np.abs(np.asarray(probe.array[0])), cmap="viridis")
a1.set_title("|ψ| of the probe, 30 kV"); a1.set_xlabel("x [px]"); a1.set_ylabel("y [px]")
fig.colorbar(im, ax=a1, label="|ψ| [1]")
probe.axes""",
])
