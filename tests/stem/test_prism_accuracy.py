"""PRISM accuracy at f > 1 against probe-by-probe multislice (jaxem.stem.prism_accuracy): the error
definitions, the exactness of PRISM's patterns where the specimen repeats with the window, and the
accuracy model against prism_scan on SrTiO3 [001], 300 kV, 20 mrad."""
import numpy as np
import pytest

from jaxem.potential import potential
from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, prism_error_estimate, stem_scan
from jaxem.stem.prism_accuracy import image_error, pattern_error, prism_errors
from jaxem.structure import crystals
from jaxem.validate import InputError

A = 3.905
SIM = STEMSimulation(300e3, 20.0, (AnnularDetector(45.0, 66.0, "HAADF"), PixelatedDetector(30.0, name="dp")))
SCAN = GridScan.create((0.0, 0.0), (A, A), gpts=(2, 2))


@pytest.fixture(scope="module")
def case():
    """2 × 2 × 2 cells, 80² pixels: multislice and PRISM at f = 2 (window: one unit cell) and 4 (half a cell)."""
    pot = potential(crystals.SrTiO3().repeat(2, 2, 2), gpts=(80, 80), slice_thickness=A)
    ms = stem_scan(SIM, SCAN, pot, method="multislice", progress=False)
    pr = {f: stem_scan(SIM, SCAN, pot, method="prism", interpolation=f, progress=False) for f in (2, 4)}
    return pot, ms, pr


def test_error_definitions_on_known_patterns():
    assert image_error([[1.0, 2.0]], [[1.0, 4.0]]) == pytest.approx(0.5)  # max|Δ| / max(ref)
    rng = np.random.default_rng(0)
    fine = np.full((3, 21, 21), 0.01)  # a flat pattern: each PRISM pixel (f² fine pixels) holds f² × 0.01
    for f in (2, 3):
        h = 21 // (2 * f)
        flat = np.full((3, 2 * h + 1, 2 * h + 1), f * f * 0.01)
        assert pattern_error(flat, fine, f, "binned") == pytest.approx(0.0, abs=1e-12)  # the bins tile the plane
        assert pattern_error(flat, fine, f, "sampled", ratio=f * f) == pytest.approx(0.0, abs=1e-12)
        assert pattern_error(1.1 * flat, fine, f, "binned") == pytest.approx(0.1)
    # sampled = the reference's pixel at the same angle: the centre pixel of the coarse pattern is the fine one
    ref = rng.random((1, 21, 21))
    coarse = ref[:, 10 + 2 * (np.arange(5) - 2)][:, :, 10 + 2 * (np.arange(5) - 2)]
    assert pattern_error(coarse, ref, 2, "sampled") == pytest.approx(0.0, abs=1e-12)
    assert pattern_error(coarse, ref, 2, "binned") > 0.1
    with pytest.raises(InputError, match="compare"):
        pattern_error(coarse, ref, 2, "cropped")
    with pytest.raises(InputError, match="reference"):
        pattern_error(coarse, ref[0], 2)
    with pytest.raises(InputError, match="image has shape"):
        image_error(np.ones(3), np.ones(4))


def test_window_periodic_specimen_gives_exact_patterns_and_the_model_its_haadf(case):
    """f = 2: the window is one unit cell, the specimen repeats with it, so PRISM's patterns are the
    multislice patterns at its pixels (to round-off) and only the HAADF quadrature differs — which the
    model, run at the scan's positions, reproduces."""
    pot, ms, pr = case
    pr = pr[2]
    err = prism_errors(pr, ms, SIM, pot.grid, 2)
    assert err["dp"] < 1e-5  # like for like: PRISM's approximation is exact here
    assert prism_errors(pr, ms, SIM, pot.grid, 2, compare="binned")["dp"] > 0.05  # the pixelation is not
    assert 1e-3 < err["HAADF"]
    est = prism_error_estimate(SIM, pot, 2, positions=SCAN.positions().reshape(-1, 2))
    assert est["haadf"] == pytest.approx(err["HAADF"], rel=0.05)
    assert est["pattern"] < 1e-5
    assert est["pattern_binned"] == pytest.approx(prism_errors(pr, ms, SIM, pot.grid, 2, compare="binned")["dp"],
                                                  rel=0.02)


def test_model_on_a_window_that_cuts_the_unit_cell(case):
    """f = 4: the window (half a cell) cuts the unit cell: the copies' exit waves differ from the probe's
    own tails and the patterns change. The model equals prism_scan at the same positions (it is
    PRISM's construction by multislice), to the half band pixel by which the windows may sit
    differently."""
    pot, ms, pr = case
    err = prism_errors(pr[4], ms, SIM, pot.grid, 4)
    assert err["dp"] > 1e-3
    est = prism_error_estimate(SIM, pot, 4, positions=SCAN.positions().reshape(-1, 2))
    print(est, err)
    assert est["pattern"] == pytest.approx(err["dp"], rel=0.15)
    assert est["haadf"] == pytest.approx(err["HAADF"], rel=0.15)
    assert prism_error_estimate(SIM, pot, 1)["haadf"] == 0.0
