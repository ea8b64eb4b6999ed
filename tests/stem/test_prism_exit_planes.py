"""PRISM's error estimate judges every exit plane of a thickness series, and ``method="auto"`` decides on
the worst. SrTiO3 [001], 300 kV, 20 mrad, 2 × 2 cells, 80² pixels, 12 slices of 3.905 Å (4.7 nm), f = 2
(the window is one unit cell): the HAADF error is not monotonic in the thickness (≈ 0.30 at 43 Å,
≈ 0.08 at the 46.9 Å exit surface), so an estimate of the exit surface alone accepts PRISM for a
thickness series whose intermediate planes it gets wrong."""
import numpy as np
import pytest

from jaxem.potential import potential
from jaxem.potential.projected import PotentialSlices
from jaxem.stem import AnnularDetector, GridScan, STEMSimulation, choose_method, prism_error_estimate, stem_scan
from jaxem.stem.prism_accuracy import image_error
from jaxem.validate import InputError

A = 3.905
HAADF = AnnularDetector(45.0, 66.0, "HAADF")
SIM = STEMSimulation(300e3, 20.0, (HAADF,))
SCAN = GridScan.create((0.0, 0.0), (A, A), gpts=(2, 2))
N = 12


def _slices(pot, n):
    return PotentialSlices(pot.array, pot.sequence[:n], pot.slice_thickness, pot.grid)


@pytest.fixture(scope="module")
def pot():
    from jaxem.structure import crystals

    cell = potential(crystals.SrTiO3().repeat(2, 2, 2), gpts=(80, 80), slice_thickness=A)
    return PotentialSlices(cell.array, cell.sequence * (N // 2), cell.slice_thickness, cell.grid)


@pytest.fixture(scope="module")
def series(pot):
    return prism_error_estimate(SIM, pot, 2, positions=SCAN.positions().reshape(-1, 2), exit_planes=1)


def test_every_plane_is_judged_and_the_worst_reported(pot, series):
    assert series["exit_planes"] == tuple(range(1, N + 1))
    np.testing.assert_allclose(series["thicknesses"], pot.slice_thickness * np.arange(1, N + 1))
    per = np.array([p["HAADF"] for p in series["by_plane"]])
    k = int(np.argmax(per))
    assert k < N - 1 and per[k] > 2 * per[-1]  # an intermediate plane is worse than the exit surface
    assert series["error"] == series["detectors"]["HAADF"] == per[k] and series["detector"] == "HAADF"
    assert series["thickness"] == pytest.approx(pot.slice_thickness * (k + 1)) and series["haadf"] == per[k]
    surface = prism_error_estimate(SIM, pot, 2, positions=SCAN.positions().reshape(-1, 2))
    assert surface["exit_planes"] == (N,) and surface["error"] == pytest.approx(per[-1], rel=1e-4)


@pytest.mark.parametrize("n", [3, 11])
def test_each_plane_equals_a_run_of_that_thickness(pot, series, n):
    """Plane n of the series = the estimate for a specimen of n slices (independent runs)."""
    one = prism_error_estimate(SIM, _slices(pot, n), 2, positions=SCAN.positions().reshape(-1, 2))
    assert one["error"] == pytest.approx(series["by_plane"][n - 1]["HAADF"], rel=1e-3)


def test_worst_plane_matches_a_direct_prism_vs_multislice_thickness_series(pot, series):
    """The per-plane estimates against PRISM and multislice scans with the same exit planes (the model's
    stated accuracy: 15 %)."""
    planes = [3, 11, 12]
    ms = stem_scan(SIM, SCAN, pot, method="multislice", exit_planes=planes, progress=False)["HAADF"]
    pr = stem_scan(SIM, SCAN, pot, method="prism", interpolation=2, exit_planes=planes, progress=False)["HAADF"]
    for j, n in enumerate(planes):
        direct = image_error(np.asarray(pr.array)[..., j], np.asarray(ms.array)[..., j])
        assert series["by_plane"][n - 1]["HAADF"] == pytest.approx(direct, rel=0.15), n


def test_auto_decides_on_the_worst_plane(pot, series):
    big = GridScan.create((0.0, 0.0), (2 * A, 2 * A), gpts=(16, 16))
    tol = 0.5 * (series["by_plane"][-1]["HAADF"] + series["error"])  # between the exit surface and the worst
    surface = choose_method(SIM, big, pot, tolerance=tol, interpolation=2)
    assert surface == ("prism", (2, 2)) and surface.thickness == pytest.approx(N * pot.slice_thickness)
    whole = choose_method(SIM, big, pot, tolerance=tol, interpolation=2, exit_planes=1)
    assert whole == ("multislice", None) and whole.detector == "HAADF"
    assert whole.error == pytest.approx(series["error"], rel=0.15)  # the scan's own 4 positions
    assert whole.thickness < N * pot.slice_thickness and f"t = {whole.thickness:.4g} Å" in whole.reason
    assert whole.to_dict()["thickness"] == whole.thickness
    scanned = stem_scan(SIM, big, pot, interpolation=2, tolerance=tol, exit_planes=1, progress=False)["HAADF"]
    assert scanned.metadata["method"] == "multislice"
    assert scanned.metadata["method_choice"]["thickness"] == whole.thickness


def test_bad_exit_planes_are_named(pot):
    with pytest.raises(InputError, match="exit_planes must be slice counts in 1…12"):
        prism_error_estimate(SIM, pot, 2, exit_planes=[0, 13])
