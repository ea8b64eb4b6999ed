import pytest

from jaxem.apt.isotope_table import ISOTOPES
from jaxem.apt.isotopes import element_isotopes

def test_abundances_normalised():
    for el in ISOTOPES:
        assert element_isotopes(el)[:, 2].sum() == pytest.approx(1.0, abs=2e-4), el
    assert element_isotopes("Al").shape == (1, 3)
    with pytest.raises(ValueError, match="Tc"):
        element_isotopes("Tc")

def test_table_content():
    assert len(ISOTOPES) == 83  # 83 elements H–Bi without Tc and Pm (81), plus Th and U
    fe = {int(a): (m, x) for a, m, x in ISOTOPES["Fe"]}
    assert sorted(fe) == [54, 56, 57, 58]
    assert fe[56][1] == pytest.approx(0.91754)  # IUPAC representative isotopic composition

def test_agrees_with_ifes_nist_table():
    nist = pytest.importorskip("ifes_apt_tc_data_modeling.utils.nist_isotope_data").isotopes
    from ase.data import atomic_numbers

    for el, rows in ISOTOPES.items():
        for A, mass, ab in rows:
            assert nist[atomic_numbers[el]][A]["mass"] == mass
            assert nist[atomic_numbers[el]][A]["composition"] == ab
