import numpy as np
import pytest

from jaxem import physics
from jaxem.phase.dataset import Dataset4D


def test_non_4d_rejected():
    with pytest.raises(ValueError, match="must be 4D"):
        Dataset4D(np.zeros((4, 4, 4)), 1.0)
    with pytest.raises(ValueError, match="≥ 2 points"):
        Dataset4D(np.zeros((1, 4, 4, 4)), 1.0)


def test_bad_calibration_values():
    a = np.zeros((2, 2, 8, 8))
    with pytest.raises(ValueError, match="scan_sampling"):
        Dataset4D(a, -1.0)
    with pytest.raises(ValueError, match="semiangle"):
        Dataset4D(a, 1.0, energy=300e3, semiangle=-3)
    with pytest.raises(ValueError, match="center"):
        Dataset4D(a, 1.0, center=(20, 3))
    with pytest.raises(ValueError, match="energy"):
        Dataset4D(a, 1.0, energy=-5)


def test_missing_calibration_names_fields():
    ds = Dataset4D(np.zeros((2, 2, 8, 8)), 1.0)
    with pytest.raises(ValueError, match=r"missing calibration \['energy', 'semiangle'\]"):
        ds.require("energy", "semiangle")
    with pytest.raises(ValueError, match="energy"):
        ds.wavelength


def test_angular_sampling_conversion():
    ds = Dataset4D.from_array(np.zeros((2, 2, 8, 8)), 0.5, energy=300e3, angular_sampling=0.8)
    assert ds.detector_sampling[0] == pytest.approx(0.8e-3 / physics.wavelength(300e3))
    assert ds.angular_sampling[1] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="needs energy"):
        Dataset4D.from_array(np.zeros((2, 2, 8, 8)), 0.5, angular_sampling=0.8)


def test_bf_limit_and_roundtrip_calibration():
    ds = Dataset4D(np.zeros((2, 2, 8, 8)), (0.5, 0.5), energy=300e3, semiangle=20.0,
                   detector_sampling=(0.1, 0.1), center=(4, 4), rotation=0.2, transpose=True)
    kp = 20e-3 / physics.wavelength(300e3)
    assert ds.probe_cutoff == pytest.approx(kp)
    assert ds.bf_limit_upsampling() == pytest.approx(4 * kp * 0.5)
    back = Dataset4D.from_calibration_dict(ds.array, ds.calibration_dict())
    assert back.calibration_dict() == ds.calibration_dict()
    m = ds.to_measurement()
    assert m.axes[2].units == "1/Å" and m.axes[2].offset == pytest.approx(-0.4)
