import dataclasses

import numpy as np
import pytest

from jaxem.ltr import events
from jaxem.ltr.denoise import denoise_events, denoise_stacks, lowrank, selective_sum
from jaxem.ltr.metrics import psnr
from jaxem.ltr.synthetic import SyntheticLTR, expected_frames, simulate_events

BASE = SyntheticLTR(scan_shape=(3, 3), n_frames=40, shift_amplitude=1.0)
# (counts scale, halo, flat): 2–100 electrons per frame, with and without diffuse background
CONDITIONS = [(0.1, 5, 2), (1.0, 5, 2), (4.0, 5, 2), (1.0, 0, 0), (1.0, 30, 10), (0.3, 30, 10)]


def _data(scale, halo, flat, seed=0):
    spec = dataclasses.replace(BASE, intensity=tuple(scale * np.asarray(BASE.intensity)), direct_beam=10 * scale,
                               halo=halo * scale, flat=flat * scale)
    X = events.densify(simulate_events(spec, seed=seed)).astype(np.float32)
    return X, expected_frames(spec, np.arange(9)).sum(1)


@pytest.mark.parametrize("cond", CONDITIONS)
def test_default_never_worse_than_plain_sum(cond):
    X, truth = _data(*cond)
    est, status = denoise_stacks(X)
    plain = X.sum(1)
    assert psnr(est, truth) >= psnr(plain, truth) - 1e-6, cond
    if cond[1] >= 5 and cond[0] >= 1:   # with a diffuse background it gains clearly
        assert psnr(est, truth) > psnr(plain, truth) + 0.5, cond
    assert np.all(np.isfinite(est)) and status.shape == (9,)


def test_safeguard_falls_back_on_non_smooth_background(rng):
    """A checkerboard 'background' is not smooth: the safeguard must return the plain sum."""
    T, n = 40, 16
    lam = np.where((np.indices((n, n)).sum(0) % 2) == 0, 0.2, 0.4)
    X = rng.poisson(lam, (2, T, n, n)).astype(np.float32)
    est, status = denoise_stacks(X)
    assert np.all(status == 1)
    np.testing.assert_array_equal(est, X.sum(1))


def test_spca_and_lowrank_run_and_keep_totals():
    X, truth = _data(1.0, 5, 2)
    est, _ = denoise_stacks(X, "spca")
    assert est.shape == truth.shape and np.all(np.isfinite(est))
    assert est.sum() == pytest.approx(X.sum(), rel=0.05)
    lr = lowrank(X.sum(1), rank=9)                       # full rank reproduces the input
    np.testing.assert_allclose(lr, X.sum(1), atol=1e-6)
    with pytest.raises(ValueError, match="rank"):
        lowrank(X.sum(1), rank=0)


def test_plain_method_is_the_sum_and_events_driver(rng):
    X, _ = _data(1.0, 5, 2)
    est, st = denoise_stacks(X, "plain")
    np.testing.assert_array_equal(est, X.sum(1))
    ev = simulate_events(BASE, seed=0)
    e1, s1 = denoise_events(ev, memory_budget=200_000)          # several chunks
    e2, s2 = denoise_stacks(events.densify(ev).astype(np.float32))
    np.testing.assert_allclose(e1.reshape(e2.shape), e2, rtol=1e-6)


def test_selective_sum():
    X = np.ones((2, 5, 3, 3))
    np.testing.assert_array_equal(selective_sum(X, [1, 3, 5, 7, 9], 6.0), np.full((2, 3, 3), 3.0))
    with pytest.raises(ValueError, match="below"):
        selective_sum(X, [1, 3, 5, 7, 9], 0.5)


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        denoise_stacks(np.zeros((1, 2, 3, 3)), "magic")
    with pytest.raises(ValueError, match="unknown parameters"):
        denoise_stacks(np.zeros((1, 2, 3, 3)), z_hrad=3)
    with pytest.raises(ValueError, match="non-negative"):
        denoise_stacks(-np.ones((1, 2, 3, 3)))
    est, st = denoise_stacks(np.zeros((1, 4, 8, 8)))     # frames with no events: zeros, no NaN
    assert np.all(est == 0)
