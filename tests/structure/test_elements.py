"""Element symbols ↔ atomic numbers, checked against ASE's independent table."""
import pytest
from ase.data import chemical_symbols

from jaxem.structure import atomic_number, symbol
from jaxem.structure.elements import MAX_Z


def test_all_elements_match_ase_table():
    for z in range(1, MAX_Z + 1):
        assert symbol(z) == chemical_symbols[z]
        assert atomic_number(chemical_symbols[z]) == z
        assert atomic_number(z) == z


@pytest.mark.parametrize("text,z", [("Si", 14), (" sr ", 38), ("FE", 26), ("o", 8)])
def test_symbols_are_case_and_space_insensitive(text, z):
    assert atomic_number(text) == z


@pytest.mark.parametrize("bad", ["Xx", "", "Qq", "Siliconium"])
def test_unknown_symbol_raises_with_name(bad):
    with pytest.raises(ValueError, match="unknown element"):
        atomic_number(bad)


@pytest.mark.parametrize("bad", [0, -1, MAX_Z + 1, 1.5])
def test_bad_atomic_numbers_raise(bad):
    with pytest.raises(ValueError, match="atomic number"):
        atomic_number(bad)


def test_non_element_type_raises_type_error():
    with pytest.raises(TypeError):
        atomic_number(None)
    with pytest.raises(TypeError):
        atomic_number([14])
