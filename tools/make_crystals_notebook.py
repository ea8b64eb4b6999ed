"""Write and execute notebooks/crystals.ipynb. Run: python tools/make_crystals_notebook.py [--no-execute]"""
from make_notebooks import write

write("crystals.ipynb", [
    r"""md:# Built-in crystals and zone-axis cells

`jx.crystals` builds conventional cells of Si, diamond, Ni, SrTiO3, ZnO, 3C/4H-SiC and tetragonal
BaTiO3 with room-temperature lattice parameters [Å] and Debye–Waller factors B [Å²] (sources and how
each number was checked: `jaxem/data/crystals.json`). `jx.zone_axis` turns any of them into the
smallest orthorhombic cell with the beam (z) along a lattice direction [uvw], ready for multislice.
ASE `Atoms` are accepted wherever a structure is, with their Debye–Waller factors and occupancies.""",
    """import matplotlib.pyplot as plt
import numpy as np

import jaxem as jx
from jaxem.structure import crystal_info, list_crystals

for name in list_crystals():
    info = crystal_info(name)
    print(f"{name:8s} {info['space_group']:14s} {info['lattice']}  B = {info['B']} Å²  "
          f"({info['B_status'].split()[0].rstrip(':')})")""",
    r"""md:## SrTiO3 along [001], as used by the multislice benchmark

Orient, then repeat. `z_repeats` records the identical units along the beam, so that the potential
of one unit is computed once and reused for every repeat.""",
    """sto = jx.zone_axis(jx.crystals.SrTiO3(), [0, 0, 1]).repeat(8, 8, 26)
print(len(sto), "atoms, cell", np.round(np.asarray(sto.lengths), 3), "Å, z_repeats =", sto.z_repeats)""",
    r"""md:## Zone axes of a hexagonal crystal

Four-index directions become three-index ones as [U−T, V−T, W]: [0001] → [0,0,1], [11-20] → [1,1,0],
[10-10] → [2,1,0]. The plots project 3×3 oriented cells along the beam; the box is one cell. Look
for the hexagonal channels along [0001] and the Zn–O dumbbells along [11-20].""",
    """fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
for ax, (uvw, label) in zip(axes, [([0, 0, 1], "[0001]"), ([1, 1, 0], "[11-20]"), ([2, 1, 0], "[10-10]")]):
    o, info = jx.zone_axis(jx.crystals.ZnO(), uvw, return_info=True)
    rep = o.repeat(3, 3, 1)
    p, z = np.asarray(rep.positions), np.asarray(rep.numbers)
    for zz, name in [(30, "Zn"), (8, "O")]:
        ax.scatter(p[z == zz, 0], p[z == zz, 1], s=8 + zz, label=name)
    lx, ly, _ = np.asarray(o.lengths)
    ax.plot([0, lx, lx, 0, 0], [0, 0, ly, ly, 0], "k-", lw=0.8)
    ax.set_title(f"ZnO {label}: {len(o)} atoms, strain {info.strain:.0e}")
    ax.set_aspect("equal"); ax.set_xlabel("x [Å]")
axes[0].set_ylabel("y [Å]"); axes[0].legend();""",
    r"""md:## A direction without an exactly orthogonal cell

Tetragonal BaTiO3 along [101]: c/a is irrational, so no exactly orthogonal cell exists. `zone_axis`
refuses by default (the error says what to do) and accepts a small homogeneous strain when asked,
reporting it.""",
    """try:
    jx.zone_axis(jx.crystals.BaTiO3(), [1, 0, 1])
except ValueError as err:
    print("ValueError:", err)
o, info = jx.zone_axis(jx.crystals.BaTiO3(), [1, 0, 1], strain_tol=1e-2, return_info=True)
print(len(o), "atoms; strain applied:", f"{info.strain:.2e}")""",
    r"""md:## From ASE to a projected potential

An ASE `Atoms` goes straight into `jx.potential` (lengths in Å). The projected potential
v(r) = ∫V dz [V·Å] of all slices shows the columns; the heavier the column, the higher its potential
peak (here the Si columns of 3C-SiC along [001], with the weaker C columns between them).""",
    """from ase.build import bulk

atoms = bulk("SiC", "zincblende", a=4.36, cubic=True).repeat((2, 2, 2))
pot = jx.potential(atoms, sampling=0.05, slice_thickness=1.09)
projected = np.asarray(pot.full()).sum(0)
print(pot.grid, pot.n_slices, "slices of", pot.slice_thickness, "Å")
m = jx.Measurement(projected, (jx.Axis("y", pot.grid.sampling[0], "Å"), jx.Axis("x", pot.grid.sampling[1], "Å")),
                   {"quantity": "projected potential", "units": "V·Å"})
m.show(cmap="viridis", title="3C-SiC [001], 2×2×2 cells");""",
])
