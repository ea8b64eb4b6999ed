import numpy as np
import pytest

from jaxem.ltr import events
from jaxem.ltr.denoise import denoise_stacks
from jaxem.ltr.disk_shift import disk_shift_map
from jaxem.ltr.synthetic import SyntheticLTR, expected_frames, simulate_events

SPEC = SyntheticLTR(scan_shape=(4, 4), n_frames=30, detector_shape=(40, 40), radius=3.0,
                    centers=((20.0, 30.0), (30.0, 20.0)), intensity=(20.0, 20.0), critical_dose=(np.inf, np.inf),
                    floor=(0.0, 0.0), growth=(None, None), shift_amplitude=1.2, halo=20.0, flat=5.0)


@pytest.fixture(scope="module")
def truth():
    return expected_frames(SPEC, np.arange(16)).sum(1).reshape(4, 4, 40, 40)


@pytest.mark.parametrize("method,tol", [("com", 0.05), ("xcorr", 0.05)])
def test_noise_free_shift_matches_field(truth, method, tol):
    out = disk_shift_map(truth, SPEC.centers[0], SPEC.radius, method=method)
    ref = SPEC.shift(np.arange(16)).reshape(4, 4, 2)
    np.testing.assert_allclose(out["shift"], ref, atol=tol)
    # radial component along g = (0, +10): the x shift
    np.testing.assert_allclose(out["radial"], ref[..., 1], atol=tol)
    assert out["valid"].all()


def test_denoised_shift_is_more_precise(truth):
    ref = SPEC.shift(np.arange(16)).reshape(4, 4, 2)
    err_raw, err_den = [], []
    for seed in range(3):
        X = events.densify(simulate_events(SPEC, seed=seed)).astype(np.float32)
        den, _ = denoise_stacks(X)
        for est, errs in ((X.sum(1), err_raw), (den, err_den)):
            out = disk_shift_map(est.reshape(4, 4, 40, 40), SPEC.centers[0], SPEC.radius)
            errs.append(out["shift"] - ref)
    rms_raw, rms_den = np.sqrt(np.mean(np.square(err_raw))), np.sqrt(np.mean(np.square(err_den)))
    assert rms_den <= rms_raw


def test_bad_input_and_empty_crop():
    z = np.zeros((2, 2, 20, 20))
    out = disk_shift_map(z, (10, 12), 2.0)
    assert not out["valid"].any() and np.all(out["shift"] == 0)
    with pytest.raises(ValueError, match="inside the detector"):
        disk_shift_map(z, (1, 1), 2.0)
    with pytest.raises(ValueError, match="method"):
        disk_shift_map(z, (10, 12), 2.0, method="fit")
    with pytest.raises(ValueError, match="data must have 4 dimensions"):
        disk_shift_map(z[0], (10, 12), 2.0)
