"""Structure library, zone axes and kinematic tables against hand-derived crystallography."""
import numpy as np
import pytest

from jaxem import validate
from jaxem.ml import kinematic, library
from jaxem.potential.parametrizations import get_parametrization

from .conftest import SI


def test_library_lists_crystals_only():
    ids = library.list_structures()
    assert SI in ids and "ncrystal:Al2O3_sg167_Corundum" in ids
    assert not any("Gas" in i or "Liquid" in i or "Polyethylene" in i for i in ids)
    train, held = library.split(ids)
    assert set(train).isdisjoint(held) and len(held) > 10 and set(train) | set(held) == set(ids)


def test_si_structure(si):
    assert len(si) == 8
    np.testing.assert_allclose(np.diag(np.asarray(si.cell)), 5.4307, atol=1e-4)
    assert float(np.asarray(si.u2).min()) > 0  # NCrystal Debye–Waller


def test_cubic_zone_axes_by_hand(si):
    # m-3m with inversion: |u|+|v|+|w| ≤ 3 gives exactly [100], [110], [111], [210]
    za = library.zone_axes(si, max_sum=3)
    assert len(za) == 4 and set(za) == {(1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 1, 0)}


def test_bad_ids(tmp_path):
    with pytest.raises(validate.InputError, match="structure_id"):
        library.get_structure("nowhere:Si")
    with pytest.raises(validate.InputError, match="ncrystal:Unobtainium"):
        library.get_structure("ncrystal:Unobtainium")
    cif = tmp_path / "bad.cif"
    cif.write_text("data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_cell_angle_alpha 90\n"
                   "_cell_angle_beta 90\n_cell_angle_gamma 90\n_symmetry_space_group_name_H-M 'P 1'\nloop_\n"
                   "_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
                   "_atom_site_fract_z\nXx1 Xx 0 0 0\n")
    with pytest.raises(ValueError, match="Xx"):
        library.get_structure(f"cif:{cif}")


def test_si_110_table_by_hand(si):
    t = kinematic.zone_table(si, (1, 1, 0))
    a = 5.4307
    hkl = [tuple(r) for r in t.hkl]
    i111, i002, i220 = hkl.index((1, -1, 1)), hkl.index((0, 0, 2)), hkl.index((2, -2, 0))
    np.testing.assert_allclose(t.d[i111], a / np.sqrt(3), rtol=1e-6)
    assert not t.allowed[i002] and t.allowed[i220]  # diamond-glide extinction
    # |F(111)| = 4√2 f_e(g) exp(−2π²⟨u²⟩g²) for the diamond structure
    g = np.sqrt(3) / a
    fe = float(get_parametrization("lobato").scattering_factor([14], np.array([g]))[0, 0])
    u2 = float(np.asarray(si.u2)[0, 0])
    np.testing.assert_allclose(t.amplitude[i111], 4 * np.sqrt(2) * fe * np.exp(-2 * np.pi**2 * u2 * g * g), rtol=1e-5)
    # in-plane vectors: lengths are |g| and the zone is perpendicular to every g
    np.testing.assert_allclose(np.linalg.norm(t.g, axis=1), 1 / t.d, rtol=1e-10)
    # pair table: 111-type pair at 70.53°, rows sorted with |g_a| ≤ |g_b|
    p = t.pairs
    assert np.all(p[:, 0] <= p[:, 1] + 1e-12) and np.all(np.diff(p[:, 0]) >= -1e-12)
    assert np.any(np.isclose(p[:, 0], g) & np.isclose(p[:, 1], g) & np.isclose(p[:, 2], np.degrees(np.arccos(1 / 3))))


def test_frame_matches_zone_axis_cell(si):
    fr = kinematic.zone_frame(si, (1, 1, 0))
    z = np.array([1, 1, 0]) / np.sqrt(2)
    np.testing.assert_allclose(fr @ z, 0, atol=1e-10)
    np.testing.assert_allclose(fr @ fr.T, np.eye(2), atol=1e-10)
