import warnings

import numpy as np
import pytest

from jaxem.phase import calibration
from jaxem.phase.dataset import Dataset4D

from .forward import make_dataset


def test_bright_field_disk_from_mean_pattern(wpo_focus):
    ds, _ = wpo_focus
    disk = calibration.find_bright_field(calibration.mean_pattern(ds))
    r_true = ds.probe_cutoff / ds.detector_sampling[0]
    assert disk.radius == pytest.approx(r_true, abs=0.5)
    assert disk.center == pytest.approx(ds.center, abs=0.05)
    # calibrate an uncalibrated copy: centre and detector sampling from the known semi-angle
    raw = Dataset4D(ds.array, ds.scan_sampling, energy=ds.energy, semiangle=ds.semiangle)
    cal = calibration.calibrate_bright_field(raw)
    assert cal.detector_sampling[0] == pytest.approx(ds.detector_sampling[0], rel=0.03)
    raw2 = Dataset4D(ds.array, ds.scan_sampling, energy=ds.energy, detector_sampling=ds.detector_sampling)
    assert calibration.calibrate_bright_field(raw2).semiangle == pytest.approx(ds.semiangle, rel=0.03)
    with pytest.raises(ValueError, match="missing calibration"):
        calibration.calibrate_bright_field(Dataset4D(ds.array, ds.scan_sampling, energy=ds.energy))


def test_bright_field_not_found():
    with pytest.raises(ValueError, match="bright-field disk not found"):
        calibration.find_bright_field(np.ones((16, 16)))
    with pytest.raises(ValueError, match="bright-field disk not found"):
        calibration.find_bright_field(np.zeros((16, 16)))
    with pytest.raises(ValueError, match="pattern must have 2 dimensions"):
        calibration.find_bright_field(np.ones((2, 16, 16)))
    with pytest.raises(ValueError, match="pattern holds 1 NaN"):
        calibration.find_bright_field(np.where(np.eye(16) * np.arange(16) == 5, np.nan, 1.0))
    with pytest.raises(ValueError, match="threshold"):
        calibration.find_bright_field(np.ones((16, 16)), threshold=0)


def test_center_of_mass_lazy_equals_eager_and_descan(rng):
    import dask.array as da

    a = rng.random((6, 5, 9, 9))
    y, x = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
    # a plane descan: add a bright pixel that moves linearly with the scan
    a[np.arange(6)[:, None], np.arange(5)[None, :], 4 + (y // 3), 4 + (x // 3)] += 50
    ds = Dataset4D(a, 1.0, center=(4, 4))
    com = calibration.center_of_mass(ds)
    lazy = calibration.center_of_mass(ds.replace(array=da.from_array(a, chunks=(2, 5, 9, 9))))
    np.testing.assert_allclose(lazy, com, rtol=1e-5)
    ref = np.stack([(a * (np.arange(9) - 4)[:, None]).sum((2, 3)), (a * (np.arange(9) - 4)[None, :]).sum((2, 3))],
                   -1) / a.sum((2, 3))[..., None]
    np.testing.assert_allclose(com, ref, rtol=1e-5)
    plane = np.stack([0.3 * y - 0.2 * x + 1, 0.1 * x + 0.5], -1)
    corr, fit = calibration.fit_descan(com + plane, order=1)
    corr0, _ = calibration.fit_descan(com, order=1)
    np.testing.assert_allclose(corr, corr0, atol=1e-9)


@pytest.mark.parametrize("transpose", [False, True])
def test_rotation_from_com_curl(transpose):
    theta = np.deg2rad(-13.0)
    ds, _ = make_dataset(32, sigma=0.002, rotation=theta, transpose=transpose)
    com = calibration.center_of_mass(ds, ds.center)
    res = calibration.rotation_from_com(com, ds.detector_sampling)
    assert res.transpose == transpose
    assert np.rad2deg(abs(res.rotation - theta)) < 0.5
    assert res.curl_ratio < 0.35


def test_rotation_ambiguous_warns(rng):
    with pytest.warns(UserWarning, match="ambiguous"):
        calibration.rotation_from_com(rng.normal(size=(16, 16, 2)))
    with pytest.raises(ValueError, match="Sy ≥ 4"):
        calibration.rotation_from_com(np.zeros((3, 3, 2)))


def test_mean_pattern_and_descan_errors(wpo_focus):
    ds, _ = wpo_focus
    a = np.array(ds.array)
    a[1, 2, 5, 6] = np.nan
    m = calibration.mean_pattern(ds.replace(array=a))
    assert np.all(np.isfinite(m))
    assert m[5, 6] == pytest.approx(np.delete(a[:, :, 5, 6].ravel(), 1 * 48 + 2).mean())
    with pytest.raises(ValueError, match="order must be one of"):
        calibration.fit_descan(np.zeros((4, 4, 2)), order=2)
    with pytest.raises(ValueError, match="com holds"):
        calibration.rotation_from_com(np.full((8, 8, 2), np.nan))
