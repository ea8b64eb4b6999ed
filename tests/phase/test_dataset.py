import jax
import numpy as np
import pytest

from jaxem.beam import Beam
from jaxem.measurement import Axis, Measurement
from jaxem.optics.aberrations import Aberrations
from jaxem.phase.dataset import Dataset4D

LAM = Beam(300e3).wavelength


def test_non_4d_rejected():
    with pytest.raises(ValueError, match="array: 4D-STEM data must be 4D"):
        Dataset4D(np.zeros((4, 4, 4)), 1.0)
    with pytest.raises(ValueError, match="≥ 2 points"):
        Dataset4D(np.zeros((1, 4, 4, 4)), 1.0)
    with pytest.raises(TypeError, match="array: 4D-STEM intensities must be real"):
        Dataset4D(np.zeros((2, 2, 4, 4), complex), 1.0)
    with pytest.raises(TypeError, match="array must be a 4D array"):
        Dataset4D(None, 1.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"scan_sampling": -1.0}, "scan_sampling must be > 0"),
    ({"scan_sampling": 0.0}, "scan_sampling must be > 0"),
    ({"scan_sampling": float("nan")}, "scan_sampling must be finite"),
    ({"energy": 300e3, "semiangle": -3}, "semiangle must be in"),
    ({"center": (20, 3)}, "center must be"),
    ({"energy": -5}, "energy must be > 0"),
    ({"energy": 0}, "energy must be > 0"),
    ({"energy": "300 furlongs"}, "energy"),
    ({"detector_sampling": 0.0}, "detector_sampling must be > 0"),
    ({"rotation": float("nan")}, "rotation must be finite"),
    ({"transpose": "yes"}, "transpose must be True or False"),
    ({"aberrations": Aberrations(C10=float("nan"))}, "aberrations.C10"),
    ({"energy": 3e5, "beam": Beam(3e5)}, "energy= or beam="),
])
def test_bad_calibration_values(kwargs, match):
    kw = {"scan_sampling": 1.0, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        Dataset4D(np.zeros((2, 2, 8, 8)), **kw)


def test_energy_is_a_beam():
    a = np.zeros((2, 2, 8, 8))
    ds = Dataset4D(a, "0.05 nm", energy="300 kV")
    assert ds.beam == Beam(300e3) and ds.energy == 300e3 and ds.scan_sampling == pytest.approx((0.5, 0.5))
    assert Dataset4D(a, 1.0, Beam(300e3)).wavelength == LAM
    assert ds.replace(energy=200e3).beam == Beam(200e3)
    with pytest.raises(TypeError, match="did you mean 'semiangle'"):
        ds.replace(semiangel=20.0)


def test_missing_calibration_names_fields():
    ds = Dataset4D(np.zeros((2, 2, 8, 8)), 1.0)
    with pytest.raises(ValueError, match=r"missing calibration \['energy', 'semiangle'\]"):
        ds.require("energy", "semiangle")
    with pytest.raises(ValueError, match="energy"):
        ds.wavelength


def test_angular_sampling_conversion():
    ds = Dataset4D.from_array(np.zeros((2, 2, 8, 8)), 0.5, energy=300e3, angular_sampling=0.8)
    assert ds.detector_sampling[0] == pytest.approx(0.8e-3 / LAM)
    assert ds.angular_sampling[1] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="needs energy"):
        Dataset4D.from_array(np.zeros((2, 2, 8, 8)), 0.5, angular_sampling=0.8)


def _calibrated():
    rng = np.random.default_rng(0)
    return Dataset4D(rng.random((3, 4, 8, 8)).astype(np.float32), (0.5, 0.5), energy=300e3, semiangle=20.0,
                     detector_sampling=(0.1, 0.1), center=(4, 3.5), rotation=0.2, transpose=True,
                     aberrations=Aberrations(C10=150.0, C12=20.0, phi12=0.3), metadata={"sample": "x"})


def test_bf_limit_and_roundtrip_calibration():
    ds = _calibrated()
    kp = 20e-3 / LAM
    assert ds.probe_cutoff == pytest.approx(kp)
    assert ds.bf_limit_upsampling() == pytest.approx(4 * kp * 0.5)
    back = Dataset4D.from_calibration_dict(ds.array, ds.calibration_dict())
    assert back.calibration_dict() == ds.calibration_dict()


def test_is_a_pytree():
    ds = _calibrated()
    leaves = jax.tree.leaves(ds)
    assert leaves[0] is ds.array and len(leaves) == 1 + len(Aberrations().to_dict())
    doubled = jax.tree.map(lambda x: 2 * x, ds)
    assert doubled.aberrations.C10 == 300.0 and doubled.center == ds.center


def test_measurement_roundtrip():
    ds = _calibrated()
    m = ds.to_measurement()
    assert [a.name for a in m.axes] == ["scan_y", "scan_x", "ky", "kx"]
    assert m.axes[0].units == "Å" and m.axes[2].units == "1/Å"
    assert m.metadata["energy"] == {"value": 300e3, "units": "eV"}
    assert m.axes[2].offset == pytest.approx(-4 * m.axes[2].sampling)  # k = 0 at the centre
    back = Dataset4D.from_measurement(m)
    for name in ("scan_sampling", "detector_sampling", "center", "semiangle", "rotation"):
        assert getattr(back, name) == pytest.approx(getattr(ds, name)), name
    assert back.beam == ds.beam and back.transpose and back.aberrations.C12 == pytest.approx(20.0)
    assert back.metadata == {"sample": "x"}
    assert Dataset4D.from_measurement(m, energy=200e3).beam == Beam(200e3)


def test_from_measurement_of_a_simulation_layout():
    # the layout the simulation writes (jaxem.io.stem4d): θ axes [mrad], beam and semi-angle with units
    b = Beam(200e3)
    axes = (Axis("scan_y", 0.3, "Å"), Axis("scan_x", 0.3, "Å"), Axis("θy", 1.5, "mrad", -6.0),
            Axis("θx", 1.5, "mrad", -6.0))
    m = Measurement(np.ones((2, 3, 8, 8)), axes, {"beam": b.to_dict(),
                                                  "semi_angle": {"value": 12.0, "units": "mrad"}})
    ds = Dataset4D.from_measurement(m)
    assert ds.beam == b and ds.semiangle == 12.0 and ds.center == (4.0, 4.0)
    assert ds.detector_sampling[0] == pytest.approx(b.mrad_to_frequency(1.5))
    with pytest.raises(ValueError, match="beam energy"):
        Dataset4D.from_measurement(Measurement(m.array, axes, {}))
    with pytest.raises(ValueError, match="scan axes must be scan_y, scan_x in Å"):
        Dataset4D.from_measurement(Measurement(m.array, (Axis("scan_y", 1.0, "px"),) + axes[1:], m.metadata))
    with pytest.raises(TypeError, match="must be a jaxem Measurement"):
        Dataset4D.from_measurement(np.ones((2, 2, 2, 2)))


def test_py4dstem_roundtrip_and_calibrations():
    py4dstem = pytest.importorskip("py4DSTEM")
    ds = _calibrated().replace(rotation=0.0, transpose=False)
    dc = ds.to_py4dstem()
    assert isinstance(dc, py4dstem.DataCube)
    cal = dc.calibration
    assert cal.get_R_pixel_size() == 0.5 and cal.get_R_pixel_units() == "A"
    assert cal.get_Q_pixel_size() == 0.1 and cal.get_Q_pixel_units() == "A^-1"
    assert (dc.R_Nx, dc.R_Ny, dc.Q_Nx, dc.Q_Ny) == ds.shape
    back = Dataset4D.from_py4dstem(dc, energy=300e3)
    np.testing.assert_array_equal(back.array, ds.array)
    for name in ("scan_sampling", "detector_sampling", "center", "semiangle"):
        assert getattr(back, name) == pytest.approx(getattr(ds, name)), name
    # a DataCube calibrated in nm and mrad, as py4DSTEM's readers often leave it
    dc.calibration.set_R_pixel_size(0.05)
    dc.calibration.set_R_pixel_units("nm")
    dc.calibration.set_Q_pixel_size(1.2)
    dc.calibration.set_Q_pixel_units("mrad")
    other = Dataset4D.from_py4dstem(dc, energy="300 kV")
    assert other.scan_sampling == pytest.approx((0.5, 0.5)) and other.angular_sampling == pytest.approx((1.2, 1.2))
    with pytest.raises(ValueError, match="scan_sampling .* anisotropic"):
        ds.replace(scan_sampling=(0.5, 0.6)).to_py4dstem()
    with pytest.raises(TypeError, match="datacube must be a py4DSTEM DataCube"):
        Dataset4D.from_py4dstem(np.zeros((2, 2, 2, 2)), energy=300e3)


def test_from_stem_scan_metadata_layout():
    # stem_scan writes the aberrations per coefficient with units (Aberrations.to_metadata)
    b = Beam(300e3)
    axes = (Axis("scan_y", 0.3, "Å"), Axis("scan_x", 0.3, "Å"), Axis("θy", 1.5, "mrad", -6.0),
            Axis("θx", 1.5, "mrad", -6.0))
    md = {"beam": b.to_dict(), "semi_angle": {"value": 20.0, "units": "mrad"},
          "aberrations": Aberrations(C10=120.0, C12=5.0, phi12=0.2).to_metadata()}
    ds = Dataset4D.from_measurement(Measurement(np.ones((2, 3, 8, 8)), axes, md))
    assert ds.aberrations.C10 == 120.0 and ds.aberrations.phi12 == 0.2 and ds.semiangle == 20.0
