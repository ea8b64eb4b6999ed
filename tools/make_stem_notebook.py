"""Write and execute notebooks/stem_thermal.ipynb. Run: python tools/make_stem_notebook.py [--no-execute]"""
from make_notebooks import write

write("stem_thermal.ipynb", [
    r"""md:# STEM: detectors, thermal models, thickness series and 4D-STEM files

SrTiO3 [001] at 300 kV with a 20 mrad probe, scanned over one unit cell. One `jx.STEMSimulation`
holds everything but the specimen (beam, probe, detectors); `jx.stem_scan` runs the multislice for
every probe position in memory-bounded batches and hands each diffraction pattern to the detectors.
Shown: bright-field (BF), HAADF, differential phase contrast (DPC) from a segmented detector and the
centre of mass (CoM) for a static lattice; HAADF with Einstein frozen phonons; a thickness series
from one pass; and the 4D-STEM data written to a `.zspy` store that jaxem, HyperSpy and xarray open
with the same calibrated axes. Small sizes for CI (10×10 probe positions, 16 Å thick).""",
    """import tempfile
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np

import jaxem as jx
from jaxem.stem import CenterOfMassDetector, SegmentedDetector, stem_scan_to_zarr

beam = jx.Beam("300 kV")
unit = jx.crystals.SrTiO3()
a = float(unit.lengths[0])                                           # lattice parameter [Å]
sto = unit.repeat(2, 2, 4)
pot = jx.potential(sto, sampling=0.05, slice_thickness=a / 2)
sim = jx.STEMSimulation(beam, 20.0, (jx.AnnularDetector(0, 20, "BF"), jx.AnnularDetector(70, 125, "HAADF"),
                                     SegmentedDetector(5, 20, 4, name="DPC"), CenterOfMassDetector()))
N_SCAN = 10
scan = jx.GridScan.create((0, 0), (a, a), gpts=(N_SCAN, N_SCAN))    # one unit cell, end excluded [Å]
print(pot.grid, f"{pot.n_slices} slices; scan step {a / N_SCAN:.3f} Å")""",
    r"""md:## Static lattice: four detectors at once

The detector angles are in mrad and checked against the grid (an outer angle of `inf` would integrate
to the grid's limit). Each signal is a `Measurement` (fraction of the probe intensity, scan axes in Å).
HAADF (70–125 mrad) is incoherent Z-contrast: Sr columns (Z = 38) are brightest, Ti–O columns next,
pure O columns faint. DPC here is the difference of opposite segments; the CoM (mrad) of each
diffraction pattern is a vector field, largest beside the columns, where the projected electric field
of the atoms deflects the probe.""",
    """static = jx.stem_scan(sim, scan, pot, progress=False)
dpc = static["DPC_r0_s0"].with_array(static["DPC_r0_s0"].array - static["DPC_r0_s2"].array,
                                    quantity="DPC: segment 0 − segment 2 [fraction of probe]")
com = np.asarray(static["com"].array)                                  # (scan_y, scan_x, (θy, θx)) [mrad]
fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), layout="constrained")
static["BF"].show(ax=axes[0], title="BF 0–20 mrad")
static["HAADF"].show(ax=axes[1], title="HAADF 70–125 mrad")
v = float(np.abs(dpc.array).max())
dpc.show(ax=axes[2], cmap="RdBu_r", title="DPC", vmin=-v, vmax=v)
static["HAADF"].show(ax=axes[3], title="CoM over HAADF", colorbar=False)
yy, xx = np.meshgrid(*(np.arange(N_SCAN) * a / N_SCAN,) * 2, indexing="ij")
q = axes[3].quiver(xx, yy, com[..., 1], com[..., 0], color="C1", angles="xy")
axes[3].quiverkey(q, 0.8, 1.03, 1.0, "1 mrad", labelpos="E")
print("CoM magnitude: max", np.hypot(com[..., 0], com[..., 1]).max().round(3), "mrad")""",
    r"""md:## Thermal vibrations: three models of the same crystal

HAADF lives on thermal diffuse scattering (TDS). Three models: (1) the static lattice of point-like
atoms above, (2) the elastic wave of a Debye–Waller-smeared potential (`debye_waller=True`: the
thermal average of the potential, which contains no TDS), and (3) Einstein frozen phonons
(`thermal="einstein"`): the signal averaged over `n_configs` random configurations with independent
Gaussian displacements ⟨u²⟩ = B/8π² from the crystal's Debye–Waller factors. Look at the numbers: the
DW-smeared elastic wave leaves almost nothing at 70–125 mrad, frozen phonons put the TDS back, and the
static lattice over-weights the column peaks. (Four configurations keep this fast; 20–30 converge the
average.)""",
    """dw = jx.stem_scan(sim, scan, jx.potential(sto, sampling=0.05, slice_thickness=a / 2, debye_waller=True),
                  progress=False)
fp = jx.stem_scan(sim, scan, pot, structure=sto, thermal="einstein", n_configs=4, key=jax.random.key(0),
                  progress=False)
models = {"static lattice": static, "DW-smeared, elastic only": dw, "frozen phonons (4 configs)": fp}
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
for ax, (name, res) in zip(axes, models.items()):
    res["HAADF"].show(ax=ax, title=f"HAADF, {name}")
    print(f"{name:28s} HAADF mean {float(res['HAADF'].array.mean()):.2e}, max {float(res['HAADF'].array.max()):.2e}"
          " (fraction of the probe)")""",
    r"""md:## A thickness series from one pass

With `exit_planes=2` the detectors also read the wave after every 2 slices (one unit cell), recorded
by an observer of the one multislice step: the signals gain a `thickness` axis in Å. The HAADF signal
on a Sr column grows with thickness while the BF signal falls.""",
    """series = jx.stem_scan(sim, scan, pot, exit_planes=2, progress=False)
t_axis = series["HAADF"].axes[-1]
t = t_axis.values(series["HAADF"].shape[-1])
fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
for name in ("BF", "HAADF"):
    ax.plot(t, np.asarray(series[name].array)[0, 0], "o-", label=f"{name}, probe on the Sr column")
ax.set_xlabel(f"{t_axis.name} [{t_axis.units}]"); ax.set_ylabel("fraction of probe intensity"); ax.set_yscale("log")
ax.legend();""",
    r"""md:## 4D-STEM to a file that other tools open

`stem_scan_to_zarr` streams the patterns of a `PixelatedDetector` (centred, cropped at 40 mrad,
binned 2×) to a store, one scan row per chunk, written atomically. It uses jaxem's one on-disk
4D-STEM layout: axes `scan_y, scan_x` [Å] and `θy, θx` [mrad], with the beam and calibrations in the
metadata. `jx.load` reads it back as a `Measurement`; the same `.zspy` opens in HyperSpy with its
calibrated axes, and `Measurement.to_xarray()` gives named dimensions. The position-averaged pattern
(PACBED) is shown on a log scale six decades below its maximum.""",
    """tmp = Path(tempfile.mkdtemp())
path = tmp / "scan.zspy"
stem_scan_to_zarr(path, jx.STEMSimulation(beam, 20.0, (jx.PixelatedDetector(40.0, 2),)), scan, potential=pot,
                  progress=False)
data = jx.load(path)
print(data.dims, data.shape, [f"{ax.name}: {ax.sampling:.3g} {ax.units}" for ax in data.axes])
pacbed = jx.Measurement(np.asarray(data.array).mean((0, 1)), data.axes[2:], {**data.metadata, "quantity": "PACBED",
                                                                            "units": "fraction of probe per pixel"})
pacbed.show(log=True, cmap="magma", title="PACBED (log)")
print("PACBED total:", float(np.asarray(pacbed.array).sum()))""",
    """import hyperspy.api as hs

s = hs.load(path)
print(s)
print(s.axes_manager)
x = data.to_xarray()
print(x.dims, {d: f"{float(x[d][1] - x[d][0]):.3g}" for d in x.dims})""",
])
