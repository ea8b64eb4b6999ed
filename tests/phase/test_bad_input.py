"""Issue 20, bad input: missing frames, detector calibration that does not match the data, NaN
frames, a wrong rotation guess — a clear error or reported handling, never a silently wrong image."""
import dataclasses

import numpy as np
import pytest

from jaxem import phase
from jaxem.phase import calibration, masking
from jaxem.phase import com_integration as dpc
from jaxem.phase.stack import bright_field_stack


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module")
def holes(wpo_defocus):
    ds, _ = wpo_defocus
    a = np.array(ds.array, np.float32)
    a[5, 3] = 0.0  # a dropped (blank) frame
    a[20, 40] = 0.0
    a[30, 7] = np.nan  # a NaN frame
    return ds.replace(array=np.asarray(ds.array, np.float32)), ds.replace(array=a)


@pytest.mark.parametrize("method", ["ssb", "parallax", "wdd", "icom"])
def test_missing_and_nan_frames_are_masked_and_reported(holes, method):
    clean, bad = holes
    ref = np.asarray(phase.reconstruct(clean, method).array)
    m = phase.reconstruct(bad, method)
    img = np.asarray(m.array)
    assert np.all(np.isfinite(img))
    rep = m.metadata["bad_data"]
    assert sorted(map(tuple, rep["missing_frames"])) == [(5, 3), (20, 40)]
    assert (30, 7) in map(tuple, rep["scan_positions"])
    # the holes cost little; without masking a blank frame is a spike in the image
    assert _corr(img, ref) > 0.97
    if method == "ssb":  # the same stack with the blank frames left blank
        st = bright_field_stack(clean)
        raw_st = dataclasses.replace(st, vbf=st.vbf.at[:, 5, 3].set(0.0).at[:, 20, 40].set(0.0))
        raw = np.asarray(phase.ssb(raw_st, clean.aberrations))
        assert 1 - _corr(raw, ref) > 10 * (1 - _corr(img, ref))


def test_dpc_reports_missing_frames(holes):
    _, bad = holes
    r = dpc.dpc(bad, rotation=0.0)
    assert sorted(r.bad.missing_frames) == [(5, 3), (20, 40)]
    assert np.all(np.isfinite(np.asarray(r.image)))


def test_mostly_empty_scan_is_an_error(wpo_defocus):
    ds, _ = wpo_defocus
    a = np.array(ds.array)
    a[: a.shape[0] * 2 // 3] = 0.0
    with pytest.raises(ValueError, match="frames are empty or missing"):
        bright_field_stack(ds.replace(array=a))
    with pytest.raises(ValueError, match="frames are empty or missing"):
        calibration.center_of_mass(ds.replace(array=a))


@pytest.mark.parametrize("field, factor", [("detector_sampling", 1.5), ("semiangle", 0.7)])
def test_calibration_that_does_not_match_the_detector_is_an_error(wpo_defocus, field, factor):
    ds, _ = wpo_defocus
    value = getattr(ds, field)
    wrong = ds.replace(**{field: tuple(v * factor for v in value) if isinstance(value, tuple) else value * factor})
    with pytest.raises(ValueError, match="detector_sampling/semiangle: the bright-field disk of the data"):
        bright_field_stack(wrong)
    with pytest.raises(ValueError, match="detector_sampling/semiangle"):
        phase.reconstruct(wrong, "ssb")


def test_fit_converges_from_a_wrong_rotation_guess(wpo_rotated):
    ds, _ = wpo_rotated  # true θ = −13°
    st = bright_field_stack(ds)
    fit = phase.fit_parallax(st, rotation=np.deg2rad(25.0))
    assert abs(np.rad2deg(fit.rotation - ds.rotation)) < 0.5
    assert fit.aberrations.C10 == pytest.approx(ds.aberrations.C10, rel=0.02)


def test_missing_frame_rule():
    t = np.ones((6, 6))
    t[1, 2] = 0.01
    np.testing.assert_array_equal(np.argwhere(masking.missing_frames(t)), [[1, 2]])
    assert masking.BadData().with_missing([(1, 2)]).to_dict()["missing_frames"] == [[1, 2]]
