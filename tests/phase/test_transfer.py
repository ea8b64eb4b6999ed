import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.optics.aberrations import Aberrations, chi
from jaxem.phase import geometry
from jaxem.phase.transfer import measured_transfer, radial_average, transfer_function


def _grid(n=24, d=0.1, cutoff=1.0):
    idx = geometry.bright_field_pixels((n, n), (n // 2, n // 2), (d, d), 0.0197, cutoff, d)
    k = np.stack([(idx[:, 0] - n // 2) * d, (idx[:, 1] - n // 2) * d], -1)
    return jnp.asarray(k)


def test_ideal_ssb_and_icom_limits():
    k = _grid()
    kw = dict(shape=(32, 32), scan_sampling=(0.25, 0.25), wavelength=0.0197, cutoff=1.0, edge=0.1)
    ssb = np.asarray(transfer_function("ssb", k, **kw))
    ic = np.asarray(transfer_function("icom", k, **kw))
    q = np.hypot(*np.meshgrid(np.fft.fftfreq(32, 0.25), np.fft.fftfreq(32, 0.25), indexing="ij"))
    assert abs(ssb[0, 0]) < 1e-12 and np.all(ssb.real >= 0) and ssb.real.max() <= 1.0 + 1e-9
    assert np.all(np.abs(ssb[q > 2.1]) < 1e-12)  # nothing beyond twice the aperture
    assert ic[0, 0].real == pytest.approx(1.0)  # Σ|ψ̂|² = 1
    # χ = 0: iCoM transfer = aperture autocorrelation = parallax transfer / sin χ → compare to |ψ̂|⋆|ψ̂|
    np.testing.assert_allclose(np.abs(ic.imag).max(), 0, atol=1e-12)


def test_parallax_transfer_sign_follows_sin_chi():
    k = _grid()
    ab = Aberrations(C10=100.0)
    t = np.asarray(transfer_function("parallax", k, (32, 32), (0.25, 0.25), 0.0197, 1.0, 0.1, ab)).real
    qy, qx = np.fft.fftfreq(32, 0.25), np.fft.fftfreq(32, 0.25)
    q = np.hypot(qy[:, None], qx[None, :])
    s = np.sin(np.asarray(chi(ab, 0.0197 * q, 0.0 * q, 0.0197)))
    m = (q > 0) & (q < 1.8) & (np.abs(s) > 0.05)
    assert np.all(np.sign(t[m]) == np.sign(s[m]))


def test_bad_method_and_shapes():
    with pytest.raises(ValueError, match="method"):
        transfer_function("dpc", _grid(), (8, 8), (1, 1), 0.02, 1, 0.1)
    with pytest.raises(ValueError, match="k_bf"):
        transfer_function("ssb", jnp.zeros((3,)), (8, 8), (1, 1), 0.02, 1, 0.1)
    with pytest.raises(ValueError, match="k_bf holds 1 NaN"):
        transfer_function("ssb", jnp.asarray([[0.0, np.nan]]), (8, 8), (1, 1), 0.02, 1, 0.1)
    with pytest.raises(ValueError, match="scan_sampling must be > 0"):
        transfer_function("ssb", _grid(), (8, 8), (0, 1), 0.02, 1, 0.1)
    with pytest.raises(ValueError, match="wavelength must be > 0"):
        transfer_function("ssb", _grid(), (8, 8), (1, 1), -0.02, 1, 0.1)
    with pytest.raises(ValueError, match="same shape"):
        measured_transfer(np.zeros((4, 4)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="bins"):
        radial_average(np.zeros((4, 4)), (1, 1), bins=0)


def test_radial_average_of_radial_function():
    n, d = 32, 0.5
    q = np.hypot(*np.meshgrid(np.fft.fftfreq(n, d), np.fft.fftfreq(n, d), indexing="ij"))
    centres, avg = radial_average(q**2, (d, d), bins=8, qmax=1.0)
    ok = np.isfinite(avg)
    np.testing.assert_allclose(avg[ok][2:], centres[ok][2:] ** 2, rtol=0.1)
