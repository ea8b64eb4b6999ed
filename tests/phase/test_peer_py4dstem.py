"""Test-only comparison with an established implementation (py4DSTEM 0.14.18, direct_ptychography
module: SSB, OBF, WDD) on the same simulated data. py4DSTEM's Parallax class does not run under
NumPy 2.4 (float() of 1-element arrays in Parallax.reconstruct), so parallax is not compared here."""

import numpy as np
import pytest

from jaxem.phase import direct
from jaxem.phase.stack import bright_field_stack
from jaxem.phase.wdd import wdd

py4dstem = pytest.importorskip("py4DSTEM")

from .py4dstem_peer import py4d_run as _py4d  # noqa: E402


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
