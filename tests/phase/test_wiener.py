"""Wiener (CTF-corrected) parallax and tcBF: restoration, the phase-flip limit, the noise estimates."""
import dataclasses

import numpy as np
import pytest

from jaxem import phase
from jaxem.phase import direct, wiener
from jaxem.phase.stack import bright_field_stack

from .forward import make_dataset


def _bandlimited(phi, sampling, qmax):
    q = [np.fft.fftfreq(n, d) for n, d in zip(phi.shape, sampling)]
    f = np.fft.fft2(phi)
    f[np.hypot(q[0][:, None], q[1][None, :]) > qmax] = 0
    return np.real(np.fft.ifft2(f))


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def test_wiener_parallax_restores_the_band_beyond_the_phase_flip(wpo_defocus):
    ds, phi = wpo_defocus
    st = bright_field_stack(ds)
    truth = _bandlimited(phi, ds.scan_sampling, 2 * st.cutoff)
    img = wiener.wiener_parallax(st, ds.aberrations)
    flip = np.asarray(direct.parallax(st, ds.aberrations, flip=True))
    c_w, c_f = _corr(img, truth), _corr(flip, truth)
    assert c_w > 0.97 and c_w > c_f + 0.2, (c_w, c_f)
    # the wrong defocus sign cannot pass
    assert _corr(wiener.wiener_parallax(st, ds.aberrations.replace(C10=-150.0)), truth) < 0.5


def test_low_snr_limit_is_the_phase_flip(wpo_defocus):
    ds, _ = wpo_defocus
    st = bright_field_stack(ds)
    _, (w, t, n) = wiener.wiener_parallax(st, ds.aberrations, noise=1e6, return_filter=True)
    flip = np.asarray(direct.flip_mask(ds.aberrations, t.shape, st.scan_sampling, 1, st.wavelength))
    ok = np.abs(t) > 1e-3 * np.abs(t).max()
    assert ok.sum() > 100
    np.testing.assert_array_equal(np.sign(w.real[ok]), flip[ok])
    assert np.abs(w.imag[ok]).max() <= 1e-6 * np.abs(w.real[ok]).max()


def test_noise_power_from_dose_matches_the_out_of_band_estimate():
    ds, _ = make_dataset(48, sigma=0.002, aberrations=phase.geometry.Aberrations(C10=150.0), dose=2e4, seed=4)
    st = bright_field_stack(ds)
    _, (_, _, n_dose) = wiener.wiener_parallax(st, ds.aberrations, dose="counts", model_error=0,
                                              return_filter=True)
    _, (_, _, n_data) = wiener.wiener_parallax(st, ds.aberrations, model_error=0, return_filter=True)
    assert n_data == pytest.approx(n_dose, rel=0.15)
    assert st.i0 == pytest.approx(2e4, rel=0.01)


def test_wiener_errors_name_the_argument(wpo_defocus):
    st = bright_field_stack(wpo_defocus[0])
    coarse = dataclasses.replace(st, scan_sampling=(0.6, 0.6))  # Nyquist 0.83 1/Å < 2·k_probe
    with pytest.raises(ValueError, match="dose"):
        wiener.wiener_parallax(coarse, wpo_defocus[0].aberrations)
    with pytest.raises(ValueError, match="dose"):
        wiener.wiener_parallax(st, wpo_defocus[0].aberrations, dose=-1.0)
    with pytest.raises(ValueError, match="model_error"):
        wiener.wiener_parallax(st, wpo_defocus[0].aberrations, model_error=-1.0)
    with pytest.raises(TypeError, match="stack"):
        wiener.wiener_parallax(wpo_defocus[0])


def test_channel_wiener_restores_the_zeros_of_the_parallax_transfer(wpo_defocus):
    """Issue 20 acceptance (small case): ≥ 0.99 with the band-limited phase, where the summed parallax
    image cannot (its transfer has zeros); the fitted-aberration tcBF reaches the same."""
    ds, phi = wpo_defocus
    st = bright_field_stack(ds)
    truth = _bandlimited(phi, ds.scan_sampling, 2 * st.cutoff)
    img, info = wiener.wiener_direct(st, ds.aberrations, return_info=True)
    assert _corr(img, truth) >= 0.99
    assert _corr(img, truth) > _corr(wiener.wiener_parallax(st, ds.aberrations), truth) + 0.005
    # noisy data: the noise-aware filter is better than the plain least-squares inverse
    noisy, _ = make_dataset(48, sigma=0.002, aberrations=ds.aberrations, dose=5e4, seed=1)
    sn = bright_field_stack(noisy)
    c_w = _corr(wiener.wiener_direct(sn, ds.aberrations, dose="counts"), truth)
    c_ls = _corr(wiener.wiener_direct(sn, ds.aberrations, noise=0.0, model_error=0.0), truth)
    assert c_w > c_ls + 0.05, (c_w, c_ls)
    img_t, fit = wiener.tcbf(st)
    assert fit.aberrations.C10 == pytest.approx(150.0, rel=0.02)
    assert _corr(img_t, truth) >= 0.98
