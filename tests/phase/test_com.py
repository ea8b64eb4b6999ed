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
    with pytest.raises(ValueError, match="Sy, Sx, 2"):
        com.icom(np.zeros((4, 4)), (1, 1))
