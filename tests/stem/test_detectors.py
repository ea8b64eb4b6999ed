import numpy as np
import pytest

from jaxem import Grid, physics
from jaxem.stem import AnnularDetector, CenterOfMassDetector, PixelatedDetector, SegmentedDetector


def test_annular_mask_area_matches_annulus():
    g = Grid((256, 256), (0.05, 0.05))
    m = AnnularDetector(30.0, 80.0).masks(g, 300e3)[0]
    dk = physics.mrad_to_frequency(1.0, 300e3)  # 1/Å per mrad
    area_px = np.pi * (80.0**2 - 30.0**2) * dk**2 / (1 / 12.8) ** 2
    assert m.sum() == pytest.approx(area_px, rel=0.02)


def test_segments_partition_the_annulus():
    g = Grid((128, 128), (0.05, 0.05))
    seg = SegmentedDetector(10.0, 60.0, n_segments=4, n_rings=2, rotation=0.3).masks(g, 300e3)
    ann = AnnularDetector(10.0, 60.0).masks(g, 300e3)[0]
    assert seg.shape[0] == 8
    assert np.array_equal(seg.sum(0), ann)
    assert seg.max() == 1


def test_pixelated_crop_bin_conserves_counts():
    g = Grid((64, 64), (0.05, 0.05))
    det = PixelatedDetector(60.0, bin=2)
    dp = np.random.default_rng(0).random((3, 64, 64))
    out = np.asarray(det.apply(dp, g, 300e3))
    sy, sx = det.crop(g, 300e3)
    assert out.shape == (3, sy // 2, sx // 2)
    ny = np.fft.fftfreq(64, 0.05) * physics.wavelength(300e3) * 1e3
    inside = np.zeros((64, 64), bool)
    iy = (np.arange(sy) - sy // 2) % 64
    ix = (np.arange(sx) - sx // 2) % 64
    inside[np.ix_(iy, ix)] = True
    assert np.allclose(out.sum((-2, -1)), dp[:, inside].sum(-1))
    assert ny.size == 64


def test_center_of_mass_of_a_shifted_spot():
    g = Grid((64, 64), (0.05, 0.05))
    c = CenterOfMassDetector()
    w = c.weights(g, 300e3)
    dp = np.zeros((64, 64))
    dp[3, -2] = 1.0
    com = np.asarray(c.apply(dp, w))
    step = physics.wavelength(300e3) * 1e3 / (64 * 0.05)
    assert com == pytest.approx([3 * step, -2 * step])


@pytest.mark.parametrize("bad", [lambda: AnnularDetector(-1, 5), lambda: SegmentedDetector(0, 10, n_segments=0),
                                 lambda: PixelatedDetector(0.0), lambda: PixelatedDetector(10.0, bin=1.5)])
def test_bad_detectors(bad):
    with pytest.raises(ValueError):
        bad()
