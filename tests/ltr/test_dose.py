import math

import numpy as np
import pytest

from jaxem.ltr.dose import ELEMENTARY_CHARGE, DoseSchedule, cumulative_dose


def test_dose_numbers_by_hand():
    # 10 pA for 1 ms: N = 1e-14 C / e = 62 415 electrons
    s = DoseSchedule(current_pA=10.0, frame_time_s=1e-3, scan_step=5.0, probe_diameter=2.0)
    n = 10e-12 * 1e-3 / ELEMENTARY_CHARGE
    assert s.electrons_per_frame == pytest.approx(n)
    assert s.areal_dose_per_frame == pytest.approx(n / 25.0)
    assert s.probe_dose_per_frame == pytest.approx(n / (math.pi * 1.0))
    assert s.frame_dose == s.areal_dose_per_frame
    assert DoseSchedule(10.0, 1e-3, 5.0, 2.0, area="probe").frame_dose == pytest.approx(n / math.pi)
    # 1 C/cm^2 = 624.15 e-/A^2 (reference notes 2.4)
    assert 1.0 / ELEMENTARY_CHARGE / 1e16 == pytest.approx(624.15, rel=1e-4)


def test_cumulative_dose_frame_centres():
    np.testing.assert_allclose(cumulative_dose([2.0, 2.0, 2.0]), [1.0, 3.0, 5.0])
    np.testing.assert_allclose(cumulative_dose([1.0, 3.0]), [0.5, 2.5])


def test_from_frame_dose_and_metadata_roundtrip():
    s = DoseSchedule.from_frame_dose(2.0, scan_step=3.0, probe_diameter=1.5)
    assert s.frame_dose == pytest.approx(2.0)
    md = s.metadata(50)
    assert md["total_dose"] == pytest.approx(100.0)
    assert DoseSchedule.from_metadata(md) == s


@pytest.mark.parametrize("kw", [dict(current_pA=-1.0), dict(frame_time_s=0.0), dict(scan_step=float("nan"))])
def test_bad_dose_inputs(kw):
    args = dict(current_pA=1.0, frame_time_s=1e-3, scan_step=1.0, probe_diameter=1.0)
    args.update(kw)
    with pytest.raises(ValueError, match=list(kw)[0]):
        DoseSchedule(**args)


def test_missing_metadata_keys():
    with pytest.raises(ValueError, match="missing"):
        DoseSchedule.from_metadata({"current_pA": 1.0})
    with pytest.raises(ValueError, match="frame_doses"):
        cumulative_dose([1.0, -1.0])
