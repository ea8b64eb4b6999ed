import numpy as np
import pytest

from jaxem.ltr import events
from jaxem.ltr.synthetic import SyntheticLTR, decay_series, expected_frames, jmak, simulate_events


def test_events_follow_expected_counts():
    """Pearson χ² of the summed events against the expected pattern is ≈ 1 per pixel."""
    spec = SyntheticLTR(scan_shape=(3, 3), n_frames=200, shift_amplitude=1.5,
                        growth=(None, (0.05, 2.0, 10.0), None, None))
    ev = simulate_events(spec, seed=4)
    ex = expected_frames(spec, np.arange(9))
    d = events.densify(ev)
    e, o = ex.sum((0, 1)), d.sum((0, 1))
    chi2 = ((o - e) ** 2 / np.maximum(e, 1e-12))[e > 0.5].mean()
    assert 0.8 < chi2 < 1.25
    # per-frame totals follow the time dependence (decay + growth)
    np.testing.assert_allclose(d.sum((0, 2, 3)).reshape(20, 10).sum(1), ex.sum((0, 2, 3)).reshape(20, 10).sum(1),
                               rtol=0.05)


def test_templates_are_probabilities():
    spec = SyntheticLTR()
    t = spec.templates(0)
    np.testing.assert_allclose(t[:len(spec.centers) + 1].sum((1, 2)), 1.0, atol=2e-3)  # disks inside
    assert t.min() >= 0


def test_jmak_and_decay_series():
    np.testing.assert_allclose(jmak([5.0, 15.0], 0.1, 2.0, 5.0), [0.0, 1 - np.exp(-1.0)])
    c, lam = decay_series(4000, [0.0, 20.0], 10.0, 20.0, 0.2)
    np.testing.assert_allclose(lam, [12.0, 2 + 10 / np.e])
    np.testing.assert_allclose(c.mean(0), lam, rtol=0.05)


def test_bad_spec():
    with pytest.raises(ValueError, match="intensity"):
        SyntheticLTR(intensity=(1.0,))
