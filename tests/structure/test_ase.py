"""One ``from_ase``: Debye–Waller factors, occupancies and pbc survive every ASE route."""
import warnings

import ase
import ase.build
import ase.io
import numpy as np
import pytest

from jaxem.structure import Structure, as_structure, from_ase, read

from .test_io import SRTIO3_PM3M

EIGHT_PI2 = 8 * np.pi**2

# SrTiO3 with the Sr site shared by Sr (0.6) and Ba (0.4)
MIXED_CIF = SRTIO3_PM3M.replace("Sr1 Sr2+ 0 0 0 1 0.00787(5)\n",
                                "Sr1 Sr2+ 0 0 0 0.6 0.00787(5)\nBa1 Ba2+ 0 0 0 0.4 0.00787(5)\n")


def _si_with_b():
    atoms = ase.build.bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.set_array("bfactor", np.full(len(atoms), 0.49))
    return atoms


def test_structure_from_ase_is_the_same_function_and_keeps_b():
    # the CLI's Structure.from_ase used to drop Debye–Waller factors while structure.io.from_ase kept them
    atoms = _si_with_b()
    a, b = Structure.from_ase(atoms), from_ase(atoms)
    for name in ("positions", "numbers", "cell", "u2", "occupancy"):
        np.testing.assert_array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)))
    np.testing.assert_allclose(np.asarray(a.B), 0.49)
    assert a.pbc == (True, True, True)
    np.testing.assert_allclose(np.asarray(Structure.from_ase(atoms, B=0.2).B), 0.2)  # explicit B overrides


@pytest.mark.parametrize("key,value,b", [
    ("u2", lambda n: np.tile([[0.01, 0.02, 0.03]], (n, 1)), EIGHT_PI2 * 0.02),
    ("u2", lambda n: np.full(n, 0.01), EIGHT_PI2 * 0.01),
    ("U_iso", lambda n: np.full(n, 0.005), EIGHT_PI2 * 0.005),
    ("B", lambda n: np.full(n, 0.7), 0.7),
    ("bfactor", lambda n: np.full(n, 0.3), 0.3),
])
def test_debye_waller_arrays(key, value, b):
    atoms = ase.build.bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.set_array(key, value(len(atoms)))
    np.testing.assert_allclose(np.asarray(from_ase(atoms).B), b, rtol=1e-6)


def test_debye_waller_and_occupancy_in_info():
    atoms = ase.Atoms("SrO", positions=[[0, 0, 0], [2, 2, 2]], cell=[4, 4, 4], pbc=True)
    atoms.info["B"] = {"Sr": 0.6, "O": 0.8}
    np.testing.assert_allclose(np.asarray(from_ase(atoms).B), [0.6, 0.8])
    atoms.info["B"] = 0.5
    np.testing.assert_allclose(np.asarray(from_ase(atoms).B), 0.5)


def test_pdb_bfactor_and_occupancy_through_read(tmp_path):
    atoms = _si_with_b()
    atoms.set_array("occupancy", np.full(len(atoms), 0.9))
    ase.io.write(tmp_path / "si.pdb", atoms)
    s = read(tmp_path / "si.pdb")
    np.testing.assert_allclose(np.asarray(s.B), 0.49, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(s.occupancy), 0.9)


def test_ase_cif_occupancies_and_mixed_sites(tmp_path):
    path = tmp_path / "mixed.cif"
    path.write_text(MIXED_CIF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        atoms = ase.io.read(path)  # ASE keeps one atom per site, occupancies in atoms.info
    assert len(atoms) == 5
    s = from_ase(atoms)
    assert len(s) == 6  # the Ba share of the Sr site is added at the same position
    occ = dict(zip(np.asarray(s.numbers).tolist(), np.asarray(s.occupancy).tolist()))
    assert occ[38] == pytest.approx(0.6) and occ[56] == pytest.approx(0.4) and occ[8] == pytest.approx(0.95)
    sr, ba = (np.asarray(s.positions)[np.asarray(s.numbers) == z][0] for z in (38, 56))
    np.testing.assert_allclose(sr, ba)
    # jaxem's own CIF reader keeps the same sites and, unlike ASE's, the U_iso
    ours = read(path)
    assert sorted(np.asarray(ours.numbers).tolist()) == sorted(np.asarray(s.numbers).tolist())
    assert float(np.asarray(ours.B).min()) > 0


def test_bad_ase_inputs_name_the_argument():
    with pytest.raises(ValueError, match=r"atoms: the cell must have a non-zero volume"):
        from_ase(ase.Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]))
    with pytest.raises(TypeError, match="atoms must be an ase.Atoms"):
        from_ase([[0, 0, 0]])
    with pytest.raises(TypeError, match="structure must be a jaxem Structure or an ase.Atoms, got str"):
        as_structure("Si")
    bad = _si_with_b()
    bad.set_array("bfactor", np.full(len(bad), -1.0))
    with pytest.raises(ValueError, match="B must be ≥ 0"):
        from_ase(bad)
