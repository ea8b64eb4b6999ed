import numpy as np
import pytest

from jaxem.phase.wdd import wdd as run_wdd

from .forward import support


def test_wdd_recovers_band_limited_phase(wpo_defocus):
    ds, phi = wpo_defocus
    m = support(ds.scan_shape, ds.scan_sampling, ds.probe_cutoff, lo=0.0, hi=2.0)
    F = np.fft.fft2(phi)
    ref = np.real(np.fft.ifft2(np.where(m, F, 0)))
    p = np.asarray(run_wdd(ds, epsilon=1e-3))
    assert np.corrcoef(p.ravel(), ref.ravel())[0, 1] > 0.9
    # WDD deconvolves the probe: at low and mid frequencies the transfer is ≥ 0.7 (SSB: ≤ 0.5) and
    # positive everywhere in the support
    t = np.fft.fft2(p)[m] / F[m]
    assert np.mean(t.real > 0) > 0.99
    low = support(ds.scan_shape, ds.scan_sampling, ds.probe_cutoff, lo=0.05, hi=1.0)
    assert np.median((np.fft.fft2(p)[low] / F[low]).real) > 0.7
    obj = np.asarray(run_wdd(ds, epsilon=1e-3, return_complex=True))
    assert np.abs(obj).mean() == pytest.approx(1.0, abs=0.05)


def test_wdd_regulariser_validated(wpo_defocus):
    ds, _ = wpo_defocus
    with pytest.raises(ValueError, match="epsilon"):
        run_wdd(ds, epsilon=0.0)
