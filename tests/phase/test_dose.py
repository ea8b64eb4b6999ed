import numpy as np
import pytest

from jaxem.phase.dose import ssnr
from jaxem.phase.stack import bright_field_stack
from jaxem.phase.transfer import radial_average

from jaxem.optics.aberrations import Aberrations

from .forward import make_dataset, support


@pytest.fixture(scope="module")
def small():
    return make_dataset(32, sigma=0.002, aberrations=Aberrations.create(C10=150.0))


def test_ssnr_scales_with_sqrt_dose(small):
    ds, _ = small
    st = bright_field_stack(ds)
    m = support(st.scan_shape, st.scan_sampling, st.cutoff, lo=0.3, hi=1.5)
    # doses high enough that SSNR ≫ 1 for this very weak object (σφ std 0.002 rad), so that the
    # mean over realisations estimates the signal and not the noise
    lo = np.asarray(ssnr(st, "parallax", dose=1e6, n_realisations=10, seed=1, aberrations=ds.aberrations))
    hi = np.asarray(ssnr(st, "parallax", dose=4e6, n_realisations=10, seed=2, aberrations=ds.aberrations))
    ratio = np.median(hi[m]) / np.median(lo[m])
    assert ratio == pytest.approx(2.0, rel=0.15)
    q, r = radial_average(lo, st.scan_sampling, bins=12, qmax=2 * st.cutoff)
    assert np.nanmax(r) > 0
    with pytest.raises(ValueError, match="dose"):
        ssnr(st, dose=-1)
    with pytest.raises(ValueError, match="n_realisations"):
        ssnr(st, n_realisations=1)


def test_obf_is_at_least_as_dose_efficient_as_ssb(small):
    ds, _ = small
    st = bright_field_stack(ds)
    m = support(st.scan_shape, st.scan_sampling, st.cutoff, lo=0.2, hi=1.6)
    s = np.asarray(ssnr(st, "ssb", dose=1e6, n_realisations=8, aberrations=ds.aberrations))
    o = np.asarray(ssnr(st, "obf", dose=1e6, n_realisations=8, aberrations=ds.aberrations))
    assert np.median(o[m]) >= 0.97 * np.median(s[m])
