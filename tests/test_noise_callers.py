"""The synthetic-data generators draw their counts with ``jaxem.noise`` (one Poisson sampler): a NaN,
negative or too-large expected count is an InputError naming what it came from, and the draws at
ordinary doses are the library sampler's (so seeded results are statistically unchanged)."""
from __future__ import annotations

import numpy as np
import pytest

from jaxem import eels, validate
from jaxem.ltr import critical_dose as cd
from jaxem.ltr import events
from jaxem.ltr.dose import cumulative_dose
from jaxem.ltr.synthetic import SyntheticLTR, decay_series, expected_frames, simulate_events

D = cumulative_dose(np.full(12, 4.0))


# ---- ltr.synthetic.decay_series ------------------------------------------------------------------
def test_decay_series_counts_are_poisson_integers_of_lambda():
    c, lam = decay_series(3000, D, 6.0, 15.0, 0.1, seed=5)
    assert c.dtype == np.int64 and c.shape == (3000, D.size)
    # independent reference: the same λ through NumPy's sampler with the same seed (below 10⁷ counts
    # jaxem.noise uses it draw for draw)
    np.testing.assert_array_equal(c, np.random.default_rng(5).poisson(np.broadcast_to(lam, c.shape)))
    np.testing.assert_allclose(c.mean(0), lam, rtol=0.06)
    np.testing.assert_allclose(c.var(0), lam, rtol=0.15)


def test_decay_series_too_many_counts_names_i0():
    with pytest.raises(validate.InputError, match="i0.*int64"):
        decay_series(2, D, 1e19, 15.0, 0.1)


# ---- ltr.synthetic: event sampling ----------------------------------------------------------------
SPEC = dict(scan_shape=(1, 2), n_frames=40, detector_shape=(16, 16), centers=((8.0, 12.0),), intensity=(20.0,),
            critical_dose=(30.0,), floor=(0.0,), growth=(None,), halo=2.0, flat=1.0, direct_beam=10.0)


def test_events_keep_their_statistics():
    spec = SyntheticLTR(**SPEC)
    d = events.densify(simulate_events(spec, seed=2)).astype(np.float64)
    ex = expected_frames(spec, np.arange(2))
    # total counts per frame: Poisson with the expected total (z-score over 80 frames)
    o, e = d.sum((2, 3)).ravel(), ex.sum((2, 3)).ravel()
    z = (o - e) / np.sqrt(e)
    assert abs(z.mean()) < 4 / np.sqrt(z.size) and 0.6 < z.var() < 1.5


@pytest.mark.parametrize("bad, what", [(np.nan, "NaN"), (-1.0, "≥ 0")])
def test_event_sampler_rejects_bad_expected_counts(monkeypatch, bad, what):
    spec = SyntheticLTR(**SPEC)
    good = SyntheticLTR.weights

    def broken(self, positions):        # a model whose expected counts went wrong upstream
        w = good(self, positions)
        w[..., 0, 0] = bad
        return w

    monkeypatch.setattr(SyntheticLTR, "weights", broken)
    with pytest.raises(validate.InputError, match=f"SyntheticLTR.weights.*{what}"):
        simulate_events(spec, seed=0)


# ---- ltr.critical_dose: parametric bootstrap -------------------------------------------------------
@pytest.mark.parametrize("bad, what", [(np.nan, "NaN"), (-1e3, "≥ 0")])
def test_bootstrap_rejects_bad_fitted_model(monkeypatch, bad, what):
    y = decay_series(2, D, 30.0, 15.0, 0.1, seed=1)[0]
    run = cd._run_batches

    def broken(*a, **k):                # the fitted background B of one series went wrong
        out = list(run(*a, **k))
        out[5] = np.array(out[5], np.float64)
        out[5][0] = bad
        return tuple(out)

    monkeypatch.setattr(cd, "_run_batches", broken)
    with pytest.raises(validate.InputError, match=f"bootstrap expected counts.*{what}"):
        cd.fit_decay(y, D, bias_correction=2, n_grid=16, precision="float64")


# ---- eels.synthetic_map ---------------------------------------------------------------------------
Q = np.linspace(0.0, 0.6, 4)
E = np.linspace(0.5, 30.0, 60)


def test_eels_map_counts_are_poisson_of_the_expectation():
    loss = np.exp(-0.5 * ((E - 15.0) / 3.0) ** 2)[None, :] * np.ones((Q.size, 1))
    m = eels.synthetic_map(Q, E, loss, counts_per_peak=2e4, seed=None)
    lam = np.asarray(m.array)
    n = np.asarray(eels.synthetic_map(Q, E, loss, counts_per_peak=2e4, seed=7).array)
    np.testing.assert_array_equal(n, np.random.default_rng(7).poisson(lam).astype(float))
    assert np.all(n == np.round(n))
    z = (n - lam)[lam > 50] / np.sqrt(lam[lam > 50])
    assert abs(z.mean()) < 4 / np.sqrt(z.size) and 0.6 < z.var() < 1.5


def test_eels_map_negative_loss_is_an_error_naming_loss():
    loss = np.exp(-0.5 * ((E - 15.0) / 3.0) ** 2)[None, :] * np.ones((Q.size, 1))
    loss[1, 5] = -0.2
    with pytest.raises(validate.InputError, match="expected counts \\(loss.*≥ 0"):
        eels.synthetic_map(Q, E, loss, seed=0)


def test_eels_map_without_scattering_is_an_error_not_nan():
    with pytest.raises(validate.InputError, match="loss has no positive"):
        eels.synthetic_map(Q, E, np.zeros((Q.size, E.size)), seed=None)
