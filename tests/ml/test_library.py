"""Structure library and zone axes (jaxem.ml.library) against hand-derived crystallography."""
import numpy as np
import pytest

from jaxem import validate
from jaxem.ml import library

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
