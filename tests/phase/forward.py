"""Test helper: the periodic single-slice weak-phase-object 4D-STEM forward model (re-exported from
``jaxem.phase.synthetic``, the public simulated-data module) and small dataset builders."""
import numpy as np

from jaxem.optics.aberrations import Aberrations
from jaxem.phase.synthetic import probe_spectrum, simulate_4dstem, white_noise_phase  # noqa: F401
from jaxem.phase.dataset import Dataset4D

ENERGY = 300e3  # eV
SEMIANGLE = 20.0  # mrad
SAMPLING = 0.25  # Å (object pixel)


def make_dataset(n=64, sigma=0.02, seed=1, step=1, aberrations=None, rotation=0.0, transpose=False,
                 dose=None, crop=None):
    """(Dataset4D with true calibration, true phase φ [rad]) of a white-noise WPO."""
    ab = aberrations if aberrations is not None else Aberrations()
    phi = white_noise_phase(n, sigma, seed)
    data = simulate_4dstem(phi, SAMPLING, ENERGY, SEMIANGLE, ab, step=step, crop=crop, rotation=rotation,
                           transpose=transpose, dose=dose, seed=seed)
    nd = data.shape[-1]
    ds = Dataset4D(data, (step * SAMPLING,) * 2, energy=ENERGY, detector_sampling=(1 / (n * SAMPLING),) * 2,
                   semiangle=SEMIANGLE, center=(nd // 2, nd // 2), rotation=rotation, transpose=transpose,
                   aberrations=ab)
    return ds, phi


def support(shape, sampling, kprobe, lo=0.05, hi=1.9):
    """Mask of scan frequencies with lo·k_probe < |q| < hi·k_probe."""
    qy = np.fft.fftfreq(shape[0], sampling[0])
    qx = np.fft.fftfreq(shape[1], sampling[1])
    q = np.hypot(qy[:, None], qx[None, :])
    return (q > lo * kprobe) & (q < hi * kprobe)
