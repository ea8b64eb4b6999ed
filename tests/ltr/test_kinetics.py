import numpy as np
import pytest

from jaxem.ltr.dose import cumulative_dose
from jaxem.ltr.kinetics import (NOT_DETECTED, TOO_FEW_COUNTS, avrami_linearisation, emergence_dose, fit_jmak,
                                jmak_model)
from jaxem.ltr.synthetic import jmak

D = cumulative_dose(np.full(100, 1.0))
TRUE = {"K": 0.05, "n": 2.5, "D0": 20.0}


def test_jmak_recovery_within_10_percent():
    rng = np.random.default_rng(0)
    # region-summed growth series (e.g. 1000 positions × 5 counts/frame at saturation)
    y = rng.poisson(20 + 5000 * jmak(D, 0.05, 2.5, 20.0), (10, 100))
    f = fit_jmak(y, D)
    assert np.all(f.status == 0)
    for name, tv in TRUE.items():
        np.testing.assert_allclose(getattr(f, name), tv, rtol=0.10, err_msg=name)
    # at 500 counts/frame the estimator is still centred (median within 5 %)
    y = rng.poisson(20 + 500 * jmak(D, 0.05, 2.5, 20.0), (40, 100))
    f = fit_jmak(y, D)
    for name, tv in TRUE.items():
        assert np.median(getattr(f, name)) == pytest.approx(tv, rel=0.05), name
        # the Wald error is a fair description of the scatter
        assert 0.5 < np.std(getattr(f, name)) / np.median(getattr(f, name + "_se")) < 2.0, name


def test_jmak_model_matches_numpy():
    th = np.array([2.0, 10.0, np.log(0.05), 20.0, np.log(2.5)])
    np.testing.assert_allclose(jmak_model(th, D), 2 + 10 * jmak(D, 0.05, 2.5, 20.0), rtol=1e-5, atol=1e-5)


def test_avrami_line_has_slope_n():
    X = jmak(D, 0.05, 2.5, 20.0)
    lx, ly = avrami_linearisation(X, D, 20.0)
    assert np.polyfit(lx, ly, 1)[0] == pytest.approx(2.5, rel=1e-6)


def test_change_point_step_and_false_alarms():
    rng = np.random.default_rng(1)
    step = rng.poisson(np.where(D > 30, 4.0, 1.0), (200, 100))
    cp = emergence_dose(step, D)
    assert np.mean(cp.status == 0) > 0.99
    assert np.median(cp.emergence_dose) == pytest.approx(30.0, abs=1.0)
    assert np.median(cp.rate_after) == pytest.approx(4.0, rel=0.1)
    flat = rng.poisson(3.0, (1000, 100))
    cp = emergence_dose(flat, D, alpha=0.01)
    assert np.mean(cp.status == 0) <= 0.02                      # false detections ≤ α (+ noise)
    assert np.all(np.isnan(cp.emergence_dose[cp.status != 0]))
    # a decaying series is not an emergence; an empty one is flagged, not NaN-without-flag
    decay = rng.poisson(10 * np.exp(-D / 20), (5, 100))
    assert np.all(emergence_dose(decay, D).status & NOT_DETECTED)
    assert emergence_dose(np.zeros((1, 100)), D).status[0] & TOO_FEW_COUNTS


def test_emergence_of_jmak_growth_between_onset_and_half():
    rng = np.random.default_rng(2)
    y = rng.poisson(1.0 + 20 * jmak(D, 0.05, 2.5, 20.0), (100, 100))
    cp = emergence_dose(y, D)
    assert np.all(cp.status == 0)
    assert 20.0 < np.median(cp.emergence_dose) < 20.0 + 1 / 0.05


def test_bad_input():
    with pytest.raises(ValueError, match="frame axis"):
        fit_jmak(np.ones((2, 5)), D)
    with pytest.raises(ValueError, match="increasing"):
        emergence_dose(np.ones((2, 5)), [1, 2, 2, 3, 4])
    f = fit_jmak(np.zeros((2, 100)), D)
    assert np.all(f.status & TOO_FEW_COUNTS) and np.all(np.isnan(f.K))
