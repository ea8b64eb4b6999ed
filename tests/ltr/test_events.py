import numpy as np
import pytest
from hypothesis import given, strategies as st

from jaxem.ltr import events
from jaxem.ltr.dose import DoseSchedule

DOSE = DoseSchedule.from_frame_dose(2.0)


def random_counts(rng, shape=(2, 3, 4, 5, 6), lam=0.3):
    return rng.poisson(lam, shape)


def test_dense_roundtrip(rng):
    c = random_counts(rng)
    ev = events.from_dense_counts(c, DOSE)
    np.testing.assert_array_equal(events.densify(ev).reshape(c.shape), c)
    np.testing.assert_array_equal(ev.counts, c.sum((-1, -2)))
    assert ev.metadata()["dose"]["frame_dose"] == pytest.approx(2.0)


@given(st.integers(1, 6), st.integers(0, 10_000))
def test_bin_frames_equals_dense_binning(factor, seed):
    c = np.random.default_rng(seed).poisson(0.5, (2, 2, 6, 3, 4))
    ev = events.from_dense_counts(c, DOSE)
    b = events.bin_frames(ev, factor)
    nt = 6 // factor
    ref = c[:, :, :nt * factor].reshape(2, 2, nt, factor, 3, 4).sum(3)
    np.testing.assert_array_equal(events.densify(b).reshape(ref.shape), ref)
    np.testing.assert_allclose(b.frame_dose, 2.0 * factor)
    assert b.dose.frame_dose == pytest.approx(2.0 * factor)


def test_from_frame_lists_and_empty_frames():
    frames = [[[[0, 1, 1], []], [[5], [2, 3]]]]  # scan (1, 2), 2 frames, second frame of pos 0 empty
    ev = events.from_frame_lists(frames, (2, 3), DOSE)
    assert ev.counts.tolist() == [[[3, 0], [1, 2]]]
    d = events.densify(ev)
    assert d[0, 1].sum() == 0 and d[0, 0, 0, 1] == 2


def test_electron_counting_finds_blobs(rng):
    ny = nx = 16
    frames = rng.normal(0, 1.0, (1, 2, 3, ny, nx)).astype(np.float32)
    truth = np.zeros((1, 2, 3, ny, nx), int)
    for f in np.ndindex(1, 2, 3):
        ys = rng.choice(np.arange(2, 14, 3), 3, replace=False)
        xs = rng.choice(np.arange(2, 14, 3), 3, replace=False)
        for y, x in zip(ys, xs):
            frames[f][y, x] += 40
            frames[f][y, x + 1] += 15   # charge shared with a neighbour counts once
            truth[f][y, x] += 1
    ev = events.count_electrons(frames, threshold=8.0, dose=DOSE)
    np.testing.assert_array_equal(events.densify(ev).reshape(truth.shape), truth)
    # an exact tie between two pixels counts once (the first in C order)
    tie = np.zeros((1, 1, 1, 4, 4), np.float32)
    tie[..., 1, 1] = tie[..., 2, 1] = 10.0
    d = events.densify(events.count_electrons(tie, threshold=5.0, dose=DOSE))
    assert d.sum() == 1 and d[0, 0, 1, 1] == 1


def test_validation_errors():
    with pytest.raises(ValueError, match="dose metadata is missing"):
        events.make_events([0], [0, 1], (1, 1), 1, (2, 2), None)
    with pytest.raises(ValueError, match="non-decreasing"):
        events.make_events([0, 1, 2], [0, 2, 1, 3], (1, 3), 1, (2, 2), DOSE)
    with pytest.raises(ValueError, match="entries"):
        events.make_events([0, 1], [0, 2], (1, 2), 1, (2, 2), DOSE)
    with pytest.raises(ValueError, match=r"offsets\[-1\]"):
        events.make_events([0, 1], [0, 1], (1, 1), 1, (2, 2), DOSE)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        events.make_events([0, 7], [0, 2], (1, 1), 1, (2, 2), DOSE)
    with pytest.raises(TypeError, match="integers"):
        events.make_events([0.5], [0, 1], (1, 1), 1, (2, 2), DOSE)
    with pytest.raises(ValueError, match="frame_dose"):
        events.make_events([0], [0, 1], (1, 1), 1, (2, 2), DOSE, frame_dose=[-1.0])
    with pytest.raises(ValueError, match="threshold"):
        events.count_electrons(np.zeros((1, 1, 1, 2, 2)), -1.0, dose=DOSE)


def test_select_positions(rng):
    c = random_counts(rng)
    ev = events.from_dense_counts(c, DOSE)
    sub = ev.select_positions(2, 5)
    np.testing.assert_array_equal(events.densify(sub), c.reshape(6, 4, 5, 6)[2:5])
