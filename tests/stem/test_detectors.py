import jax
import numpy as np
import pytest

from jaxem import Beam, Grid
from jaxem.stem import AnnularDetector, CenterOfMassDetector, Detector, PixelatedDetector, SegmentedDetector
from jaxem.validate import InputError, InputTypeError

BEAM = Beam(300e3)


def test_annular_mask_area_matches_annulus():
    g = Grid((256, 256), (0.05, 0.05))
    m = AnnularDetector(30.0, 80.0).prepare(BEAM, g).masks
    dk = BEAM.mrad_to_frequency(1.0)  # 1/Å per mrad
    area_px = np.pi * (80.0**2 - 30.0**2) * dk**2 / (1 / 12.8) ** 2
    assert m.sum() == pytest.approx(area_px, rel=0.02)


def test_outer_inf_integrates_to_the_grid_limit():
    g = Grid((64, 48), (0.05, 0.07))
    full = AnnularDetector(0.0).prepare(BEAM, g).masks
    assert full.sum() == 64 * 48  # every reciprocal pixel, corners included
    dp = np.random.default_rng(1).random((3, 64, 48))
    np.testing.assert_allclose(np.asarray(AnnularDetector(0.0).apply(AnnularDetector(0.0).prepare(BEAM, g), dp)),
                               dp.sum((-2, -1)), rtol=1e-6)
    assert AnnularDetector(20.0).outer == float("inf")


def test_segments_partition_the_annulus():
    g = Grid((128, 128), (0.05, 0.05))
    seg = SegmentedDetector(10.0, 60.0, n_segments=4, n_rings=2, rotation=0.3).prepare(BEAM, g).masks
    ann = AnnularDetector(10.0, 60.0).prepare(BEAM, g).masks
    assert seg.shape[0] == 8
    assert np.array_equal(seg.sum(0), ann)
    assert seg.max() == 1
    to_edge = SegmentedDetector(10.0, n_segments=3, n_rings=2).prepare(BEAM, g).masks
    assert np.array_equal(to_edge.sum(0), AnnularDetector(10.0).prepare(BEAM, g).masks)


def test_pixelated_crop_bin_conserves_counts_and_is_centred():
    g = Grid((64, 64), (0.05, 0.05))
    for b in (1, 2, 3):
        det = PixelatedDetector(60.0, bin=b)
        st = det.prepare(BEAM, g)
        dp = np.random.default_rng(0).random((3, 64, 64))
        out = np.asarray(det.apply(st, dp))
        sy, sx = det.crop(BEAM, g)
        assert out.shape == (3, sy // b, sx // b)
        inside = np.zeros((64, 64), bool)
        inside[np.ix_(np.asarray(st.rows), np.asarray(st.cols))] = True
        np.testing.assert_allclose(out.sum((-2, -1)), dp[:, inside].sum(-1), rtol=1e-6)
        # a spot at zero frequency lands in the central (binned) pixel, whose axis value is ~0
        spot = np.zeros((64, 64))
        spot[0, 0] = 1.0
        img = np.asarray(det.apply(st, spot))
        iy, ix = np.unravel_index(np.argmax(img), img.shape)
        ay, ax = det.signal_axes(BEAM, g)
        assert abs(ay.offset + iy * ay.sampling) <= 0.5 * BEAM.angular_sampling(g)[0] + 1e-9
        assert abs(ax.offset + ix * ax.sampling) <= 0.5 * BEAM.angular_sampling(g)[1] + 1e-9
        assert ay.sampling == pytest.approx(b * BEAM.angular_sampling(g)[0])


def test_pixelated_whole_grid_by_default():
    g = Grid((32, 32), (0.05, 0.05))
    assert PixelatedDetector().crop(BEAM, g) == (31, 31)


def test_center_of_mass_of_a_shifted_spot():
    g = Grid((64, 64), (0.05, 0.05))
    c = CenterOfMassDetector()
    st = c.prepare(BEAM, g)
    dp = np.zeros((64, 64))
    dp[3, -2] = 1.0
    com = np.asarray(c.apply(st, dp))
    step = BEAM.angular_sampling(g)[0]
    assert com == pytest.approx([3 * step, -2 * step], rel=1e-5)
    assert np.all(np.asarray(c.apply(st, np.zeros((64, 64)))) == 0)  # empty pattern: 0, not NaN


def test_detectors_are_static_and_jit_friendly():
    g = Grid((32, 32), (0.05, 0.05))
    dets = (AnnularDetector(10.0, 50.0, "ADF"), SegmentedDetector(0.0, 20.0), PixelatedDetector(40.0, 2),
            CenterOfMassDetector())
    assert len({hash(d) for d in dets}) == 4 and all(isinstance(d, Detector) for d in dets)
    states = tuple(d.prepare(BEAM, g) for d in dets)
    dp = np.random.default_rng(2).random((32, 32)).astype(np.float32)

    @jax.jit
    def run(states, dp):
        return tuple(d.apply(s, dp) for d, s in zip(dets, states))

    for d, s, out in zip(dets, states, run(states, dp)):
        np.testing.assert_allclose(np.asarray(out), np.asarray(d.apply(s, dp)), rtol=1e-5)


@pytest.mark.parametrize("bad, match", [
    (lambda: AnnularDetector(-1, 5), "inner"),
    (lambda: AnnularDetector(float("nan"), 5), "inner"),
    (lambda: AnnularDetector(20.0, 10.0), "inner < outer"),
    (lambda: AnnularDetector(10.0, 10.0), "inner < outer"),
    (lambda: AnnularDetector(1.0, float("nan")), "outer"),
    (lambda: SegmentedDetector(0, 10, n_segments=0), "n_segments"),
    (lambda: SegmentedDetector(0, 10, n_rings=1.5), "n_rings"),
    (lambda: SegmentedDetector(0, 10, rotation=float("nan")), "rotation"),
    (lambda: PixelatedDetector(0.0), "max_angle"),
    (lambda: PixelatedDetector(float("nan")), "max_angle"),
    (lambda: PixelatedDetector(10.0, bin=1.5), "bin"),
    (lambda: PixelatedDetector(10.0, bin=0), "bin"),
    (lambda: CenterOfMassDetector(-3.0), "max_angle"),
    (lambda: AnnularDetector(1.0, 5.0, name=""), "name"),
])
def test_bad_detectors_name_the_argument(bad, match):
    with pytest.raises((InputError, InputTypeError), match=match):
        bad()


def test_angles_beyond_the_grid_are_errors_not_crops():
    g = Grid((64, 64), (0.05, 0.05))  # Nyquist ≈ 197 mrad at 300 kV
    with pytest.raises(InputError, match="max_angle of 1000 mrad exceeds"):
        PixelatedDetector(1000.0).crop(BEAM, g)
    with pytest.raises(InputError, match="outer angle of 500 mrad exceeds"):
        AnnularDetector(70.0, 500.0).prepare(BEAM, g)
    with pytest.raises(InputError, match="inner angle of 300 mrad exceeds"):
        AnnularDetector(300.0).prepare(BEAM, g)
    with pytest.raises(InputError, match="outer angle"):
        SegmentedDetector(10.0, 400.0).prepare(BEAM, g)
    with pytest.raises(InputError, match="max_angle"):
        CenterOfMassDetector(300.0).prepare(BEAM, g)
    with pytest.raises(InputError, match="fewer than one bin"):
        PixelatedDetector(1.0, bin=4).crop(BEAM, g)
    with pytest.raises(InputTypeError, match="grid"):
        AnnularDetector(1.0, 5.0).prepare(BEAM, (64, 64))
    with pytest.raises(InputTypeError, match="beam"):
        AnnularDetector(1.0, 5.0).prepare(None, g)
