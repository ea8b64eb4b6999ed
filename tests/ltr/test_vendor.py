import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from jaxem.ltr import densify, reduce
from jaxem.ltr.dose import DoseSchedule
from jaxem.ltr.vendor import events_from_frames, read_counted

# the real instrument files (CI: ../shared/data/vendor beside the repository; JAXEM_VENDOR_DATA overrides)
VENDOR = Path(os.environ.get("JAXEM_VENDOR_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "vendor"))
DOSE = DoseSchedule.from_frame_dose(1.0)


@pytest.fixture(scope="module")
def mib(tmp_path_factory):
    z = VENDOR / "quantumdetector" / "Merlin_navigation4x2_ROI.zip"
    if not z.exists():
        pytest.skip("vendor data folder absent")
    pytest.importorskip("rsciio")
    out = tmp_path_factory.mktemp("mib")
    with zipfile.ZipFile(z) as f:
        f.extractall(out)
    return out / "001_4x2_6bit.mib"


def test_merlin_mib_counts_become_events(mib):
    from rsciio import quantumdetector

    raw = np.asarray(quantumdetector.file_reader(str(mib))[0]["data"])      # (2, 4, 256, 256) counts
    ev = read_counted(mib, DOSE)
    assert ev.scan_shape == (2, 4) and ev.detector_shape == (256, 256) and ev.n_frames == 1
    assert ev.n_events == int(raw.sum())
    np.testing.assert_array_equal(densify(ev)[:, 0].reshape(raw.shape), raw)
    np.testing.assert_allclose(reduce.sum_pattern(ev).numpy(), raw.sum((0, 1)))
    # the 8 frames read as one position with an 8-frame LTR stack, or 4 positions × 2 frames
    ev2 = read_counted(mib, DOSE, frames_per_position=2, scan_shape=(2, 2))
    assert ev2.n_frames == 2 and ev2.n_events == ev.n_events


def test_events_from_frames_counting_and_errors(rng):
    frames = rng.normal(0, 0.5, (6, 8, 8))
    frames[2, 3, 3] += 20
    ev = events_from_frames(frames, DOSE, frames_per_position=3, threshold=5.0)
    assert ev.scan_shape == (1, 2) and ev.n_events == 1
    with pytest.raises(ValueError, match="threshold"):
        events_from_frames(frames, DOSE)
    with pytest.raises(ValueError, match="divide"):
        events_from_frames(np.zeros((5, 4, 4), int), DOSE, frames_per_position=2)
    with pytest.raises(ValueError, match="dose metadata"):
        events_from_frames(np.zeros((2, 4, 4), int), None)
    with pytest.raises(ValueError, match="reader"):
        read_counted(Path(__file__), DOSE)
    with pytest.raises(ValueError, match=r"scan_shape \(2, 2\) holds 4 positions"):
        events_from_frames(np.zeros((6, 4, 4), int), DOSE, frames_per_position=2, scan_shape=(2, 2))
    with pytest.raises(ValueError, match="frames_per_position must be ≥ 1"):
        events_from_frames(np.zeros((6, 4, 4), int), DOSE, frames_per_position=0)
    bad = np.zeros((4, 4, 4))
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"frames holds 1 NaN/inf value\(s\) \(first at index \(1, 2, 3\)\)"):
        events_from_frames(bad, DOSE, threshold=1.0)
