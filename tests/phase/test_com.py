import numpy as np
import pytest

from jaxem.phase import com
from jaxem.phase.stack import bright_field_stack
from jaxem.phase.transfer import measured_transfer, stack_transfer

from .forward import support


@pytest.mark.parametrize("which", ["wpo_focus", "wpo_defocus"])
def test_icom_transfer_matches_probe_autocorrelation(which, request):
    ds, phi = request.getfixturevalue(which)
    field = com.com_field(ds)
    img = com.icom(field, ds.scan_sampling)
    t = measured_transfer(img, phi)
    st = bright_field_stack(ds, precision="float64")
    a = np.asarray(stack_transfer("icom", st, ds.aberrations))
    m = support(st.scan_shape, st.scan_sampling, st.cutoff)
    c = np.corrcoef(t.real[m], a.real[m])[0, 1]
    assert c >= 0.95
    if which == "wpo_focus":
        assert np.mean(t.real[m] > 0) > 0.99


def test_icom_inverts_a_gradient_field():
    # CoM = ∇f/(2π) of a smooth periodic f → iCoM returns f (up to its mean)
    n, d = 32, 0.5
    y, x = np.meshgrid(np.arange(n) * d, np.arange(n) * d, indexing="ij")
    L = n * d
    f = np.sin(2 * np.pi * 2 * x / L) + 0.5 * np.cos(2 * np.pi * 3 * y / L)
    gy = 0.5 * (-np.sin(2 * np.pi * 3 * y / L)) * 2 * np.pi * 3 / L
    gx = np.cos(2 * np.pi * 2 * x / L) * 2 * np.pi * 2 / L
    field = np.stack([gy, gx], -1) / (2 * np.pi)
    np.testing.assert_allclose(com.icom(field, (d, d)), f - f.mean(), atol=1e-5)
    div = com.divergence(field, (d, d))
    assert np.corrcoef(np.asarray(div).ravel(), (-(2 * np.pi * 2 / L) ** 2 * np.sin(2 * np.pi * 2 * x / L)
                                                 - 0.5 * (2 * np.pi * 3 / L) ** 2 * np.cos(2 * np.pi * 3 * y / L)).ravel()
                       / (2 * np.pi))[0, 1] > 0.99
    with pytest.raises(ValueError, match="com must have 3 dimensions"):
        com.icom(np.zeros((4, 4)), (1, 1))


def test_one_nan_pixel_no_longer_makes_the_com_nan(wpo_defocus):
    from jaxem.phase import reconstruct

    ds, _ = wpo_defocus
    a = np.array(ds.array)
    a[5, 7, 24, 30] = np.nan
    bad = ds.replace(array=a)
    field = np.asarray(com.com_field(bad))
    clean = np.asarray(com.com_field(ds))
    assert np.all(np.isfinite(field))
    good = np.ones(ds.scan_shape, bool)
    good[5, 7] = False
    # other frames: the clean CoM, to the round-off of the in-place moments (whose float64 sums
    # split each frame where the copy's buffer meets a 64-byte boundary: jaxem.phase.com_moments)
    np.testing.assert_allclose(field[good], clean[good], rtol=0, atol=1e-12 * ds.detector_sampling[0])  # 1e-12 px
    filled = np.array(ds.array)
    filled[5, 7, 24, 30] = np.delete(filled[:, :, 24, 30].ravel(), 5 * 48 + 7).mean()
    np.testing.assert_allclose(field[5, 7], np.asarray(com.com_field(ds.replace(array=filled)))[5, 7], rtol=1e-10)
    img = reconstruct(bad, "icom")
    assert np.all(np.isfinite(np.asarray(img.array)))
    assert img.metadata["bad_data"]["scan_positions"] == [[5, 7]]


def test_icom_rejects_bad_fields_and_samplings():
    with pytest.raises(TypeError, match="com must be a real array"):
        com.icom(np.zeros((4, 4, 2), complex), (1.0, 1.0))  # was cast to real behind a warning
    with pytest.raises(ValueError, match="scan_sampling must be > 0"):
        com.icom(np.zeros((4, 4, 2)), 0.0)
    with pytest.raises(ValueError, match="scan_sampling must be > 0"):
        com.icom(np.zeros((4, 4, 2)), (1.0, -1.0))
    with pytest.raises(ValueError, match="com holds 1 NaN"):
        com.icom(np.where((np.arange(32).reshape(4, 4, 2) == 9), np.nan, 0.0), (1.0, 1.0))
