import numpy as np
import pytest
from hypothesis import given, strategies as st

from jaxem.apt.isotopes import atomic_weight, element_isotopes, isotope_pattern

# standard atomic weights (IUPAC 2021 abridged / conventional values)
STANDARD = {"Fe": 55.845, "Si": 28.085, "Cr": 51.996, "Cu": 63.546, "W": 183.84, "Al": 26.9815,
            "Ni": 58.693, "C": 12.011, "O": 15.999, "Mo": 95.95, "Ti": 47.867, "Ga": 69.723}


def test_atomic_weights_match_iupac():
    for el, w in STANDARD.items():
        assert atomic_weight(el) == pytest.approx(w, rel=2e-4), el


@given(st.sampled_from(["Fe", "Cr", "O", "Si", "Mo", "C"]), st.sampled_from(["O", "N", "H", "Cr"]),
       st.integers(1, 2), st.integers(1, 3))
def test_molecular_pattern_mean_and_norm(a, b, nb, q):
    comp = {a: 1, b: nb} if a != b else {a: 1 + nb}
    m, ab = isotope_pattern(comp, q)
    assert ab.sum() == pytest.approx(1.0, abs=1e-4)
    mean = sum(k * atomic_weight(e) for e, k in comp.items()) / q
    assert np.sum(m * ab) / ab.sum() == pytest.approx(mean, rel=1e-5)
    assert np.all(np.diff(m) > 0)
