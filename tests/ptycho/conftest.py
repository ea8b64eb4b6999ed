"""Small simulated datasets for the ptychography tests: the periodic single-slice model of
``jaxem.phase.synthetic`` (independent of the ptycho forward model), 300 kV, 20 mrad, hard aperture,
on odd FFT-friendly grids so that the detector is one whole centred square."""
import numpy as np
import pytest

from jaxem import phase
from jaxem.optics import Aberrations

ENERGY, SEMI, SAMPLING = 300e3, 20.0, 0.25  # eV, mrad, Å


def dataset(n=27, step=3, phi=None, aberrations=None, dose=None, precision=np.float64, **kw):
    """(Dataset4D, φ) of a band-limited white-noise phase object on an n×n periodic cell."""
    if phi is None:
        phi = phase.white_noise_phase(n, 0.3, seed=2, kmax=1.2, sampling=SAMPLING)
    ds = phase.simulate_dataset(phi, SAMPLING, ENERGY, SEMI, aberrations, step=step, edge_px=0.0, dose=dose, **kw)
    return ds.replace(array=np.asarray(ds.array, precision)), phi


@pytest.fixture(scope="session")
def small():
    return dataset(aberrations=Aberrations(C10=-40.0))
