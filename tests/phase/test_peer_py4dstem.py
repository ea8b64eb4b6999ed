"""Test-only comparison with an established implementation (py4DSTEM 0.14.18: direct_ptychography
SSB, OBF, WDD and the Parallax class) on the same simulated data. Parallax is compared at known
aberrations (``Parallax.preprocess`` shifts by the aberration gradient; its iterative
``reconstruct`` does not run under NumPy ≥ 2.4 and is not needed); equivalent settings and the
convention differences are listed in ``py4dstem_peer``."""

import numpy as np
import pytest

from jaxem.optics.aberrations import Aberrations
from jaxem.phase import direct
from jaxem.phase.stack import bright_field_stack
from jaxem.phase.wdd import wdd

py4dstem = pytest.importorskip("py4DSTEM")

from .forward import make_dataset  # noqa: E402
from .py4dstem_peer import bf_mask, py4d_parallax  # noqa: E402
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


@pytest.fixture(scope="module")
def subsampled():
    """48×48 scan at 0.5 Å (step 2: upsampling up to the bright-field limit u ≈ 2 adds signal) ×
    64×64 detector, C10 = 150 Å; bright-field pixels where the aperture is flat (see py4dstem_peer)."""
    ds, _ = make_dataset(96, sigma=0.002, step=2, crop=64, aberrations=Aberrations.create(C10=150.0))
    st = bright_field_stack(ds, precision="float64", threshold=0.9)
    return ds, st, bf_mask(st, ds.detector_shape)


@pytest.mark.parametrize("flip", [False, True])
def test_parallax_matches_py4dstem(subsampled, flip):
    ds, st, mask = subsampled
    mine = direct.parallax(st, ds.aberrations, flip=flip)
    assert _corr(py4d_parallax(ds, mask, flip=flip), mine) >= 0.99  # measured 0.9999997
    # the comparison discriminates: the wrong defocus sign gives a different image
    wrong = direct.parallax(st, Aberrations.create(C10=-150.0), flip=flip)
    assert _corr(py4d_parallax(ds, mask, flip=flip), wrong) < 0.5


def test_upsampled_parallax_matches_py4dstem(subsampled):
    # py4DSTEM: bilinear kernel-density estimate of the shifted samples; jaxem: Fourier tiling (exact
    # sub-pixel shifts). Bilinear weights damp the highest fine-grid frequencies: measured 0.9938
    ds, st, mask = subsampled
    mine = direct.parallax(st, ds.aberrations, upsampling=2)
    ref = py4d_parallax(ds, mask, upsampling=2)
    assert ref.shape == mine.shape == (96, 96)
    assert _corr(ref, mine) >= 0.99
