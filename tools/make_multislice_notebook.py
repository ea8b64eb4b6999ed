"""Write and execute notebooks/multislice_hrtem.ipynb. Run: python tools/make_multislice_notebook.py [--no-execute]"""
from make_notebooks import write

write("multislice_hrtem.ipynb", [
    r"""md:# Multislice and HRTEM with jaxem

SrTiO3 [001] at 300 kV: projected potential, exit waves through a thickness series, diffraction
patterns and Bragg-beam intensities (Pendellösung), HRTEM images with partial coherence, and gradients
through the whole simulation. The beam is one object (`jx.Beam`) that the waves carry from the plane
wave to the image; every result is a `jx.Measurement` with axes, units and metadata. Small sizes so
that it runs in CI; raise `N_CELLS`/`NZ` for real work.""",
    """import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import jaxem as jx
from jaxem.optics import image_intensity

N_CELLS, NZ = 3, 12                       # lateral repeats, cells along the beam
beam = jx.Beam("300 kV")""",
    r"""md:## Potential and exit waves

The crystal is cut into slices of half a unit cell (1.95 Å); the projected potential of each distinct
slice is computed once (2 distinct slices: SrO and TiO2 planes; Lobato parametrization, Debye–Waller
smearing with the tabulated B). The
multislice alternates transmission t = exp(iσv) and Fresnel propagation; `exit_planes=4` records the
wave every 4 slices (every 2 cells, 7.8 Å), so a whole thickness series comes from one pass.""",
    """unit = jx.zone_axis(jx.crystals.SrTiO3(), [0, 0, 1])
dz = float(unit.lengths[2]) / 2                                  # half a unit cell [Å]
sto = unit.repeat(N_CELLS, N_CELLS, NZ)
pot = jx.potential(sto, sampling=0.06, slice_thickness=dz, debye_waller=True)
waves = jx.multislice(jx.plane_wave(pot.grid, beam), pot, exit_planes=4)
step = 4 * pot.slice_thickness                                   # thickness between exit planes [Å]
thickness = step * np.arange(1, waves.array.shape[0] + 1)
print(pot.grid, pot.n_slices, "slices,", pot.array.shape[0], "distinct; exit planes at", np.round(thickness, 1), "Å")""",
    r"""md:## Diffraction patterns

`jx.diffraction_pattern` returns the centred pattern in mrad, as a fraction of the incident intensity
per pixel. We label its leading axis with the thickness in Å, then show three thicknesses on a log
scale six decades below the brightest beam. With thickness, intensity moves from the direct beam into
the Bragg beams and back (dynamical scattering).""",
    """dp = jx.diffraction_pattern(waves, max_angle=50)
dp = jx.Measurement(dp.array, (jx.Axis("thickness", step, "Å", step),) + dp.axes[1:], dp.metadata)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.9), layout="constrained")
for ax, i in zip(axes, [0, 2, len(thickness) - 1]):
    dp.with_array(dp.array[i:i + 1]).show(ax=ax, log=True, cmap="magma", title=f"t = {thickness[i]:.1f} Å")""",
    r"""md:## Bragg-beam intensities vs thickness

`bragg_intensities` reads the beams (h, k) of the crystal from the patterns (indices of the unit cell;
the 3×3-cell supercell is given as the tiling). Over these 47 Å the direct beam hands intensity to the
reflections, which grow faster than linearly at first; the exchange turns into an oscillation
(Pendellösung) over the extinction distances, a few nm here: raise `NZ` to follow it. The weak 100 beam
has the structure factor F(100) = f_Sr − f_Ti − f_O, a near cancellation, so it stays orders of magnitude
below 110 and 200.""",
    """beams = {"000": (0, 0), "100": (0, 1), "110": (1, 1), "200": (0, 2)}
I = np.asarray(jx.propagate.bragg_intensities(dp, tiling=(N_CELLS, N_CELLS), beams=list(beams.values())))
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for k, name in enumerate(beams):
    ax.plot(thickness, I[:, k], "o-", ms=3, label=name)
ax.set_xlabel("thickness [Å]"); ax.set_ylabel("beam intensity [fraction of incident]"); ax.set_yscale("log")
ax.legend();""",
    r"""md:## HRTEM images with partial coherence

`jx.hrtem_image(exit_wave, jx.Aberrations(C10=..., C30=...), ...)` images the exit wave at the largest
thickness through a 25 mrad objective aperture, averaging over a 30 Å rms focal spread
(Gauss–Hermite) with a 0.3 mrad source; C10 = −Δf and a small negative Cs, as on an
aberration-corrected microscope. The image is a `Measurement` in Å with "vacuum = 1" intensity.
Look at how the column contrast changes with focus: bright columns at Δf = −60 Å, dark columns in
bright surroundings at Δf = +60 Å, so the focus must be known (or fitted, see `hrtem_fitting`) before
an image can be interpreted.""",
    """exit_wave = waves.replace(array=waves.array[-1])
kw = dict(objective_aperture=25.0, focal_spread=30.0, source_angle=0.3)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.9), layout="constrained")
for ax, df in zip(axes, (-60.0, 0.0, 60.0)):
    img = jx.hrtem_image(exit_wave, jx.Aberrations(C10=-df, C30=-2e4), **kw)
    img.show(ax=ax, title=f"Δf = {df:.0f} Å, Cs = −2 µm")
target = np.asarray(jx.hrtem_image(exit_wave, jx.Aberrations(C10=-40.0, C30=-2e4), **kw).array)""",
    r"""md:## Gradients through the physics

The derivative of an image loss with respect to defocus and to every atomic position, by automatic
differentiation through the potential, the multislice and the partially coherent image
(`potential_builder` makes the jit-able potential function of a structure, `image_intensity` is the
pure imaging level under `hrtem_image`). The target was made at C10 = −40 Å; from C10 = −30 Å the
derivative dL/dC10 points the way back, and the position gradient is finite everywhere.""",
    """build = jx.potential_builder(sto, sampling=0.06, slice_thickness=dz, debye_waller=True)

def loss(positions, c10):
    p = build(sto.replace(positions=positions))
    w = jx.multislice(jx.plane_wave(p.grid, beam), p)
    im = image_intensity(w, jx.Aberrations(C10=c10, C30=-2e4), **kw)
    return jnp.mean((im - target) ** 2)

g_pos, g_c10 = jax.grad(loss, argnums=(0, 1))(sto.positions, jnp.float32(-30.0))
verdict = "positive, so a step along −grad lowers C10 towards −40 Å" if g_c10 > 0 else "not positive"
print(f"dL/dC10 = {float(g_c10):.3e} per Å: {verdict}")
print(f"max |dL/dr| = {float(jnp.abs(g_pos).max()):.3e} per Å over {g_pos.shape[0]} atoms, "
      f"all finite: {bool(jnp.all(jnp.isfinite(g_pos)))}")""",
])
