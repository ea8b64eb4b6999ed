"""Write and execute notebooks/optics.ipynb. Run: python tools/make_optics_notebook.py [--no-execute]"""
from make_notebooks import write

write("optics.ipynb", [
    r"""md:# Electron optics in jaxem

The objective lens of a TEM, in `jaxem.optics`: the aberration function χ (Krivanek polar notation to 5th
order, C10 = −Δf, C30 = Cs), soft-edged apertures, probe waves, the contrast transfer function with its
temporal (focal-spread) and spatial (source-size) envelopes, image spread and detector MTF, and HRTEM
image formation with partial coherence. The beam is one object, `jx.Beam`: it carries the energy and
everything that follows from it (wavelength λ, interaction constant σ, angles ↔ spatial frequencies).
Everything is a pure JAX function: jit-able and differentiable.

Units: lengths Å, energies eV, angles mrad, spatial frequencies 1/Å.""",
    """import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import jaxem as jx
from jaxem.optics import DetectorMTF, ctf_profile, focal_spread_from_instabilities, image_intensity

beam = jx.Beam("300 kV")                     # energy [eV] (a string with units is parsed)
Cs, Cc = 1.2e7, 1.4e7                        # spherical and chromatic aberration: 1.2 mm, 1.4 mm [Å]
defocus = (4 / 3 * Cs * beam.wavelength) ** 0.5                     # Scherzer defocus Δf [Å]
spread = focal_spread_from_instabilities(Cc, beam, energy_spread=0.8 / 2.3548)  # rms focal spread Δ [Å]
scherzer = jx.Aberrations(C10=-defocus, C30=Cs)                      # C10 = −Δf
print(f"λ = {beam.wavelength:.5f} Å, Scherzer Δf = {defocus:.1f} Å (C10 = {-defocus:.1f} Å), "
      f"focal spread Δ = {spread:.1f} Å from ΔE = 0.8 eV FWHM")""",
    r"""md:## Contrast transfer function

`ctf_profile(k, beam, aberrations, ...)` returns the complex wave transfer H(k) = A·exp(−iχ)·E_t·E_s
along a radial line. For a weak phase object the image spectrum is 2Φ(k)·sin χ(k)·E_t·E_s, so
`-H.imag` is the phase-contrast transfer per unit 2Φ. At Scherzer defocus the transfer is negative
(atoms dark) and flat out to the first zero, the *point resolution*; the temporal envelope
E_t = exp(−(πλΔk²)²/2) ends the transfer at the *information limit* (E_t = e⁻²). Look for the band
of uniform transfer and for where the envelope kills the fast oscillations.""",
    """k = np.linspace(0, 1.4, 700)                                                   # [1/Å]
H = np.asarray(ctf_profile(k, beam, scherzer, focal_spread=spread, source_angle=0.1))
H0 = np.asarray(ctf_profile(k, beam, scherzer))
sign = np.sign(-H0.imag[1:])
first_zero = k[1:][np.argmax(sign[1:] != sign[:-1]) + 1]
info_limit = (2 / (np.pi * beam.wavelength * spread)) ** 0.5
fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
ax.plot(k, -H0.imag, color="0.7", lw=0.8, label="sin χ (coherent)")
ax.plot(k, -H.imag, label="sin χ · E_t · E_s")
ax.plot(k, np.abs(H), "--", label="E_t · E_s (Δ, θ_s = 0.1 mrad)")
ax.axvline(first_zero, color="C3", lw=0.8, ls=":", label=f"point resolution {1 / first_zero:.2f} Å")
ax.axvline(info_limit, color="C2", lw=0.8, ls=":", label=f"information limit {1 / info_limit:.2f} Å")
ax.axhline(0, color="k", lw=0.5)
ax.set_xlabel("spatial frequency k [1/Å]"); ax.set_ylabel("phase-contrast transfer")
ax.legend(fontsize=7, loc="lower right");""",
    r"""md:## Probes

`jx.probe(grid, beam, semi_angle, aberrations, positions)` gives the STEM probe ψ(r) with Σ|ψ|² = 1;
positions (…, 2) are (y, x) in Å. Without aberrations it is an Airy disc of radius ≈ 0.61 λ/α;
defocus spreads it, and coma makes it asymmetric with a tail. The probe intensity is wrapped in a
`jx.Measurement` (an array with axes, units and metadata), whose `show()` labels the axes and the
colorbar. A grid too coarse for the requested semi-angle is an error that names the argument.""",
    """grid = jx.Grid((128, 128), (0.05, 0.05))                                 # 6.4 Å field, 0.05 Å pixels
c = 128 * 0.05 / 2
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
for ax, (title, ab) in zip(axes, [("aberration-free", jx.Aberrations()),
                                  ("Δf = 40 Å", jx.Aberrations(C10=-40.0)),
                                  ("coma C21 = 0.5 µm", jx.Aberrations(C21=5e3, phi21=0.5))]):
    p = np.abs(np.asarray(jx.probe(grid, beam, 25.0, ab, positions=[c, c]))) ** 2
    m = jx.Measurement(p, (jx.Axis("y", 0.05, "Å"), jx.Axis("x", 0.05, "Å")),
                       {"quantity": "probe intensity", "units": "fraction per pixel", "beam": beam.to_dict()})
    print(f"{title:16s} Σ|ψ|² = {p.sum():.6f}, peak {p.max():.4f}")
    m.show(ax=ax, cmap="inferno", title=f"α = 25 mrad, {title}")
try:
    jx.probe(jx.Grid((64, 64), (0.5, 0.5)), beam, 30.0)
except ValueError as err:
    print("ValueError:", err)""",
    r"""md:## HRTEM with partial coherence

`jx.hrtem_image(exit_wave, aberrations, ...)` takes exit waves (`jx.Waves`, which carry their grid and
beam) and returns a `Measurement`. The object here is a phase grating: Gaussian "columns" of 0.6 rad
on a 3.2 Å square lattice. Coherence models (`method`): `"coherent"` ignores focal spread and
source size; `"envelope"` multiplies the wave transfer by E_t·E_s (quasi-coherent); `"focal_average"`
averages intensities over a Gaussian defocus distribution by Gauss–Hermite quadrature (exact in the
focal spread). Image spread and the detector MTF then blur the intensity. A vacuum wave gives an
image of exactly 1; at Scherzer focus the columns are dark. Compare the contrast of the four images.""",
    """n, d, a = 96, 0.1, 3.2                                                   # pixels, sampling [Å], lattice [Å]
g = jx.Grid((n, n), (d, d))
yy, xx = np.meshgrid(np.arange(n) * d, np.arange(n) * d, indexing="ij")
phase = sum(np.exp(-((yy - (i + .5) * a) ** 2 + (xx - (j + .5) * a) ** 2) / (2 * .35 ** 2))
            for i in range(3) for j in range(3))
wave = jx.waves_from_array(np.exp(1j * 0.6 * phase).astype(np.complex64), g, beam, norm=float(n * n))
vacuum = jx.waves_from_array(np.ones((n, n), np.complex64), g, beam, norm=float(n * n))
print("vacuum image: min/max", np.asarray(jx.hrtem_image(vacuum, scherzer, objective_aperture=25.0,
                                                         focal_spread=spread).array)[[0, -1], [0, -1]])
kw = dict(objective_aperture=jx.Aperture.create(25.0, edge_width=1.0), focal_spread=spread, source_angle=0.1)
images = {m: jx.hrtem_image(wave, scherzer, method=m, **kw) for m in ("coherent", "envelope", "focal_average")}
images["focal average + spread 0.3 Å, MTF"] = jx.hrtem_image(
    wave, scherzer, method="focal_average", image_spread=0.3, mtf=DetectorMTF.create(b=0.4, c=0.05, d=2.5), **kw)
fig, axes = plt.subplots(1, 4, figsize=(17, 3.8), layout="constrained")
for ax, (name, img) in zip(axes, images.items()):
    img.show(ax=ax, title=f"{name}\\ncontrast (std/mean) {float(img.array.std() / img.array.mean()):.3f}")""",
    r"""md:## Gradients

The images are differentiable with respect to every aberration coefficient, the focal spread and the
source angle. `image_intensity` is the pure level under `hrtem_image` (waves in, an intensity array
out), made for `jit` and `grad`. Here the defocus of a "measured" image (Δf = 500 Å) is recovered from
a start at 470 Å by gradient descent on the squared error; the loss should fall by orders of magnitude.""",
    """target = image_intensity(wave, jx.Aberrations(C10=-500.0, C30=Cs), **kw)

def loss(df):
    img = image_intensity(wave, jx.Aberrations(C10=-df, C30=Cs), **kw)
    return jnp.mean((img - target) ** 2)

val_grad = jax.jit(jax.value_and_grad(loss))
df, history = jnp.float32(470.0), []
for it in range(30):
    v, gr = val_grad(df)
    history.append(float(v))
    df = df - 5e4 * gr
print(f"recovered defocus {float(df):.2f} Å (true 500 Å), loss {history[0]:.2e} → {float(loss(df)):.2e}")
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.semilogy(history, "o-", ms=3); ax.set_xlabel("iteration"); ax.set_ylabel("mean squared error (image units²)");""",
])
