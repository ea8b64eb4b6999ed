"""Demo section: the built-in crystals (with their data sources) and zone-axis cells seen along z."""
from __future__ import annotations

import numpy as np

TITLE = "Built-in crystals and zone-axis cells"
ORDER = 20

_VIEWS = [
    ("SrTiO3", [0, 0, 1], "SrTiO3 [001]"),
    ("SrTiO3", [1, 1, 0], "SrTiO3 [110]"),
    ("Si", [1, 1, 0], "Si [110]"),
    ("ZnO", [1, 1, 0], "ZnO [11-20]"),
    ("SiC-4H", [1, 1, 0], "4H-SiC [11-20]"),
    ("BaTiO3", [1, 0, 0], "BaTiO3 [100]"),
]


def _density(s) -> float:
    """Mass density [g/cm³] from ASE's standard atomic masses."""
    from ase.data import atomic_masses

    mass = float(np.sum(atomic_masses[np.asarray(s.numbers)] * np.asarray(s.occupancy)))
    return mass * 1.66053906660 / abs(float(np.linalg.det(np.asarray(s.cell))))


def run(ctx) -> None:
    import matplotlib.pyplot as plt

    from ...structure import crystals, symbol, zone_axis

    rows = []
    for name in crystals.list_crystals():
        info = crystals.crystal_info(name)
        s = crystals.crystal(name)
        lat = info["lattice"]
        cell = f"a = {lat['a']:.5g}" + (f", c = {lat['c']:.5g}" if "c" in lat else "")
        bees = ", ".join(f"{k} {v:.3g}" for k, v in info["B"].items())
        rows.append([name, info["space_group"], cell, len(s), round(_density(s), 4), bees,
                     info["lattice_status"].split()[0].rstrip(":"), info["B_status"].split()[0].rstrip(":")])
    ctx.text("Conventional cells of <code>jaxem.structure.crystals</code> with room-temperature lattice "
             "parameters [Å] and Debye–Waller factors B [Å²]; the sources and how each number was checked "
             "are in <code>jaxem/data/crystals.json</code>.")
    ctx.table(["crystal", "space group", "lattice [Å]", "atoms", "density [g/cm³]", "B [Å²]",
               "lattice status", "B status"], rows, caption="built-in crystals (~295 K)")

    views = _VIEWS[:4] if ctx.small else _VIEWS
    fig, axes = plt.subplots(1, len(views), figsize=(3.2 * len(views), 3.4))
    table = []
    for ax, (name, uvw, label) in zip(np.atleast_1d(axes), views):
        o, info = zone_axis(crystals.crystal(name), uvw, return_info=True)
        rep = o.repeat(3, 3, 1)
        pos, z = np.asarray(rep.positions), np.asarray(rep.numbers)
        for zz in sorted(set(z.tolist()), reverse=True):
            sel = z == zz
            ax.scatter(pos[sel, 0], pos[sel, 1], s=6 + zz, label=symbol(zz), alpha=0.8)
        lx, ly, _ = o.lengths
        ax.plot([0, lx, lx, 0, 0], [0, 0, ly, ly, 0], "k-", lw=0.8)
        ax.set_aspect("equal")
        ax.set_title(label)
        ax.set_xlabel("x [Å]")
        ax.legend(fontsize=7, loc="upper right")
        table.append([label, len(o), *(round(v, 4) for v in o.lengths), f"{info.strain:.1e}"])
    np.atleast_1d(axes)[0].set_ylabel("y [Å]")
    fig.tight_layout()
    ctx.figure("zone_axes", fig, "Atoms projected along the beam (z) for zone-axis cells built by "
                                 "jaxem.structure.zone_axis (3×3 cells; the box is one oriented cell).")
    ctx.table(["zone axis", "atoms", "lx [Å]", "ly [Å]", "lz [Å]", "strain"], table,
              caption="smallest orthorhombic cells (exact orthogonality: strain ~ 0)")
