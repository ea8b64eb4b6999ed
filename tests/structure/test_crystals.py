"""Built-in crystals against published densities, bond lengths, coordination and ASE's builders."""
import json
import math
from importlib import resources

import numpy as np
import pytest
from ase.build import bulk
from ase.data import atomic_masses
from ase.neighborlist import neighbor_list

from jaxem.structure import crystals, zone_axis

# (name, atoms in the conventional cell, published density [g/cm³], abs tolerance, source)
DENSITIES = [
    ("Si", 8, 2.3290, 0.0005, "X-ray density of Si, e.g. CRC Handbook 2.329"),
    ("diamond", 8, 3.5152, 0.0005, "3515.25 kg/m³ at 300 K (Properties of diamond, Sque)"),
    ("Ni", 4, 8.908, 0.005, "CRC Handbook 8.908 g/cm³"),
    ("SrTiO3", 5, 5.116, 0.003, "Dx = 5.116 Mg/m³, γ-ray study at 293 K (IUCr sh5025)"),
    ("ZnO", 4, 5.675, 0.01, "X-ray density (ICSD 154486 Dx = 5.68); bulk measured 5.61"),
    ("SiC-3C", 8, 3.21, 0.01, "3C-SiC 3.21 g/cm³"),
    ("SiC-4H", 8, 3.21, 0.01, "4H-SiC 3.21 g/cm³"),
    ("BaTiO3", 5, 6.02, 0.02, "tetragonal BaTiO3 X-ray density 6.02 g/cm³"),
]


def density(s):
    mass = np.sum(atomic_masses[np.asarray(s.numbers)] * np.asarray(s.occupancy))
    return mass * 1.66053906660 / abs(np.linalg.det(np.asarray(s.cell)))


def bonds(s, a, b, cutoff):
    """Distances [Å] from species a to species b within cutoff, per a-atom (ASE neighbour list)."""
    atoms = s.to_ase()
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    z = atoms.numbers
    sel = (z[i] == a) & (z[j] == b)
    return i[sel], d[sel]


def test_list_and_lookup():
    names = crystals.list_crystals()
    assert set(names) == {"Si", "diamond", "Ni", "SrTiO3", "ZnO", "SiC-3C", "SiC-4H", "BaTiO3"}
    assert len(crystals.crystal("sic_3c")) == 8 and len(crystals.crystal("SRTIO3")) == 5
    with pytest.raises(ValueError, match="unknown crystal"):
        crystals.crystal("unobtainium")
    with pytest.raises(TypeError):
        crystals.crystal(3)


@pytest.mark.parametrize("name,n,rho,tol,source", DENSITIES)
def test_density_matches_published(name, n, rho, tol, source):
    s = crystals.crystal(name)
    assert len(s) == n
    assert density(s) == pytest.approx(rho, abs=tol), source


@pytest.mark.parametrize(
    "name,a,b,cutoff,expected,n_neigh,tol",
    [
        ("Si", 14, 14, 2.5, 2.352, 4, 0.001),  # Si–Si bond
        ("diamond", 6, 6, 1.7, 1.545, 4, 0.001),  # C–C bond
        ("SrTiO3", 22, 8, 2.2, 1.952, 6, 0.001),  # Ti–O
        ("SrTiO3", 38, 8, 2.9, 2.761, 12, 0.001),  # Sr–O = a/√2
        ("Ni", 28, 28, 2.7, 2.492, 12, 0.001),  # Ni–Ni = a/√2
        ("ZnO", 30, 8, 2.2, 1.98, 4, 0.01),  # Zn–O (1.974 ×3, 1.988 ×1)
        ("SiC-3C", 14, 6, 2.1, 1.888, 4, 0.001),  # Si–C = a√3/4
        ("SiC-4H", 14, 6, 2.1, 1.888, 4, 0.002),  # Si–C in the 4H polytype (ideal positions)
    ],
)
def test_bond_lengths_and_coordination(name, a, b, cutoff, expected, n_neigh, tol):
    s = crystals.crystal(name)
    i, d = bonds(s, a, b, cutoff)
    counts = np.bincount(i)[np.unique(i)]
    assert np.all(counts == n_neigh)
    assert np.mean(d) == pytest.approx(expected, abs=tol)


def test_zno_bonds_split_by_u():
    s = crystals.ZnO()
    _, d = bonds(s, 30, 8, 2.2)
    a, c, u = 3.24982, 5.20661, 0.3819
    np.testing.assert_allclose(np.sort(np.unique(np.round(d, 6))),
                               sorted([u * c, math.sqrt(a**2 / 3 + (0.5 - u) ** 2 * c**2)]), atol=1e-5)
    assert crystals.ZnO(u=0.375).positions[2, 2] == pytest.approx(0.375 * c)


def test_batio3_polar_displacements():
    s = crystals.BaTiO3()
    _, d = bonds(s, 22, 8, 2.3)
    d = np.sort(d)
    # four equatorial Ti–O near a/2 (bent), one short and one long apical bond along c
    assert d[0] == pytest.approx((0.5 - 0.018 - 0.016) * 4.018, abs=1e-4)
    assert d[-1] == pytest.approx((1 + 0.016 - 0.482) * 4.018, abs=1e-4)
    centro = crystals.BaTiO3(dz_Ti=0.0, z_O1=0.0, dz_O2=0.0)
    _, d0 = bonds(centro, 22, 8, 2.3)
    np.testing.assert_allclose(np.sort(d0)[:4], 3.9998 / 2, atol=1e-6)


def _same_up_to_translation(s, atoms):
    """True if the jaxem structure equals the ASE atoms up to a global translation (mod cell)."""
    cell = np.asarray(s.cell)
    assert np.allclose(cell, atoms.cell[:], atol=1e-6)
    inv = np.linalg.inv(cell)
    fa = np.asarray(s.positions) @ inv
    fb = atoms.get_positions() @ inv
    za, zb = np.asarray(s.numbers), atoms.numbers
    if sorted(za) != sorted(zb):
        return False
    for j in np.flatnonzero(zb == za[0]):
        shifted = (fa - fa[0] + fb[j]) % 1.0
        diff = (shifted[:, None, :] - fb[None] + 0.5) % 1.0 - 0.5
        match = np.all(np.abs(diff) < 1e-6, axis=-1) & (za[:, None] == zb[None])
        if np.all(match.any(axis=1)):
            return True
    return False


@pytest.mark.parametrize(
    "name,atoms",
    [
        ("Si", lambda: bulk("Si", "diamond", a=5.431020511, cubic=True)),
        ("diamond", lambda: bulk("C", "diamond", a=3.56714, cubic=True)),
        ("Ni", lambda: bulk("Ni", "fcc", a=3.5238, cubic=True)),
        ("SiC-3C", lambda: bulk("SiC", "zincblende", a=4.3596, cubic=True)),
    ],
)
def test_positions_match_ase_builders(name, atoms):
    assert _same_up_to_translation(crystals.crystal(name), atoms())


def test_zno_matches_ase_wurtzite_of_opposite_polarity():
    # ASE puts O below Zn along c; jaxem uses the crystallographic setting Zn (1/3,2/3,0),
    # O (1/3,2/3,u) (O above Zn). The two are related by z → −z, not by a translation.
    ase_zno = bulk("ZnO", "wurtzite", a=3.24982, c=5.20661, u=0.3819)
    assert not _same_up_to_translation(crystals.ZnO(), ase_zno)
    flipped = ase_zno.copy()
    flipped.positions[:, 2] *= -1
    assert _same_up_to_translation(crystals.ZnO(), flipped)


def test_debye_waller_factors_from_the_data_file():
    table = json.loads((resources.files("jaxem") / "data" / "crystals.json").read_text())["crystals"]
    for name, rec in table.items():
        s = crystals.crystal(name)
        for sym, b in rec["B"].items():
            from jaxem.structure import atomic_number

            sel = np.asarray(s.numbers) == atomic_number(sym)
            assert sel.any()
            np.testing.assert_allclose(np.asarray(s.B)[sel], b)
            np.testing.assert_allclose(np.asarray(s.u2)[sel], b / (8 * math.pi**2))
            assert 0.05 < b < 1.5  # room-temperature magnitudes [Å²]
    # overrides
    np.testing.assert_allclose(np.asarray(crystals.Si(B=0.3).B), 0.3)
    np.testing.assert_allclose(np.asarray(crystals.Si(U_iso=0.01).u2), 0.01)


def test_every_number_has_a_source_and_status():
    table = json.loads((resources.files("jaxem") / "data" / "crystals.json").read_text())["crystals"]
    allowed = ("verified", "secondary", "derived", "unverified")
    for name, rec in table.items():
        for part in ("lattice", "B") + (("params",) if "params" in rec else ()):
            assert len(rec[f"{part}_source"]) > 20, (name, part)
            assert rec[f"{part}_status"].split()[0].rstrip(":") in allowed, (name, part)
        assert 280 <= rec["temperature_K"] <= 300


def test_parameter_overrides_are_validated():
    with pytest.raises(ValueError, match="no parameter"):
        crystals.SrTiO3(u=0.3)
    with pytest.raises(ValueError, match="finite"):
        crystals.ZnO(u=float("nan"))
    with pytest.raises(ValueError, match="at most one"):
        crystals.Si(B=0.3, U_iso=0.01)
    with pytest.raises(ValueError, match="≥ 0"):
        crystals.Si(B=-0.3)


def test_conventional_cells_and_documented_chain():
    for name in ("Si", "diamond", "Ni", "SrTiO3", "SiC-3C", "BaTiO3"):
        crystals.crystal(name).check_orthorhombic()
    with pytest.raises(ValueError, match="orthorhombic"):
        crystals.ZnO().check_orthorhombic()
    sto = zone_axis(crystals.SrTiO3(), [0, 0, 1]).repeat(8, 8, 26)
    assert len(sto) == 5 * 8 * 8 * 26 and sto.z_repeats == 26
    np.testing.assert_allclose(sto.lengths, [8 * 3.9053, 8 * 3.9053, 26 * 3.9053], rtol=1e-12)
