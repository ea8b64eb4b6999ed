"""Write and execute notebooks/phase_retrieval.ipynb. Run: python tools/make_phase_notebook.py [--no-execute]"""
from make_notebooks import write

write("phase_retrieval.ipynb", [
    r"""md:# Direct phase retrieval from 4D-STEM: simulation → file → reconstruction

jaxem's simulation feeds its own analysis through a file, in the one on-disk 4D-STEM layout that
HyperSpy and xarray open too:

1. a 4D-STEM scan of a thin SrTiO3 [001] crystal simulated by `jx.stem_scan` with a `PixelatedDetector`
   (16×16 probe positions, 63×63 detector pixels, 300 kV, 20 mrad, a defocused probe), streamed to a
   `.zspy` store by `jaxem.stem.stem_scan_to_zarr`;
2. the store opened by `jx.load`, by HyperSpy (`hs.load`) and by xarray, with the same calibrated axes;
3. read back by `jaxem.phase.read_4dstem` into a calibrated `Dataset4D`, and reconstructed by
   single-sideband ptychography (SSB), the aberration-corrected parallax (tilt-corrected bright field)
   and the integrated centre of mass (iCoM), compared with the projected potential;
4. a real Merlin/Medipix acquisition (4×2 scan, 256×256 pixels) read by the same `read_4dstem`, with the
   calibration the file lacks supplied by the user.

Units: lengths Å, reciprocal lengths 1/Å, detector angles mrad, phase rad.""",
    """import os
import tempfile
import zipfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import jaxem as jx
from jaxem import phase
from jaxem.stem import stem_scan_to_zarr

# the real vendor samples: $JAXEM_VENDOR_DATA, else <repository>/../shared/data/vendor (cwd is notebooks/)
VENDOR = Path(os.environ.get("JAXEM_VENDOR_DATA", Path.cwd().parent.parent / "shared" / "data" / "vendor"))
tmp = Path(tempfile.mkdtemp())""",
    r"""md:## 1. Simulate a 4D-STEM scan and stream it to a store

Two unit cells of SrTiO3 [001] laterally and along the beam (7.8 Å thick: close to a weak phase object).
The probe (20 mrad, C10 = 40 Å) is scanned over the whole periodic cell, so the scan is periodic as
the Fourier methods assume. The detector records the centred pattern out to 80 mrad (the bright-field
disk is the central 20 mrad). Writes are atomic: an interrupted scan leaves no partial store.""",
    """beam = jx.Beam("300 kV")
unit = jx.crystals.SrTiO3()
a = float(unit.lengths[0])                                            # [Å]
sto = unit.repeat(2, 2, 2)
pot = jx.potential(sto, sampling=0.1, slice_thickness=a / 2)
probe_aberrations = jx.Aberrations(C10=40.0)                           # C10 = −Δf [Å]
sim = jx.STEMSimulation(beam, 20.0, (jx.PixelatedDetector(80.0),), aberrations=probe_aberrations)
scan = jx.GridScan.create((0, 0), pot.grid.extent, gpts=(16, 16))       # the periodic cell, end excluded
path = tmp / "sto.zspy"
stem_scan_to_zarr(path, sim, scan, potential=pot, progress=False)
print(pot.grid, f"{pot.n_slices} slices; scan step {scan.sampling[0]:.3f} Å; store {path.name}")""",
    r"""md:## 2. The same file in jaxem, HyperSpy and xarray

`jx.load` returns a `Measurement` (lazy: a Dask array) with axes `scan_y, scan_x` [Å] and `θy, θx`
[mrad] and the beam, probe and detector in the metadata with units. The position-averaged pattern
(PACBED) is shown on a log scale six decades below its maximum: the bright-field disk, the scattering
outside it, and zero beyond 65 mrad, the anti-alias limit of the simulation grid.""",
    """data = jx.load(path, lazy=True)
print(data.dims, data.shape)
print([f"{ax.name}: {ax.sampling:.4g} {ax.units}" for ax in data.axes])
print({k: data.metadata[k] for k in ("energy", "semi_angle", "scan_sampling", "detector_sampling")})
pacbed = jx.Measurement(np.asarray(data.array).mean((0, 1)), data.axes[2:],
                        {"quantity": "PACBED", "units": "fraction of probe per pixel"})
pacbed.show(log=True, cmap="magma", title="position-averaged pattern (log)");""",
    r"""md:HyperSpy opens the `.zspy` with the navigation (scan) and signal (detector) axes calibrated. For
xarray, the same `Measurement` saved as `.zarr` (zarr v3, with `dimension_names`) opens with
`xr.open_zarr`, with named dimensions and coordinates in the axes' units.""",
    """import hyperspy.api as hs
import xarray as xr

from jaxem.io import SIGNAL_GROUP

s = hs.load(path, lazy=True)
print(s)
print(s.axes_manager)
jx.save(data, tmp / "sto.zarr")
x = xr.open_zarr(tmp / "sto.zarr", group=SIGNAL_GROUP)
print(x["data"].dims, {d: f"{float(x[d][1] - x[d][0]):.4g} per pixel" for d in x["data"].dims})""",
    r"""md:## 3. Read back and reconstruct

`phase.read_4dstem` turns the store (or a `Measurement` of it) into a `Dataset4D`: the scan step [Å],
the detector sampling converted from mrad to 1/Å with the beam, the energy, the probe semi-angle and
aberrations from the metadata. `bright_field_stack` extracts the bright-field pixels; SSB and parallax
use the probe aberrations (here the ones recorded with the data) to compensate the lens transfer, iCoM
integrates the centre-of-mass field and does not. All three are phase images [rad] on the scan grid.""",
    """ds = phase.read_4dstem(path)
print(f"Dataset4D {ds.shape}, lazy {ds.is_lazy}: scan {np.round(ds.scan_sampling, 4)} Å, detector "
      f"{np.round(ds.detector_sampling, 5)} 1/Å, {ds.energy:.0f} eV, semi-angle {ds.semiangle} mrad, "
      f"centre {ds.center} px, C10 = {float(ds.aberrations.C10):.0f} Å")
stack = phase.bright_field_stack(ds)
ab = ds.aberrations
images = {"SSB": phase.ssb(stack, ab, 0.0), "parallax (flipped)": phase.parallax(stack, ab, 0.0, flip=True),
          "iCoM": phase.icom(phase.com_field(ds), ds.scan_sampling)}
step = pot.grid.gpts[0] // 16
reference = np.asarray(pot.full().sum(0))[::step, ::step][:16, :16]     # projected potential on the scan grid
scan_axes = (jx.Axis("y", ds.scan_sampling[0], "Å"), jx.Axis("x", ds.scan_sampling[1], "Å"))
fig, axes = plt.subplots(1, 4, figsize=(17, 3.8), layout="constrained")
jx.Measurement(reference, scan_axes, {"quantity": "projected potential", "units": "V·Å"}).show(
    ax=axes[0], cmap="viridis", title="projected potential (truth)")
for ax, (name, img) in zip(axes[1:], images.items()):
    img = np.asarray(img)
    c = np.corrcoef(img.ravel(), reference.ravel())[0, 1]
    jx.Measurement(img, scan_axes, {"quantity": "phase", "units": "rad"}).show(
        ax=ax, cmap="gray", title=f"{name}: correlation {c:.2f}")""",
    r"""md:All three reproduce the lattice of columns (correlations in the titles); SSB and the flipped parallax
compensate the defocus, iCoM does not, so its columns are blurred. The relative column strengths differ
from the projected potential's: 7.8 Å of SrTiO3 is not a weak phase object on the heavy columns (σ·v
reaches radians there), and a 0.49 Å scan step samples a column with one or two positions.

## 4. A real Merlin acquisition

The Quantum Detectors Merlin sample (`.mib` + `.hdr`, 4×2 scan, 6-bit counts) is checked against its
header (a truncated file is an error naming the expected and found number of frames) and read lazily.
Its header holds no spatial calibration, so the scan step, beam energy and detector sampling are given
here (illustrative values); the `Dataset4D` then carries calibrated axes. The detector centre is not
known either, so the reciprocal axes start at the corner pixel.""",
    """merlin = VENDOR / "quantumdetector" / "Merlin_navigation4x2_ROI.zip"
if not merlin.is_file():
    print(f"vendor sample {merlin} is not here: this step is skipped (set JAXEM_VENDOR_DATA to the vendor folder)")
else:
    with zipfile.ZipFile(merlin) as z:
        z.extractall(tmp / "merlin")
    real = phase.read_4dstem(tmp / "merlin" / "001_4x2_6bit.mib", energy="300 kV", scan_sampling=2.0,
                             angular_sampling=0.5)
    m = real.to_measurement()
    print(f"{real.shape} {np.asarray(real.array).dtype}, lazy {real.is_lazy}")
    print("axes:", [f"{ax.name}: {ax.sampling:.4g} {ax.units}" for ax in m.axes])
    mean = jx.Measurement(np.asarray(real.array).mean((0, 1)).astype(np.float32), m.axes[2:],
                          {"quantity": "mean counts", "units": "counts per pixel"})
    mean.show(log=True, cmap="magma", title="Merlin 4×2 scan: mean frame (log)")""",
    r"""md:## 5. From the data alone: aberration fit, CTF-corrected tcBF, Wiener DPC

A weak white-noise phase object (48×48 scan and detector, 0.25 Å, C10 = −150 Å, C12 = 30 Å, detector
rotated by −10°) as it would come off the microscope: neither the aberrations nor the rotation are
given. `phase.fit_parallax` fits C10, C12, φ12 and the rotation from the bright-field parallax shifts
(one jitted cross-correlation against the updated parallax reference per pass, closed-form least
squares, stops when converged); `phase.tcbf` then deconvolves every bright-field channel's transfer
function with a noise-aware Wiener filter (no zeros of the CTF are left, unlike the phase-flipped
parallax); `phase.dpc` integrates the centre of mass with a Wiener filter, takes the rotation from
the data (closed-form spectral curl) and corrects the probe autocorrelation with the fitted
aberrations. Correlations with the object band-limited to 2k_probe are in the titles.""",
    """phi = phase.white_noise_phase(48, 0.01, seed=2)
truth = jx.Aberrations(C10=-150.0, C12=30.0, phi12=0.4)
measured = phase.simulate_dataset(phi, 0.25, "300 kV", 20.0, truth, rotation=np.deg2rad(-10.0))
measured = measured.replace(rotation=0.0, aberrations=jx.Aberrations())    # unknown to the analysis
st = phase.bright_field_stack(measured)
tc, fit = phase.tcbf(st)
print(f"fit: C10 {fit.aberrations.C10:.1f} Å, C12 {fit.aberrations.C12:.1f} Å, "
      f"φ12 {fit.aberrations.phi12:.3f} rad, rotation {np.rad2deg(fit.rotation):.2f}° (true −10°)")
d = phase.dpc(measured, fit.aberrations, rotation="data")
q = np.fft.fftfreq(48, 0.25)
f = np.fft.fft2(phi)
f[np.hypot(q[:, None], q[None, :]) > 2 * st.cutoff] = 0
band = np.real(np.fft.ifft2(f))
images = {"object (band-limited)": band,
          "parallax, phase-flipped": np.asarray(phase.parallax(st, fit.aberrations, fit.rotation, flip=True)),
          "tcBF, Wiener CTF-corrected": tc, f"DPC, Wiener (rotation {np.rad2deg(d.rotation):.1f}°)": np.asarray(d.image)}
fig, axes = plt.subplots(1, 4, figsize=(17, 3.8), layout="constrained")
axes_xy = (jx.Axis("y", 0.25, "Å"), jx.Axis("x", 0.25, "Å"))
for ax, (name, img) in zip(axes, images.items()):
    c = abs(np.corrcoef(img.ravel(), band.ravel())[0, 1])
    jx.Measurement(img, axes_xy, {"quantity": "phase", "units": "rad"}).show(ax=ax, cmap="gray",
                                                                               title=f"{name}: |corr| {c:.3f}")""",
])
