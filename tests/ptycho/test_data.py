"""Data preparation: orientation, centring/cropping, bad values (house NaN policy), geometry, errors."""
import numpy as np
import pytest

from jaxem import phase, ptycho

from .conftest import SAMPLING, dataset


@pytest.fixture(scope="module")
def plain():
    return dataset(n=15, step=3)[0]


def test_geometry_and_normalisation(plain):
    data = ptycho.prepare(plain, object_extent=(15 * SAMPLING,) * 2)
    g = data.geometry
    assert g.detector == (15, 15) and g.window[0] >= 1.5 * 15 and g.periodic
    # same reciprocal pixel as the detector: s = 1/(N_w dk)
    assert g.sampling[0] == pytest.approx(15 * SAMPLING / g.window[0])
    a = np.asarray(data.amplitudes, np.float64)
    assert np.mean(np.sum(a ** 2 / np.asarray(data.detector_mask).clip(1e-30)[None] ** 0, axis=(1, 2))) <= 1.0 + 1e-6
    # non-periodic object: the scanned field plus one window
    d2 = ptycho.prepare(plain)
    span = 4 * 3 * SAMPLING
    assert d2.geometry.object_shape[0] * d2.geometry.sampling[0] >= span + g.window[0] * g.sampling[0]
    assert not d2.geometry.periodic


@pytest.mark.parametrize("rotation, transpose, how, tol", [(np.pi / 2, False, "exact", 1e-12),
                                                          (0.0, True, "exact", 1e-12),
                                                          (0.3, False, "spline", 0.15)])
def test_orientation_is_undone(plain, rotation, transpose, how, tol):
    rot, _ = dataset(n=15, step=3, rotation=rotation, transpose=transpose)
    back, found = ptycho.scan_frame_patterns(np.asarray(rot.array), rot.center, rotation, transpose)
    assert found == how
    ref = np.asarray(plain.array)
    inner = np.zeros(ref.shape[-2:], bool)
    inner[3:-3, 3:-3] = True  # away from the corners that a rotation moves off the detector
    # relative RMS difference (a spline resampled twice across the hard aperture edge is not exact)
    err = np.sqrt(np.mean((back[..., inner] - ref[..., inner]) ** 2) / np.mean(ref[..., inner] ** 2))
    assert err < tol, err
    if how == "spline":  # the opposite rotation is three times worse (0.32): the sign is tested
        wrong, _ = ptycho.scan_frame_patterns(np.asarray(rot.array), rot.center, -rotation, transpose)
        bad = np.sqrt(np.mean((wrong[..., inner] - ref[..., inner]) ** 2) / np.mean(ref[..., inner] ** 2))
        assert bad > 2 * err


def test_bad_values_are_masked_and_reported(plain):
    arr = np.array(plain.array)
    arr[..., 2, 5] = np.nan          # a dead pixel in every frame
    arr[1, 2, 7, 7] = np.inf         # one bad frame
    arr[0, 0, 7, 8] = -0.01          # detector noise below zero
    data = ptycho.prepare(plain.replace(array=arr))
    rep = data.report
    assert rep["bad_values"]["dead_pixels"] == [[2, 5]]
    assert rep["bad_values"]["dropped_frames"] == [1 * 5 + 2]
    assert rep["negative_values_clipped"] == 1
    assert float(data.weights[7]) == 0.0 and float(data.detector_mask[2, 5]) == 0.0
    assert np.all(np.isfinite(np.asarray(data.amplitudes)))


def test_fractional_centre_and_crop(plain):
    arr = np.asarray(plain.array)[..., 1:, :]      # centre moves to row 6 of 14 rows
    data = ptycho.prepare(plain.replace(array=arr, center=(6.0, 7.0)))
    assert data.geometry.detector == (13, 13) and data.report["detector_crop"]["to"] == [13, 13]
    data = ptycho.prepare(plain.replace(center=(7.3, 7.0)))
    assert data.report["centre_shift_px"] == pytest.approx([-0.3, 0.0])


def test_errors(plain):
    with pytest.raises(TypeError, match="dataset must be"):
        ptycho.prepare(np.zeros((2, 2, 8, 8)))
    with pytest.raises(ValueError, match="semiangle"):
        ptycho.prepare(phase.Dataset4D(np.asarray(plain.array), plain.scan_sampling, plain.beam,
                                       detector_sampling=plain.detector_sampling, center=plain.center))
    with pytest.raises(ValueError, match="oversampling"):
        ptycho.prepare(plain, oversampling=0.5)
    with pytest.raises(ValueError, match="positions must have shape"):
        ptycho.prepare(plain, positions=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="object_extent"):
        ptycho.prepare(plain, object_extent=(3.333, 3.333))
    arr = np.full(np.shape(plain.array), np.nan)
    arr[..., 0, 0] = 1.0
    with pytest.raises(ValueError, match="non-finite"):
        ptycho.prepare(plain.replace(array=arr))
    with pytest.raises(ValueError, match="center"):
        ptycho.prepare(plain.replace(center=(1.0, 7.0)))
