"""Zone-axis orientation: orthorhombic cells with z ∥ [uvw], same crystal, same density."""
import math
import warnings

import numpy as np
import pytest
from ase.neighborlist import neighbor_list
from hypothesis import given
from hypothesis import strategies as st

from jaxem.structure import Structure, crystals, pure_translations, zone_axis


def _density(s):
    return len(s) / abs(np.linalg.det(np.asarray(s.cell)))


def _composition(s):
    z, n = np.unique(np.asarray(s.numbers), return_counts=True)
    return dict(zip(z.tolist(), (n / n.sum()).tolist()))


def _shells(s, cutoff=4.0):
    """Neighbour shells per atom to ``cutoff`` [Å]: {(Zi, Zj): [(distance, count per atom), ...]},
    from ASE's neighbour list (independent of jaxem); distances closer than 1e-6 Å form one shell."""
    i, j, d = neighbor_list("ijd", s.to_ase(), cutoff)
    z = np.asarray(s.numbers)
    out = {}
    for pair in sorted(set(zip(z[i].tolist(), z[j].tolist()))):
        dd = np.sort(d[(z[i] == pair[0]) & (z[j] == pair[1])])
        groups = np.split(dd, np.flatnonzero(np.diff(dd) > 1e-6) + 1)
        out[pair] = [(g.mean(), len(g) / len(s)) for g in groups]
    return out


def _same_shells(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(np.array(a[key]), np.array(b[key]), rtol=1e-9, atol=1e-9)


CASES = [
    ("Si", [0, 0, 1], 4), ("Si", [1, 1, 0], 4), ("Si", [1, 1, 1], 12),
    ("SrTiO3", [0, 0, 1], 5), ("SrTiO3", [1, 1, 0], 10), ("SrTiO3", [1, 1, 1], 30),
    ("ZnO", [0, 0, 1], 8), ("ZnO", [1, 1, 0], 8), ("ZnO", [2, 1, 0], 8),  # [0001], [11-20], [10-10]
    ("SiC-4H", [0, 0, 1], 16), ("SiC-4H", [1, 1, 0], 16),
    ("BaTiO3", [0, 0, 1], 5), ("BaTiO3", [1, 0, 0], 5), ("BaTiO3", [1, 1, 0], 10),
    ("Ni", [1, 1, 2], 6), ("diamond", [1, 1, 0], 4), ("SiC-3C", [1, 1, 0], 4),
]


@pytest.mark.parametrize("name,uvw,n_atoms", CASES)
def test_zone_axis_cells(name, uvw, n_atoms):
    s = crystals.crystal(name)
    o, info = zone_axis(s, uvw, return_info=True)
    o.check_orthorhombic()
    assert len(o) == n_atoms
    assert info.strain < 1e-8
    # beam direction: the new c vector is the lattice vector [uvw] (same direction, shortest)
    d = np.asarray(uvw, float) @ np.asarray(s.cell)
    v3 = info.vectors[2]
    assert np.linalg.norm(np.cross(v3, d)) < 1e-8 * np.linalg.norm(d) ** 2 and v3 @ d > 0
    np.testing.assert_allclose(o.lengths[2], np.linalg.norm(v3), rtol=1e-12)
    # the three new vectors are mutually orthogonal lattice vectors of the crystal
    g = info.vectors @ info.vectors.T
    np.testing.assert_allclose(g - np.diag(np.diag(g)), 0.0, atol=1e-8)
    # same atoms per volume, composition and local environment (neighbour shells to 4 Å)
    assert _density(o) == pytest.approx(_density(s), rel=1e-10)
    assert _composition(o) == pytest.approx(_composition(s))
    _same_shells(_shells(o), _shells(s))
    assert o.z_repeats == 1


def test_known_cell_shapes():
    a = 5.431020511
    np.testing.assert_allclose(sorted(zone_axis(crystals.Si(), [1, 1, 0]).lengths),
                               sorted([a / math.sqrt(2), a, a / math.sqrt(2)]), rtol=1e-12)
    np.testing.assert_allclose(zone_axis(crystals.Si(), [1, 1, 1]).lengths,
                               [a / math.sqrt(2), a * math.sqrt(6) / 2, a * math.sqrt(3)], rtol=1e-12)
    az, cz = 3.24982, 5.20661
    np.testing.assert_allclose(zone_axis(crystals.ZnO(), [0, 0, 1]).lengths, [az, az * math.sqrt(3), cz],
                               rtol=1e-12)


def test_srtio3_001_columns_projected():
    o = zone_axis(crystals.SrTiO3(), [0, 0, 1])
    xy = np.round(np.asarray(o.positions)[:, :2] / 3.9053, 6) % 1.0
    cols = {(tuple(p), int(z)) for p, z in zip(xy.tolist(), np.asarray(o.numbers))}
    assert cols == {((0.0, 0.0), 38), ((0.5, 0.5), 22), ((0.5, 0.5), 8), ((0.5, 0.0), 8), ((0.0, 0.5), 8)}


@given(u=st.integers(-2, 2), v=st.integers(-2, 2), w=st.integers(-2, 2))
def test_any_cubic_direction(u, v, w):
    if (u, v, w) == (0, 0, 0):
        return
    s = crystals.SrTiO3()
    o, info = zone_axis(s, [u, v, w], return_info=True)
    o.check_orthorhombic()
    d = np.array([u, v, w], float)
    assert np.linalg.norm(np.cross(info.vectors[2], d)) < 1e-8 and info.vectors[2] @ d > 0
    assert _density(o) == pytest.approx(_density(s), rel=1e-10)
    assert _composition(o) == pytest.approx(_composition(s))
    assert len(o) == round(len(s) * info.volume_ratio)


def test_anisotropic_u2_is_rotated():
    s = crystals.Si(u2=[[0.001, 0.003, 0.005]] * 8)
    o = zone_axis(s, [0, 0, 1])  # 45° rotation about z
    np.testing.assert_allclose(np.asarray(o.u2), [[0.002, 0.002, 0.005]] * len(o), atol=1e-12)
    o111 = zone_axis(s, [1, 1, 1])
    np.testing.assert_allclose(np.asarray(o111.u2).sum(1), 0.009, atol=1e-12)  # trace is invariant
    np.testing.assert_allclose(np.asarray(o111.u2)[:, 2], 0.003, atol=1e-12)  # along [111]: mean


def test_near_orthogonal_cell_needs_strain_and_reports_it():
    b = crystals.BaTiO3()
    with pytest.raises(ValueError, match="no orthogonal cell"):
        zone_axis(b, [1, 0, 1])
    with pytest.warns(UserWarning, match="strain"):
        o, info = zone_axis(b, [1, 0, 1], strain_tol=1e-2, return_info=True)
    o.check_orthorhombic()
    a, c = 3.9998, 4.0180
    # the shear between [10-1] and [101] is cos = (a² − c²)/(a² + c²)
    assert info.strain == pytest.approx(abs(a**2 - c**2) / (a**2 + c**2) / 2, rel=0.05)
    assert _density(o) == pytest.approx(_density(b), rel=1e-2)


@pytest.mark.parametrize("uvw,match", [([0, 0, 0], "uvw must be a non-zero lattice direction, got \\[0, 0, 0\\]"),
                                        ([1, 2], "uvw must be three integers"),
                                        ([0.5, 0, 1], "uvw must be an integer, got 0.5"),
                                        ([1, 0, float("nan")], "uvw must be an integer, got nan")])
def test_bad_directions_raise(uvw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        zone_axis(crystals.Si(), uvw)


def test_limits_and_types():
    with pytest.raises(ValueError, match="max_atoms"):
        zone_axis(crystals.SrTiO3(), [1, 2, 3], max_atoms=20)
    with pytest.raises(ValueError, match="max_index"):
        zone_axis(crystals.Si(), [0, 0, 1], max_index=0)
    with pytest.raises(ValueError, match="strain_tol"):
        zone_axis(crystals.Si(), [0, 0, 1], strain_tol=0.5)
    with pytest.raises(TypeError, match="structure must be a jaxem Structure or an ase.Atoms"):
        zone_axis("Si", [0, 0, 1])
    # ASE atoms are accepted; a structure that is not periodic in 3D is not a crystal to orient
    assert len(zone_axis(crystals.Si().to_ase(), [0, 0, 1])) == len(zone_axis(crystals.Si(), [0, 0, 1]))
    slab = crystals.Si().replace(pbc=(True, True, False))
    with pytest.raises(ValueError, match=r"structure.pbc = \(True, True, False\)"):
        zone_axis(slab, [1, 1, 0])


def test_pure_translations():
    assert len(pure_translations(crystals.Si())) == 4  # face centring
    assert len(pure_translations(crystals.SrTiO3())) == 1
    assert len(pure_translations(crystals.SrTiO3().repeat(2, 1, 3))) == 6
    # different B on otherwise equal sites breaks the translation symmetry
    s = crystals.Ni()
    s = Structure.create(s.positions, s.numbers, s.cell, B=[0.3, 0.3, 0.5, 0.3])
    assert len(pure_translations(s)) == 1


def test_supercell_input_gives_the_same_cell():
    big = crystals.SrTiO3().repeat(2, 2, 2)
    o = zone_axis(big, [1, 1, 0])
    assert len(o) == 10  # the primitive repeat is found again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zone_axis(crystals.ZnO(), [0, 0, 1])  # exact: no strain warning


def test_method_chain_from_the_house_plan():
    sto = crystals.SrTiO3().zone_axis([0, 0, 1]).repeat(8, 8, 26)
    ref = zone_axis(crystals.SrTiO3(), [0, 0, 1]).repeat(8, 8, 26)
    np.testing.assert_array_equal(np.asarray(sto.positions), np.asarray(ref.positions))
    assert sto.z_repeats == 26


def test_unwrapped_input_positions():
    s = crystals.SrTiO3()
    moved = s.translate([10.3, -7.0, 22.1])
    o, ref = zone_axis(moved, [1, 1, 0]), zone_axis(s, [1, 1, 0])
    assert len(o) == len(ref) == 10
    _same_shells(_shells(o), _shells(ref))
