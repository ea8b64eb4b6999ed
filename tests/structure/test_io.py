"""CIF and ASE-format import/export: round trips keep positions, species, occupancies and B."""
import math
import warnings

import ase.io
import numpy as np
import pytest

from jaxem.structure import Structure, crystals, read, read_cif, write, write_cif, zone_axis
from jaxem.structure.io import cif_text

EIGHT_PI2 = 8 * math.pi**2

SRTIO3_PM3M = """data_SrTiO3
_cell_length_a 3.9053(2)
_cell_length_b 3.9053(2)
_cell_length_c 3.9053(2)
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P m -3 m'
_symmetry_Int_Tables_number 221
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
_atom_site_U_iso_or_equiv
Sr1 Sr2+ 0 0 0 1 0.00787(5)
Ti1 Ti4+ 0.5 0.5 0.5 1 0.00557
O1 O2- 0.5 0.5 0 0.95 0.009275
"""

SI_FD3M_B = """data_Si
_cell_length_a 5.431020511
_cell_length_b 5.431020511
_cell_length_c 5.431020511
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'F d -3 m'
_symmetry_Int_Tables_number 227
loop_
_atom_site_label
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_B_iso_or_equiv
Si1 0 0 0 0.4882
"""

ZNO_ANISO = """data_ZnO
_cell_length_a 3.24982
_cell_length_b 3.24982
_cell_length_c 5.20661
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 120
_symmetry_space_group_name_H-M 'P 63 m c'
_symmetry_Int_Tables_number 186
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_U_iso_or_equiv
Zn1 Zn 0.333333 0.666667 0 0.0070
O1 O 0.333333 0.666667 0.3819 0.0080
loop_
_atom_site_aniso_label
_atom_site_aniso_U_11
_atom_site_aniso_U_22
_atom_site_aniso_U_33
_atom_site_aniso_U_12
_atom_site_aniso_U_13
_atom_site_aniso_U_23
Zn1 0.0060 0.0060 0.0090 0.0030 0 0
"""


def _as_set(s, decimals=5):
    frac = (np.asarray(s.positions) @ np.linalg.inv(np.asarray(s.cell))) % 1.0
    frac = np.round(frac, decimals) % 1.0
    return sorted(zip(np.asarray(s.numbers).tolist(), map(tuple, frac.tolist())))


def test_cif_round_trip_keeps_everything(tmp_path):
    s = crystals.SrTiO3(B={"Sr": 0.621, "Ti": 0.440, "O": 0.732}, occupancy=[1, 1, 0.9, 0.8, 0.95])
    path = write_cif(s, tmp_path / "sto.cif")
    back = read_cif(path)
    np.testing.assert_allclose(np.asarray(back.positions), np.asarray(s.positions), atol=1e-6)
    np.testing.assert_array_equal(np.asarray(back.numbers), np.asarray(s.numbers))
    np.testing.assert_allclose(np.asarray(back.occupancy), np.asarray(s.occupancy), atol=1e-8)
    np.testing.assert_allclose(np.asarray(back.B), np.asarray(s.B), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(back.cell), np.asarray(s.cell), atol=1e-7)
    assert not list(tmp_path.glob(".*tmp*"))  # the atomic write leaves no temporary files


def test_cif_round_trip_of_hexagonal_and_anisotropic_cells(tmp_path):
    z = crystals.ZnO()
    back = read_cif(write_cif(z, tmp_path / "zno.cif"))
    assert _as_set(back) == _as_set(z)
    np.testing.assert_allclose(np.asarray(back.B), np.asarray(z.B), rtol=1e-6)
    # orthorhombic cell with anisotropic <u²>: written as U_11/22/33 and read back exactly
    o = zone_axis(crystals.Si(u2=[[0.002, 0.004, 0.008]] * 8), [1, 1, 0])
    back = read_cif(write_cif(o, tmp_path / "si110.cif"))
    np.testing.assert_allclose(np.asarray(back.u2), np.asarray(o.u2), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(back.positions), np.asarray(o.positions), atol=1e-6)


def test_ase_reads_our_cif_identically(tmp_path):
    s = zone_axis(crystals.BaTiO3(), [1, 1, 0])
    atoms = ase.io.read(write_cif(s, tmp_path / "bto.cif"))
    np.testing.assert_allclose(atoms.get_positions(), np.asarray(s.positions), atol=1e-6)
    np.testing.assert_array_equal(atoms.numbers, np.asarray(s.numbers))


def test_symmetric_cif_is_expanded_with_its_u_iso_and_occupancy(tmp_path):
    path = tmp_path / "sto.cif"
    path.write_text(SRTIO3_PM3M)
    s = read_cif(path)
    assert _as_set(s) == _as_set(crystals.SrTiO3())
    z = np.asarray(s.numbers)
    np.testing.assert_allclose(np.asarray(s.u2)[z == 38], 0.00787)
    np.testing.assert_allclose(np.asarray(s.B)[z == 8], EIGHT_PI2 * 0.009275)
    np.testing.assert_allclose(np.asarray(s.occupancy)[z == 8], 0.95)
    np.testing.assert_allclose(np.asarray(s.occupancy)[z != 8], 1.0)


def test_centred_space_group_and_b_iso(tmp_path):
    path = tmp_path / "si.cif"
    path.write_text(SI_FD3M_B)
    s = read_cif(path)
    assert len(s) == 8 and _as_set(s) == _as_set(crystals.Si())
    np.testing.assert_allclose(np.asarray(s.B), 0.4882)
    np.testing.assert_allclose(np.asarray(read_cif(path, B=0.3).B), 0.3)  # explicit B overrides


def test_anisotropic_u_goes_to_cartesian_diagonal(tmp_path):
    path = tmp_path / "zno.cif"
    path.write_text(ZNO_ANISO)
    s = read_cif(path)
    z = np.asarray(s.numbers)
    # hexagonal U with U11 = U22 = 2 U12 is isotropic in the basal plane: diag = (U11, U11, U33)
    np.testing.assert_allclose(np.asarray(s.u2)[z == 30], [[0.006, 0.006, 0.009]] * 2, atol=1e-12)
    np.testing.assert_allclose(np.asarray(s.u2)[z == 8], 0.008)


def test_missing_debye_waller_factors_warn_and_default_to_zero(tmp_path):
    path = tmp_path / "plain.cif"
    path.write_text(SI_FD3M_B.replace("_atom_site_B_iso_or_equiv\n", "").replace(" 0.4882", ""))
    with pytest.warns(UserWarning, match="Debye"):
        s = read_cif(path)
    np.testing.assert_allclose(np.asarray(s.u2), 0.0)


def test_other_formats_through_ase(tmp_path):
    s = crystals.SrTiO3(occupancy=[1, 1, 0.5, 1, 1])
    back = read(write(s, tmp_path / "sto.extxyz"))
    for name in ("positions", "numbers", "cell", "u2", "occupancy"):
        np.testing.assert_allclose(np.asarray(getattr(back, name)), np.asarray(getattr(s, name)), atol=1e-8)
    back = read(write(s, tmp_path / "sto.cif"))  # .cif goes through write_cif/read_cif
    np.testing.assert_allclose(np.asarray(back.B), np.asarray(s.B), rtol=1e-6)


@pytest.mark.parametrize(
    "text,match",
    [
        ("this is not a cif file\n", "bad.cif: (cannot read|holds no structure)"),
        (SRTIO3_PM3M.replace("Sr1 Sr2+", "Xx1 Xx"), "element"),
        (SRTIO3_PM3M.replace("_cell_length_b 3.9053(2)\n", ""), "no structure|_cell"),
        (SRTIO3_PM3M.replace("0.009275", "-0.5"), "≥ 0"),
        (SRTIO3_PM3M.replace("0.5 0.5 0 0.95", "0.5 0.5 0 1.5"), "occupancy"),
    ],
)
def test_bad_cif_files_raise_clear_errors(tmp_path, text, match):
    path = tmp_path / "bad.cif"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            read_cif(path)


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="path: no such file"):
        read_cif(tmp_path / "missing.cif")
    with pytest.raises(FileNotFoundError, match="path: no such file"):
        read(tmp_path / "missing.xyz")
    with pytest.raises(IsADirectoryError, match="path"):
        read(tmp_path)
    with pytest.raises(TypeError, match="structure must be a jaxem Structure or an ase.Atoms"):
        write_cif("Si", tmp_path / "x.cif")
    path = tmp_path / "sto.cif"
    path.write_text(SRTIO3_PM3M)
    with pytest.raises(ValueError, match="index"):
        read_cif(path, index=3)


def test_cif_text_is_p1_with_expected_columns():
    text = cif_text(Structure.create([[0, 0, 0]], ["Au"], [4.0, 4.0, 4.0], B=0.62))
    assert "'P 1'" in text and "_atom_site_U_iso_or_equiv" in text and "_atom_site_occupancy" in text
    line = [ln for ln in text.splitlines() if ln.startswith("Au1")][0].split()
    assert float(line[6]) == pytest.approx(0.62 / EIGHT_PI2)


def test_explicit_symmetry_operations(tmp_path):
    ops = ["x,y,z", "-y,x-y,z", "-x+y,-x,z", "-x,-y,z+1/2", "y,-x+y,z+1/2", "x-y,x,z+1/2",
           "-y,-x,z", "-x+y,y,z", "x,x-y,z", "y,x,z+1/2", "x-y,-y,z+1/2", "-x,-x+y,z+1/2"]  # P6_3mc
    text = ZNO_ANISO.split("loop_\n_atom_site_aniso_label")[0]
    text = text.replace("_symmetry_Int_Tables_number 186\n",
                        "_symmetry_Int_Tables_number 186\nloop_\n_space_group_symop_operation_xyz\n"
                        + "".join(f"'{op}'\n" for op in ops))
    text = text.replace("0.333333 0.666667", "0.3333333333 0.6666666667")
    path = tmp_path / "zno_ops.cif"
    path.write_text(text)
    s = read_cif(path)
    assert len(s) == 4 and _as_set(s) == _as_set(crystals.ZnO())
    np.testing.assert_allclose(np.asarray(s.u2)[np.asarray(s.numbers) == 30], 0.0070)


def test_unknown_cif_values_fall_back_to_defaults(tmp_path):
    path = tmp_path / "q.cif"
    path.write_text(SRTIO3_PM3M.replace("0.5 0.5 0 0.95 0.009275", "0.5 0.5 0 ? 0.009275"))
    s = read_cif(path)
    np.testing.assert_allclose(np.asarray(s.occupancy), 1.0)
