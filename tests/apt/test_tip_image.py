import numpy as np
import pytest

from jaxem.apt.synthetic import render_tip_image
from jaxem.apt.tip_image import extract_profile


@pytest.mark.parametrize("R,K,alpha_deg", [(8.0, 0.0, 15.0), (8.0, 0.4, 10.0), (6.0, -0.4, 20.0), (12.0, 0.0, 8.0)])
def test_extraction_accuracy(R, K, alpha_deg):
    img, zr, xc = render_tip_image(R, K, np.deg2rad(alpha_deg), apex_z=-3.0, pixel=0.25, shape=(200, 160),
                                   top=2.0, noise=0.01)
    e = extract_profile(img, 0.25, z_top=2.0)
    assert e.radius == pytest.approx(R, rel=0.03)
    assert e.conic == pytest.approx(K, abs=0.15)
    assert np.rad2deg(e.shank_angle) == pytest.approx(alpha_deg, abs=0.5)
    assert e.apex_z == pytest.approx(-3.0, abs=0.15)
    assert abs(e.axis_x) < 0.05
    # measured sag follows the true profile
    from jaxem.apt.tipshape import conic_sag

    r = np.linspace(0.5, 0.8 * R, 10)
    np.testing.assert_allclose(e.sag_on(r), conic_sag(r, R, K, np.deg2rad(alpha_deg)), atol=0.35)


def test_haadf_contrast_and_errors():
    img, _, _ = render_tip_image(8.0, 0.0, 0.25, apex_z=-3.0, pixel=0.25, shape=(200, 160), top=2.0)
    e = extract_profile(1 - img, 0.25, z_top=2.0, dark_specimen=False)
    assert e.radius == pytest.approx(8.0, rel=0.03)
    with pytest.raises(ValueError, match="pixel"):
        extract_profile(img, 0.0)
    with pytest.raises(ValueError, match="rows"):
        extract_profile(np.ones((50, 50)), 0.25)
