import numpy as np
import pytest

from jaxem import Axis, Measurement
from jaxem.beam import Beam
from jaxem.io.stem4d import DIMS, calibration, metadata
from jaxem.validate import InputError, InputTypeError


def dataset(names=("θy", "θx"), units="mrad", md=None):
    axes = (Axis("scan_y", 0.5, "Å", 1.0), Axis("scan_x", 0.4, "Å"), Axis(names[0], 2.0, units, -6.0),
            Axis(names[1], 2.0, units, -4.0))
    md = metadata(Beam(300e3), 20.0, (0.5, 0.4), (2.0, 2.0)) if md is None else md
    return Measurement(np.zeros((2, 3, 7, 5)), axes, md, signal_ndim=2)


def test_calibration_in_fixed_units_both_reciprocal_conventions():
    lam = Beam(300e3).wavelength
    c = calibration(dataset())
    assert c["energy"] == 300e3 and c["scan_sampling"] == (0.5, 0.4) and c["scan_origin"] == (1.0, 0.0)
    assert c["detector_sampling_mrad"] == (2.0, 2.0) and c["center"] == (3.0, 2.0) and c["semi_angle"] == 20.0
    assert c["detector_sampling"][0] == pytest.approx(2e-3 / lam)
    k = calibration(dataset(("ky", "kx"), "1/Å", {"energy": 300e3, "semi_angle_mrad": 15.0}))
    assert k["detector_sampling"] == (2.0, 2.0) and k["detector_sampling_mrad"][0] == pytest.approx(2.0 * lam * 1e3)
    assert k["semi_angle"] == 15.0
    assert dataset().dims == DIMS


def test_calibration_names_what_breaks_the_layout():
    with pytest.raises(InputTypeError, match="4D-STEM Measurement is needed"):
        calibration(np.zeros((2, 2, 2, 2)))
    with pytest.raises(InputError, match="4 axes"):
        calibration(Measurement(np.zeros((2, 2)), (Axis("y"), Axis("x"))))
    with pytest.raises(InputError, match=r"pattern axes must be θy, θx \[mrad\] or ky, kx \[1/Å\], got θy \[1/Å\]"):
        calibration(dataset(units="1/Å"))
    bad = dataset()
    bad = Measurement(bad.array, (Axis("scan_y", 0.5, "nm"),) + bad.axes[1:], bad.metadata)
    with pytest.raises(InputError, match=r"scan axes must be scan_y, scan_x in Å, got scan_y \[nm\]"):
        calibration(bad)
    with pytest.raises(InputError, match="beam energy"):
        calibration(dataset(md={}))
    with pytest.raises(InputError, match="semi_angle must be ≥ 0"):
        metadata(Beam(300e3), -1.0, (0.5, 0.5), (1.0, 1.0))
