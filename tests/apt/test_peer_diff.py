"""Differential tests of jaxem.apt against APAV 1.4.0 (GPL; a test-only oracle) on its own sample files
``Si.pos``/``Si.epos``/``Si.apt``/``Si.RRNG``: file contents, ranges, ion and element compositions (all
hits and single hits) and the mass histogram.

APAV 1.4.0 predates NumPy 2: its byte-order helper calls ``ndarray.newbyteorder``, removed in NumPy 2;
the test replaces that one helper by its NumPy-2 spelling. APAV imports PyQt5 (offscreen platform).
APAV cannot read ``.RNG`` files (NotImplementedError) and does no reconstruction, so neither is compared
here (RNG = RRNG is checked in test_rangefile.py)."""
import os

import numpy as np
import pytest

from jaxem import apt

from ._samples import sample_dir


@pytest.fixture(scope="module")
def peer():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    apav = pytest.importorskip("apav")
    d = sample_dir()
    if d is None:
        pytest.skip("APAV sample files not available (set JAXEM_APT_SAMPLES)")
    import apav.core.roi as roi

    roi.array2native_byteorder = lambda a: a.astype(a.dtype.newbyteorder("="))
    return apav, d


@pytest.fixture(scope="module")
def epos(peer):
    apav, d = peer
    return apav.load_epos(str(d / "Si.epos")), apt.read_epos(d / "Si.epos")


def test_pos_and_apt_files_vs_apav(peer):
    apav, d = peer
    p, jp = apav.load_pos(str(d / "Si.pos")), apt.read_pos(d / "Si.pos")
    np.testing.assert_array_equal(np.c_[jp["x"], jp["y"], jp["z"]], p.xyz)
    np.testing.assert_array_equal(jp["mass"], p.mass)
    a, ja = apav.load_apt(str(d / "Si.apt")), apt.read_apt(d / "Si.apt")
    np.testing.assert_array_equal(np.asarray(ja["Mass"]).ravel(), a.mass)
    np.testing.assert_array_equal(np.asarray(ja["Position"]).reshape(-1, 3), a.xyz)


def test_epos_columns_vs_apav(epos):
    ep, je = epos
    np.testing.assert_array_equal(np.c_[je["x"], je["y"], je["z"]], ep.xyz)
    np.testing.assert_array_equal(je["mass"], ep.mass)
    np.testing.assert_array_equal(je["x_det"], ep.misc["det_x"])
    np.testing.assert_array_equal(je["y_det"], ep.misc["det_y"])
    np.testing.assert_array_equal(je["multiplicity"], ep.misc["ipp"])


def test_rrng_vs_apav(peer):
    apav, d = peer
    rc, t = apav.load_rrng(str(d / "Si.RRNG")), apt.read_rrng(d / "Si.RRNG")
    a = sorted((r.lower, r.upper, r.formula.replace(" ", "")) for r in rc)
    j = sorted(zip(t.lo, t.hi, (apt.ion_name(dict(i)) for i in t.ions)))
    assert len(a) == len(j) == 25
    for (alo, ahi, an), (jlo, jhi, jn) in zip(a, j):
        assert (alo, ahi, an) == (pytest.approx(jlo, abs=1e-12), pytest.approx(jhi, abs=1e-12), jn)


@pytest.mark.parametrize("decompose", [False, True])
@pytest.mark.parametrize("singles", [False, True])
def test_composition_vs_apav(peer, epos, decompose, singles):
    """Ion (``decompose=False``) and element compositions, all hits or single hits only: identical counts
    (ranges are [lo, hi) in both codes) and fractions."""
    from apav.analysis.massspectrum import RangedMassSpectrum

    apav, d = peer
    ep, je = epos
    rc, t = apav.load_rrng(str(d / "Si.RRNG")), apt.read_rrng(d / "Si.RRNG")
    mass = je["mass"]
    if singles:
        ev = apt.multi_hit_events(je["multiplicity"])
        mass = mass[np.bincount(ev)[ev] == 1]
    gross, _, _ = apt.range_counts(mass, t)
    per_ion = np.bincount(t.ion_index(), weights=gross, minlength=len(t.ion_types))
    names = [dict(i) for i in t.ion_types] if decompose else t.ion_names
    j = apt.composition(per_ion, names, by_element=decompose)
    q = RangedMassSpectrum(ep, rc, decompose=decompose, multiplicity=1 if singles else "all").quant_dict
    assert set(j) == {k.replace(" ", "") for k in q}
    for k, (frac, cnt) in q.items():
        assert j[k.replace(" ", "")][0] == pytest.approx(frac, abs=1e-12)
    if not decompose:
        assert per_ion.sum() == sum(c for _, c in q.values())


def test_mass_histogram_vs_apav(epos):
    ep, je = epos
    ca, ha = ep.mass_histogram(0.01, 0, 200)
    cj, hj = apt.mass_spectrum(je["mass"], 0.01, (0, 200))
    assert cj.shape == ca.shape
    np.testing.assert_allclose(cj, ca, atol=1e-9)
    np.testing.assert_array_equal(hj, ha)


@pytest.mark.parametrize("comp,charge", [({"Si": 1}, 2), ({"Cr": 1, "O": 2}, 1), ({"Cr": 2, "O": 1}, 2),
                                         ({"Mo": 1}, 3), ({"Sn": 1, "O": 2}, 2)])
def test_isotope_patterns_vs_apav(peer, comp, charge):
    """Every APAV isotopic peak above 1e-4 has a jaxem peak within 1e-5 Da (jaxem merges peaks closer than
    1 mDa) with the same abundance to 2e-3 (isotope-abundance table editions: Mo differs by 1.2e-3)."""
    apav, _ = peer
    formula = "".join(f"{el}{n if n > 1 else ''}" for el, n in comp.items())
    s = apav.IsotopeSeries(formula, charge, threshold=0.0)
    am = np.array([i.mass for i in s.isotopes])
    aa = np.array([i.abundance for i in s.isotopes])
    jm, ja = apt.isotope_pattern(comp, charge, min_abundance=0.0)
    assert ja.sum() == pytest.approx(1.0, abs=1e-12)
    for m, a in zip(am[aa > 1e-4], aa[aa > 1e-4]):
        k = int(np.argmin(np.abs(jm - m)))
        assert abs(jm[k] - m) < 1e-5 and abs(ja[k] - a) < 2e-3, (m, a, jm[k], ja[k])
