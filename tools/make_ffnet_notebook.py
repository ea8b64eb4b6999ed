"""Write and execute notebooks/ffnet.ipynb. Run: python tools/make_ffnet_notebook.py [--no-execute]"""
from make_notebooks import write

write("ffnet.ipynb", [
    r"""md:# FFT spots: database, U-Net detection and zone-axis indexing

`jaxem.ml` automates what microscopists do by hand every day: find the spots in the FFT of an HRTEM image
and index them to a phase and zone axis. Structures come from packages that ship them (NCrystal's library
with Debye–Waller data, ASE, your CIFs); each (structure, zone axis) gets a kinematic reflection list and a
spot-pair table; a small Flax U-Net, trained on FFTs of images that jaxem's own multislice simulates on
device, detects the spots; pair-table hypotheses, RANSAC verification and an optax least-squares fit
index them. Small sizes so that it runs in CI; `jaxem ml build-db`, `jaxem ml index` and `jaxem ml gui`
do the same from the command line.""",
    """import jax
import matplotlib.pyplot as plt
import numpy as np

from jaxem import ml

si = ml.get_structure("ncrystal:Si_sg227")
al2o3 = ml.get_structure("ncrystal:Al2O3_sg167_Corundum")
print(len(ml.list_structures()), "crystals in the library;  Si zone axes with |u|+|v|+|w| ≤ 3:", ml.zone_axes(si, max_sum=3))""",
    r"""md:## Kinematic tables

Reflections in the zero-order Laue zone of [uvw] (h u + k v + l w = 0), with the electron structure factor
F(g) = Σ f_e(|g|) exp(−2π²⟨u²⟩|g|²) exp(2πi g·r) [Å]. Si [110]: the 111 reflections (d = a/√3 = 3.135 Å) at
70.5°, the 002 kinematically forbidden (it appears in images by double diffraction).""",
    """t = ml.zone_table(si, (1, 1, 0))
for i in range(8):
    print(tuple(int(x) for x in t.hkl[i]), f"d = {t.d[i]:.4f} Å  |F| = {t.amplitude[i]:7.3f} Å  allowed = {bool(t.allowed[i])}")
print(len(t.pairs), "rows in the pair table; first:", np.round(t.pairs[0, :3], 4))""",
    r"""md:## Simulated images, on device

`ml.simulate_zone` runs the multislice (exit waves at several thicknesses in one pass) and images them
with partial coherence; each periodic image is kept as a Fourier series. `ml.render_batch` then draws
noisy images on device: random in-plane rotation, strain, drift, grain shape, amorphous background and
Poisson dose, with the exact spot positions as labels. A spot is labelled when it is visible (expected SNR ≥ 5
in |F|) at the *label dose*, 100 e⁻/px: the same image has the same labels at every dose, so the score at
2 e⁻/px says how many of the crystal's spots are still found. Spots with expected SNR 3.5–6.5 are *difficult*
(one noisy image decides whether they show): `ml.evaluate.split_difficult` separates them, and
`ml.peaks.match(..., ignore=...)` neither rewards nor penalises them (the PASCAL VOC convention).""",
    """bank, _ = ml.simulate_zone(si, (1, 1, 0), thicknesses=(60.0,), defoci=(0.0,))
dev = ml.render.device_bank(bank)
config, variables, info = ml.train.load_default()
doses = (2.0, 20.0, 100.0)
fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
for ax, dose in zip(axes, doses):
    smp = jax.device_get(ml.render_batch(jax.random.PRNGKey(0), dev, 1, ml.RenderConfig(dose=(dose, dose), p_two_grains=0.0)))
    mag = np.asarray(ml.fft_input(smp.image[0])[1])
    dose_est = ml.lattice.effective_dose(np.asarray(smp.image[0], float))  # from the image's own shot noise
    spots = ml.detect(x=smp.fft[0], fft_mag=mag, config=config, variables=variables, dose=dose_est)
    plain = ml.detect(x=smp.fft[0], fft_mag=mag, config=config, variables=variables, lattice=False)
    true = smp.spots[0][smp.visible[0]]
    certain, hard = ml.evaluate.split_difficult(smp.spots[0], smp.visible[0], smp.snr[0])
    f1 = lambda pos: ml.peaks.scores(*ml.peaks.match(pos, smp.spots[0][certain], 2.0, ignore=smp.spots[0][hard])[:3])["f1"]
    im = ax.imshow(smp.fft[0], cmap="gray", vmin=-2, vmax=8)
    ax.plot(true[:, 1], true[:, 0], "o", mfc="none", mec="lime", ms=9)
    ax.plot(spots.positions[:, 1], spots.positions[:, 0], "+", color="red")
    ax.set_title(f"{dose:g} e⁻/px (estimated {dose_est:.1f}): F1 {f1(spots.positions):.2f}\\n"
                 f"without the lattice step {f1(plain.positions):.2f}, "
                 f"peak_local_max {f1(ml.peaks.detect_peak_local_max(mag)[0]):.2f}", fontsize=10)
    ax.set_xlabel("k_x [px]"); ax.set_ylabel("k_y [px]")
fig.colorbar(im, ax=list(axes), shrink=0.8, label="robust z of log(1 + |F|)");""",
    r"""md:## The lattice step

The spots of one grain sit on a 2-D lattice. Once the strong spots have given the lattice
(`ml.lattice.fit_lattices`), a spot can only be at a few hundred known nodes, so a much weaker peak there is
already significant: every node is decided by the measured SNR of |F| there (plus the network's probability)
against a threshold that follows the dose, T = max(1.9, 7·√(ρ·D/100 + 1 − ρ)), with ρ the share of shot noise in
the noise on that ring of |k|. The dose D comes from the image itself: for counts ⟨C⟩²/σ² is the dose whatever the
camera gain (`ml.lattice.effective_dose`). Below: the 2 e⁻/px FFT, its fitted lattice nodes, and the spots decided
on them.""",
    """smp = jax.device_get(ml.render_batch(jax.random.PRNGKey(0), dev, 1, ml.RenderConfig(dose=(2.0, 2.0), p_two_grains=0.0)))
mag = np.asarray(ml.fft_input(smp.image[0])[1])
dose_est = ml.lattice.effective_dose(np.asarray(smp.image[0], float))
plain = ml.detect(x=smp.fft[0], fft_mag=mag, config=config, variables=variables, lattice=False)
spots = ml.detect(x=smp.fft[0], fft_mag=mag, config=config, variables=variables, dose=dose_est)
bases, _ = ml.lattice.fit_lattices(plain.positions, 256)
nodes = np.concatenate([ml.lattice.lattice_sites(b, 256)[0] for b in bases])
fig, ax = plt.subplots(figsize=(6, 5.4), layout="constrained")
im = ax.imshow(smp.fft[0], cmap="gray", vmin=-2, vmax=8)
ax.plot(nodes[:, 1], nodes[:, 0], ".", color="orange", ms=3, label=f"lattice nodes ({len(nodes)})")
true = smp.spots[0][smp.visible[0]]
ax.plot(true[:, 1], true[:, 0], "o", mfc="none", mec="lime", ms=9, label="label (visible at 100 e⁻/px)")
ax.plot(plain.positions[:, 1], plain.positions[:, 0], "x", color="cyan", ms=6, label=f"U-Net peaks ({len(plain)})")
ax.plot(spots.positions[:, 1], spots.positions[:, 0], "+", color="red", ms=8, label=f"after the lattice step ({len(spots)})")
ax.set_xlabel("k_x [px]"); ax.set_ylabel("k_y [px]"); ax.legend(loc="lower left", fontsize=8)
ax.set_title(f"2 e⁻/px (estimated {dose_est:.2f}); basis {np.round(bases[0], 1).tolist()} px")
fig.colorbar(im, ax=ax, shrink=0.8, label="robust z of log(1 + |F|)");""",
    r"""md:## Indexing

Against candidate tables of Si and corundum: the observed spot pairs pick hypotheses from the pair tables
(tolerances 3 % in |g| and 2° in angle, normalised), RANSAC keeps the one that explains most spots, and
the rotation, scale and strain are refined by least squares.""",
    """smp = jax.device_get(ml.render_batch(jax.random.PRNGKey(0), dev, 1, ml.RenderConfig(dose=(100.0, 100.0), p_two_grains=0.0)))
spots = ml.detect(x=smp.fft[0], fft_mag=np.asarray(ml.fft_input(smp.image[0])[1]), config=config, variables=variables,
                  dose=ml.lattice.effective_dose(np.asarray(smp.image[0], float)))
tables = {("ncrystal:Si_sg227", uvw): ml.zone_table(si, uvw) for uvw in [(1, 0, 0), (1, 1, 0), (1, 1, 1)]}
tables.update({("ncrystal:Al2O3_sg167_Corundum", uvw): ml.zone_table(al2o3, uvw) for uvw in [(0, 0, 1), (1, 0, 0)]})
grains = ml.index_spots(spots.g, ml.candidates(tables))
for g in grains:
    print(g.phase, list(g.uvw), f"θ = {g.rotation_deg:.2f}°, scale = {g.scale:.4f}, {len(g.spots)} spots, "
          f"rms residual = {np.sqrt(np.mean(g.residual**2)):.1e} 1/Å, ambiguous: {g.ambiguous}")
print("truth: Si [110], scale", float(smp.scale[0, 0]))""",
    r"""md:## The database and the shipped network

`ml.database.build` writes one zarr group per (structure, zone axis), atomically and resumably (complete
entries are skipped, so a killed build continues). The shipped U-Net was trained by
`tools/train_ffnet.py` on batches rendered on device; its training curve travels with the weights.""",
    """import tempfile
with tempfile.TemporaryDirectory() as tmp:
    stats = ml.database.build(f"{tmp}/ffts.zarr", ["ncrystal:Si_sg227"], max_sum=2)
    print(stats, ml.database.entries(f"{tmp}/ffts.zarr"))
curve = np.array(info["curve"])
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.plot(curve[:, 0], curve[:, 1], "o-", ms=3); ax.set_yscale("log")
ax.set_xlabel("training step"); ax.set_ylabel("weighted BCE loss")
ax.set_title(f"U-Net f = {config.filters}, {info['steps']} steps");""",
])
