import numpy as np
import pytest

from jaxem.apt.synthetic import SyntheticTip, generate, render_tip_image, surface_sag


@pytest.fixture(scope="module")
def small():
    return generate(depth=5.0, interface_z=-2.5, R0=5.0, seed=3)


def test_truth_lies_on_the_surface_when_evaporated(small):
    t = small.truth
    r = np.hypot(t[:, 0], t[:, 1])
    zs = -small.tau - surface_sag(small.tip, r, small.tau)
    np.testing.assert_allclose(t[:, 2], zs, atol=1e-6)
    assert np.all(np.diff(small.tau) >= 0)  # evaporation order


def test_detection_efficiency_and_voltage(small):
    tip = small.tip
    np.testing.assert_allclose(small.voltage, tip.kF * np.interp(small.tau, small.profile_shapes["tau"],
                                                                 small.profile_shapes["R"]), rtol=2e-3)
    rd = np.hypot(small.x_det, small.y_det)
    assert rd.max() <= tip.detector_radius + 1e-3
    # the central column: all atoms in the evaporated volume are candidates; η of them are detected
    cnt = np.asarray(small.profiles.count)
    assert np.all(np.diff(cnt) > 0) and cnt[-1] == len(small.x_det)
    r = np.hypot(small.truth[:, 0], small.truth[:, 1])
    n_det = np.sum(r < 2.0)
    # volume evaporated within r < 2 nm between first and last snapshot [nm³]
    rr = np.linspace(0, 2.0, 200)
    z0 = 0 - surface_sag(tip, rr, 0.0)
    z1 = -tip.depth - surface_sag(tip, rr, tip.depth)
    vol = np.trapezoid(2 * np.pi * rr * (z0 - z1), rr)
    expected = tip.eta * vol / tip.omega
    assert abs(n_det - expected) < 4 * np.sqrt(expected) + 0.01 * expected


def test_segregation_and_species(small):
    z = small.truth[:, 2]
    layer = np.abs(z - small.tip.interface_z) <= small.tip.gb_width / 2
    assert small.species[layer].mean() == pytest.approx(small.tip.gb_solute, abs=0.08)
    assert small.species[~layer].mean() == pytest.approx(small.tip.bulk_solute, abs=0.01)


def test_bad_parameters():
    with pytest.raises(ValueError, match="lattice"):
        SyntheticTip(lattice="hcp")
    with pytest.raises(ValueError, match="eta"):
        SyntheticTip(eta=1.5)
    assert SyntheticTip(lattice="fcc", a=0.4).omega == pytest.approx(0.016)


def test_render_image_thickness():
    img, zr, xc = render_tip_image(5.0, 0.0, 0.2, apex_z=0.0, pixel=0.5, shape=(40, 41), top=5.0,
                                   mfp=10.0, blur=0)
    row = np.argmin(np.abs(zr + 5.0))  # 5 nm below the apex: hemisphere half-width = 5 nm
    t_centre = -10.0 * np.log(img[row, 20])
    assert t_centre == pytest.approx(10.0, rel=0.02)
    assert img[:9].min() == 1.0  # vacuum above the apex
