import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jaxem.eds import composition as c

A = np.array([15.999, 65.38, 26.98])


@given(arrays(np.float64, (5, 3), elements=st.floats(0.0, 1.0, allow_subnormal=False)))
def test_wt_at_roundtrip_and_sum(w):
    x = np.asarray(c.weight_to_atomic(w, A))
    s = w.sum(-1)
    assert np.all(np.isfinite(x))
    assert np.allclose(x.sum(-1)[s > 0], 1.0)
    assert np.allclose(x[s == 0], 0.0)
    back = np.asarray(c.atomic_to_weight(x, A))
    ref = np.where(s[:, None] > 0, w / np.where(s > 0, s, 1)[:, None], 0)
    assert np.allclose(back, ref, atol=1e-12)


def test_zno_atomic_weight_fractions():
    assert np.asarray(c.atomic_to_weight(np.array([0.5, 0.5]), A[:2])) == pytest.approx([0.1966, 0.8034], abs=1e-4)


def test_poisson_uncertainty_matches_monte_carlo():
    rng = np.random.default_rng(0)
    lam = np.array([400.0, 1500.0, 900.0])
    f = np.array([1.0, 0.5, 2.0])
    I = rng.poisson(lam, size=(20000, 3)).astype(float)
    u = I * f
    C = u / u.sum(-1, keepdims=True)
    c_true = lam * f / (lam * f).sum()
    sig = np.asarray(c.fraction_uncertainty(np.broadcast_to(c_true, (1, 3)), lam[None]))[0]
    assert C.std(0) == pytest.approx(sig, rel=0.05)


def test_check_intensities_errors():
    with pytest.raises(ValueError, match="NaN"):
        c.check_intensities(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="lines"):
        c.check_intensities(np.ones((3, 2)), n_lines=3)
    with pytest.raises(TypeError):
        c.check_intensities(np.array(["a", "b"]))
    ic, status = c.clip_negative(np.array([[1.0, -2.0], [0.0, 0.0], [3.0, 4.0]]))
    assert list(np.asarray(status)) == [c.NEGATIVE, c.NO_SIGNAL, c.OK]
