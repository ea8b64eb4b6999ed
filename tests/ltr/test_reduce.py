import numpy as np
import pytest

from jaxem.ltr import events, hdf5, reduce
from jaxem.ltr.synthetic import SyntheticLTR, simulate_events

SPEC = SyntheticLTR(scan_shape=(4, 5), n_frames=10, shift_amplitude=1.0)


@pytest.fixture(scope="module")
def data():
    ev = simulate_events(SPEC, seed=1)
    return ev, events.densify(ev)


def test_sums_match_dense(data):
    ev, d = data
    np.testing.assert_allclose(reduce.sum_pattern(ev).numpy(), d.sum((0, 1)))
    w = (np.arange(10) < 4).astype(float)
    s4 = reduce.sum_frames(ev, frame_weights=w, memory_budget=4000)   # several chunks
    np.testing.assert_allclose(s4.numpy().reshape(20, 32, 32), d[:, :4].sum(1))
    assert s4.metadata["dose"]["frame_dose"] == pytest.approx(2.0)


def test_label_series_and_virtual_image(data):
    ev, d = data
    lab = reduce.disk_labels(ev.detector_shape, SPEC.centers, 2.5)
    ls = reduce.label_series(ev, lab, memory_budget=5000)
    ref = np.stack([(d * (lab == k)).sum((-1, -2)) for k in range(1, 5)], -1).reshape(4, 5, 10, 4)
    np.testing.assert_allclose(ls.numpy(), ref)
    assert len(ls.metadata["cumulative_dose"]) == 10
    vi = reduce.virtual_image(ev, lab == 1)
    np.testing.assert_allclose(vi.numpy(), ref[..., 0].sum(-1))
    with pytest.raises(ValueError, match="labels"):
        reduce.label_series(ev, np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="no detector"):
        reduce.label_series(ev, np.zeros(ev.detector_shape, int))


def test_window_series_with_region(data, tmp_path):
    ev, d = data
    region = np.zeros(SPEC.scan_shape, bool)
    region[1:3, 2:] = True
    ws = reduce.window_series(ev, SPEC.centers[0], 3, position_mask=region, memory_budget=3000)
    ref = d[region.ravel()][:, :, 13:20, 21:28].sum(0)
    np.testing.assert_allclose(ws.numpy(), ref)
    with pytest.raises(ValueError, match="inside detector"):
        reduce.window_series(ev, (0, 0), 3)
    # the same reductions stream from a file
    path = hdf5.write_events(ev, tmp_path / "e.h5")
    with hdf5.EventFile(path) as f:
        np.testing.assert_allclose(reduce.sum_pattern(f, memory_budget=2000).numpy(), d.sum((0, 1)))


from hypothesis import given, strategies as st  # noqa: E402

from jaxem.ltr.dose import DoseSchedule  # noqa: E402


@given(st.integers(0, 10_000), st.integers(200, 20_000))
def test_reductions_equal_dense_for_any_chunking(seed, budget):
    c = np.random.default_rng(seed).poisson(0.4, (2, 3, 4, 5, 6))
    ev = events.from_dense_counts(c, DoseSchedule.from_frame_dose(1.0))
    assert reduce.sum_pattern(ev, memory_budget=budget).numpy().sum() == ev.n_events
    np.testing.assert_allclose(reduce.sum_frames(ev, memory_budget=budget).numpy(), c.sum(2))
    lab = np.zeros((5, 6), int)
    lab[1:3, 2:5] = 1
    lab[4, :] = 2
    ls = reduce.label_series(ev, lab, memory_budget=budget).numpy()
    np.testing.assert_allclose(ls[..., 0], (c * (lab == 1)).sum((-1, -2)))
    np.testing.assert_allclose(ls[..., 1], (c * (lab == 2)).sum((-1, -2)))
