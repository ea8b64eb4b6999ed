"""The public simulated-data model (jaxem.phase.synthetic): checks against analytic limits."""
import numpy as np

from jaxem.optics.aberrations import Aberrations
import pytest

from jaxem.phase import Dataset4D, reconstruct
from jaxem.phase.synthetic import lattice_phase, simulate_4dstem, simulate_dataset, white_noise_phase


def test_vacuum_pattern_is_the_aperture_and_conserves_intensity():
    d = simulate_4dstem(np.zeros((16, 16)), 0.25, 300e3, 20.0, Aberrations(C10=100.0), step=4)
    assert d.shape == (4, 4, 16, 16)
    np.testing.assert_allclose(d.sum((2, 3)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(d, np.broadcast_to(d[:1, :1], d.shape), atol=1e-15)  # no object: all the same
    k = np.fft.fftshift(np.fft.fftfreq(16, 0.25))
    kk = np.hypot(k[:, None], k[None, :])
    assert np.all(d[0, 0][kk > 20e-3 / 0.019687 + 0.126] < 1e-20)  # nothing outside the aperture (+½ px edge)


def test_phase_object_conserves_intensity_and_white_noise_is_flat():
    phi = white_noise_phase(16, 0.1, seed=3)
    assert abs(phi.std() - 0.1) < 1e-12 and abs(phi.mean()) < 1e-12
    F = np.abs(np.fft.fft2(phi))
    assert F[0, 0] < 1e-12 and np.all(F[:, 8] < 1e-12)
    d = simulate_4dstem(phi, 0.25, 300e3, 20.0, Aberrations(C10=50.0), step=2, crop=12, dose=None)
    assert d.shape == (8, 8, 12, 12)
    noisy = simulate_4dstem(phi, 0.25, 300e3, 20.0, Aberrations(C10=50.0), step=4, dose=1000.0, seed=1)
    assert noisy.dtype == np.float64 and np.all(noisy == np.round(noisy))
    assert abs(noisy.sum((2, 3)).mean() - 1000) < 100


def test_simulate_dataset_is_calibrated_and_reconstructs():
    phi = white_noise_phase(24, 0.002, seed=1)
    ds = simulate_dataset(phi, 0.25, "300 kV", 20.0, Aberrations(C10=100.0))
    assert isinstance(ds, Dataset4D) and ds.energy == 300e3 and ds.center == (12, 12)
    assert ds.detector_sampling == pytest.approx((1 / 6, 1 / 6)) and ds.aberrations.C10 == 100.0
    img = reconstruct(ds, "ssb")
    assert np.corrcoef(np.ravel(img.array), phi.ravel())[0, 1] > 0.5


def test_lattice_phantom():
    phi = lattice_phase(40, 0.25)
    assert phi.shape == (40, 40) and abs(phi.mean()) < 1e-12 and phi.max() == pytest.approx(0.05)


def test_simulation_arguments_checked():
    with pytest.raises(ValueError, match="phase must be square"):
        simulate_4dstem(np.zeros((8, 6)), 0.25, 300e3, 20.0)
    with pytest.raises(ValueError, match="energy must be > 0"):
        simulate_4dstem(np.zeros((8, 8)), 0.25, -1, 20.0)
    with pytest.raises(ValueError, match="phase holds 1 NaN"):
        simulate_4dstem(np.where(np.eye(8) * np.arange(8) == 3, np.nan, 0.0), 0.25, 300e3, 20.0)
