"""Test-only comparison with an established implementation (py4DSTEM 0.14.18, direct_ptychography
module: SSB, OBF, WDD) on the same simulated data. py4DSTEM's Parallax class does not run under
NumPy 2.4 (float() of 1-element arrays in Parallax.reconstruct), so parallax is not compared here."""
import warnings

import numpy as np
import pytest

from jaxem.phase import direct
from jaxem.phase.stack import bright_field_stack
from jaxem.phase.wdd import wdd

py4dstem = pytest.importorskip("py4DSTEM")


def _py4d(cls, ds, **recon):
    dc = py4dstem.DataCube(data=np.asarray(ds.array))
    dc.calibration.set_R_pixel_size(ds.scan_sampling[0])
    dc.calibration.set_R_pixel_units("A")
    dc.calibration.set_Q_pixel_size(ds.angular_sampling[0])
    dc.calibration.set_Q_pixel_units("mrad")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = cls(energy=ds.energy, datacube=dc, semiangle_cutoff=ds.semiangle,
                  polar_parameters={"C10": float(ds.aberrations.C10)}, verbose=False, device="cpu")
        obj.preprocess(plot_center_of_mass=False, plot_rotation=False, plot_overlap_trotters=False,
                       force_com_rotation=0.0, force_com_transpose=False)
        obj.reconstruct(num_jobs=1, progress_bar=False, **recon)
    return np.angle(np.asarray(obj._object))


@pytest.fixture(scope="module")
def data(wpo_defocus):
    ds, phi = wpo_defocus
    return ds, bright_field_stack(ds, precision="float64")


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def test_ssb_matches_py4dstem(data):
    ds, st = data
    assert _corr(_py4d(py4dstem.process.phase.SSB, ds), direct.ssb(st, ds.aberrations)) >= 0.99


def test_obf_and_wdd_match_py4dstem(data):
    ds, st = data
    assert _corr(_py4d(py4dstem.process.phase.OBF, ds), direct.obf(st, ds.aberrations)) >= 0.95
    ref = _py4d(py4dstem.process.phase.WDD, ds, relative_wiener_epsilon=1e-2)
    assert _corr(ref, wdd(ds, epsilon=1e-2)) >= 0.95
