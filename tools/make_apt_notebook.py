"""Write and execute notebooks/apt_tem_guided.ipynb. Run: python tools/make_apt_notebook.py [--no-execute]"""
from make_notebooks import write

write("apt_tem_guided.ipynb", [
    r"""md:# Atom-probe tomography guided by the TEM-measured specimen shape

In an atom probe inside a (S)TEM the needle is imaged while it field-evaporates. The measured shape
(apex position, apex radius, shank angle, or the full profile) replaces the assumptions of conventional
reconstruction (hemispherical cap, radius from the voltage law). This notebook uses `jaxem.apt`'s
synthetic truth: a bcc needle with a segregated twist grain boundary, a **non-hemispherical, evolving
cap** and a **changing shank angle**, evaporated atom by atom onto a detector with known image
compression ξ, flight length L, field factor k·F and detection efficiency η, with TEM profiles recorded
along the way. Units: nm (specimen), mm (detector), V, Da.""",
    """import tempfile
from pathlib import Path

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from jaxem import apt

run = apt.generate(depth=8.0, interface_z=-4.0)   # small size; depth=24 for a longer run
tip, d0 = run.tip, run.tip.d_spacing
print(f"{len(run.x_det):,} ions, {tip.n_profiles} TEM profiles, (002) spacing {d0:.4f} nm, "
      f"boundary at z = {tip.interface_z} nm")""",
    r"""md:## Files round-trip

The ion sequence is written as EPOS (big-endian, 44 bytes per ion) and read back memory-mapped; the
reader checks the file size against the record size (a truncated file is an error naming it). The mass
spectrum (log scale) shows the Fe²⁺ matrix and the Cu⁺ solute peaks.""",
    """tmp = Path(tempfile.mkdtemp())
cols = {k: np.zeros(len(run.x_det), np.float32) for k in apt.EPOS_DTYPE.names[:9]}
cols.update(x_det=run.x_det, y_det=run.y_det, v_dc=run.voltage, mass=run.mass)
cols.update(delta_pulse=np.ones(len(run.x_det), np.int32), multiplicity=np.ones(len(run.x_det), np.int32))
apt.write_epos(tmp / "run.epos", cols)
e = apt.read_epos(tmp / "run.epos")
print(type(e).__name__, len(e), "ions; identical hits:", np.array_equal(e["x_det"], run.x_det))
c, h = apt.mass_spectrum(e["mass"], 0.02, (10, 70))
fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
apt.plot_spectrum(c, h, ax=ax); ax.set_title("mass spectrum (log scale)");""",
    r"""md:## Conventional vs TEM-guided reconstruction

Conventional: the Bas protocol with the voltage-law radius R = V/(k·F), a hemispherical cap and the
depth increment Ω/(η·π R² sin²θ_max), given the *true* k·F, ξ and η. TEM-guided: per-ion apex height
(a monotone cubic in the cumulative ion count) and cap shape (blended profiles) from the TEM snapshots,
and back-projection onto the measured cap. The x–z slices (|y| < 0.25 nm; solute in red) show the
lattice planes and the boundary: look for curved, mis-spaced planes in the conventional reconstruction.""",
    """x, y, v = jnp.asarray(run.x_det), jnp.asarray(run.y_det), jnp.asarray(run.voltage)
conv = np.asarray(apt.reconstruct_bas(run.params, x, y, v))
tem = np.asarray(apt.reconstruct_tem(run.params, x, y, apt.guided_tables(run.profiles))[0])
fig, axs = plt.subplots(1, 3, figsize=(12, 4.5), sharey=True, layout="constrained")
for ax, (p, t) in zip(axs, [(run.truth, "truth"), (conv, "conventional (Bas)"), (tem, "TEM-guided")]):
    m = np.abs(p[:, 1]) < 0.25
    ax.scatter(p[m, 0], p[m, 2], s=1.5, c=np.where(run.species[m] == 1, "C3", "0.4"), lw=0)
    ax.set_title(t); ax.set_xlabel("x [nm]"); ax.set_aspect("equal")
axs[0].set_ylabel("z [nm]");""",
    r"""md:Quantitatively: the largest deviation of the (002) plane spacing from d₀ over depth windows, and the
error of the boundary position.""",
    """sol = run.species == 1
for name, p in [("truth", run.truth), ("conventional", conv), ("TEM-guided", tem)]:
    z, d = apt.spacing_along_z(p, 4)
    zi = apt.interface_position(p, sol)[0]
    print(f"{name:13s} max |d/d0 − 1| = {np.abs(d / d0 - 1).max():6.2%}   "
          f"interface error = {zi - tip.interface_z:+.2f} nm")
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for name, p in [("truth", run.truth), ("conventional", conv), ("TEM-guided", tem)]:
    prof = apt.composition_profile(p, run.species, (0, 0, -10), (0, 0, 1), 10, radius=3.0, bin_width=0.25, n_species=2)
    ax.plot(prof["s"] - 10, prof["fraction"][:, 1], label=name)
ax.axvline(tip.interface_z, color="0.5", ls=":")
ax.set_xlabel("z [nm]"); ax.set_ylabel("solute fraction (cylinder of radius 3 nm)")
ax.set_title("composition across the segregated boundary"); ax.legend();""",
    r"""md:## Tip profile from a TEM image

`extract_profile` finds the needle edges in a bright-field image and fits the apex position, the apex
radius (a conic cap) and the shank angle. The red lines are the extracted edges; compare the fitted
numbers with the truth.""",
    """sh = run.profile_shapes
img, zr, xc = apt.render_tip_image(sh["R"][5], sh["K"][5], sh["alpha"][5], apex_z=-sh["tau"][5], noise=0.01)
ext = apt.extract_profile(img, 0.25, z_top=-sh["tau"][5] + 5.0)
print(f"R {ext.radius:.2f} nm (true {sh['R'][5]:.2f}), K {ext.conic:.2f} (true {sh['K'][5]:.2f}), "
      f"shank {np.rad2deg(ext.shank_angle):.1f}° (true {np.rad2deg(sh['alpha'][5]):.1f}°), apex {ext.apex_z:.2f} nm")
fig, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
im = ax.imshow(img, cmap="gray", extent=[xc[0], xc[-1], zr[-1], zr[0]])
fig.colorbar(im, ax=ax, label="bright-field intensity (vacuum = 1)")
ax.plot(ext.axis_x + ext.half_width, ext.z, "r-", lw=0.8); ax.plot(ext.axis_x - ext.half_width, ext.z, "r-", lw=0.8)
ax.set_xlabel("x [nm]"); ax.set_ylabel("z [nm]");""",
    r"""md:## Calibrating k·F, ξ and η from the TEM profiles

Gradient descent (optax Adam) through the TEM-guided reconstruction: the voltage law at the snapshots,
the flatness of lattice planes of known spacing, and the ion count in a central column against the
volume the TEM saw evaporate. The start is off by 10–25 %; the fit should return close to the truth.""",
    """base = run.params.replace(kF=750.0, xi=1.25, eta=0.35)
res = apt.calibrate(base, run.profiles, run.x_det, run.y_det, run.voltage, d0, steps=60, learning_rate=0.03)
p = res.params
print(f"k·F {float(p.kF):.1f} V/nm (start 750, truth {tip.kF}), ξ {float(p.xi):.3f} (start 1.25, truth {tip.xi}), "
      f"η {float(p.eta):.3f} (start 0.35, truth {tip.eta})")""",
])
