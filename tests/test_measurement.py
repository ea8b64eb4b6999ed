import dataclasses

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from jaxem import Axis, Grid, Measurement
from jaxem.beam import Beam
from jaxem.measurement import quantity, real_space_axes, reciprocal_axes_centered, units_for, with_units
from jaxem.validate import InputError, InputTypeError


def image(**md):
    return Measurement(np.arange(12.0).reshape(3, 4), (Axis("y", 0.5, "Å"), Axis("x", 0.25, "Å", 1.0)), md)


def test_axes_values_extent_and_show():
    m = image()
    assert np.allclose(m.axes[1].values(4), [1.0, 1.25, 1.5, 1.75])
    assert m.extent() == pytest.approx((0.875, 1.875, 1.25, -0.25))
    assert m.show(log=True) is not None
    assert Measurement(np.arange(5.0), (Axis("t", 2.0, "fs"),)).show() is not None
    with pytest.raises(ValueError, match="1D or 2D"):
        Measurement(np.zeros((2, 2, 2)), (Axis("a"), Axis("b"), Axis("c"))).show()


def test_show_labels_colorbar_and_log_floor():
    import matplotlib.pyplot as plt

    data = np.full((4, 4), 1e-21)
    data[0, 0] = 2.0
    m = Measurement(data, (Axis("y", 0.1, "Å"), Axis("x", 0.1, "Å")), {"quantity": "intensity", "units": "e⁻"})
    ax = m.show(log=True, log_decades=4)
    assert ax.get_xlabel() == "x [Å]" and ax.get_ylabel() == "y [Å]"
    im = ax.get_images()[0]
    assert im.norm.vmin == pytest.approx(2e-4) and im.norm.vmax == pytest.approx(2.0)  # not the 1e-21 noise
    cbar = im.colorbar
    assert cbar.ax.get_ylabel() == "intensity [e⁻]"
    fig = ax.figure
    fig.canvas.draw()  # constrained layout: the y label lies inside the figure
    bbox = ax.yaxis.label.get_window_extent(fig.canvas.get_renderer())
    assert bbox.x0 >= 0
    plt.close("all")
    ax = Measurement(np.array([1.0, 10.0, 100.0]), (Axis("t", 1.0, "fs"),), {"quantity": "counts"}).show(log=True)
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "counts"
    with pytest.raises(InputError, match="log_decades must be > 0"):
        image().show(log=True, log_decades=0)
    plt.close("all")


def test_axis_validation_and_serialisation():
    a = Axis("θy", 1.5, "mrad", -3.0)
    assert Axis.from_dict(a.to_dict()) == a and a.origin == -3.0 and hash(a) == hash(Axis("θy", 1.5, "mrad", -3.0))
    with pytest.raises(InputTypeError, match="Axis name must be a non-empty string"):
        Axis("")
    with pytest.raises(InputError, match="Axis 'x' sampling must be finite"):
        Axis("x", float("nan"))
    with pytest.raises(InputError, match="Axis 'x' sampling must be non-zero"):
        Axis("x", 0.0, "Å")
    assert Axis("E", -0.5, "eV").sampling == -0.5  # a decreasing axis is legitimate
    with pytest.raises(InputTypeError, match="Axis 'x': units must be a string"):
        Axis("x", 1.0, 3)
    with pytest.raises(InputError, match="axis must have the keys name, sampling, units, offset"):
        Axis.from_dict({"name": "x", "scale": 1.0})


def test_measurement_validation():
    with pytest.raises(ValueError, match="Axis"):
        Measurement(np.zeros((2, 2)), (Axis("x"),))
    with pytest.raises(InputError, match=r"unique names .*\['x'\] repeated"):
        Measurement(np.zeros((2, 2)), (Axis("x"), Axis("x")))
    with pytest.raises(InputError, match="signal_ndim must be in"):
        Measurement(np.zeros((2, 2)), (Axis("y"), Axis("x")), signal_ndim=3)
    with pytest.raises(InputTypeError, match="metadata must be a dict"):
        Measurement(np.zeros(2), (Axis("x"),), [1])
    with pytest.raises(InputTypeError, match=r"axes\[0\] must be an Axis"):
        Measurement(np.zeros(2), ("x",))


def test_grid_axes():
    g = Grid((10, 20), (0.1, 0.2))
    ay, ax = real_space_axes(g)
    assert (ay.sampling, ax.sampling, ax.units) == (0.1, 0.2, "Å")
    ky, kx = reciprocal_axes_centered(g, units="1/Å")
    assert kx.sampling == pytest.approx(1 / 4.0) and kx.offset == pytest.approx(-10 / 4.0)
    ty, tx = reciprocal_axes_centered(g, Beam(300e3))
    assert tx.units == "mrad" and tx.sampling == pytest.approx(0.019687 / 4.0 * 1e3, rel=1e-4)
    with pytest.raises(ValueError, match="beam"):
        reciprocal_axes_centered(g)
    with pytest.raises(ValueError, match="units must be one of"):
        reciprocal_axes_centered(g, Beam(300e3), units="furlongs")


def test_with_array_merges_metadata():
    m = Measurement(np.zeros(2), (Axis("x"),), {"a": 1})
    n = m.with_array(np.ones(2), b=2)
    assert n.metadata == {"a": 1, "b": 2} and np.all(n.numpy() == 1)


def test_metadata_units():
    @dataclasses.dataclass
    class Params:
        C10: float = -50.0
        phi12: float = 0.5
        n: int = 3

    md = with_units({"energy": np.float64(300e3), "semi_angle_mrad": 20, "beam": Beam(200e3), "p": Params(),
                     "arr": np.arange(3), "count": 5, "q": quantity(1.5, "nm"), "flag": True})
    assert md["energy"] == {"value": 300e3, "units": "eV"} and md["semi_angle_mrad"]["units"] == "mrad"
    assert md["beam"]["energy"] == {"value": 200e3, "units": "eV"}
    assert md["p"] == {"C10": {"value": -50.0, "units": "Å"}, "phi12": {"value": 0.5, "units": "rad"}, "n": 3}
    assert md["arr"] == [0, 1, 2] and md["count"] == 5 and md["q"] == {"value": 1.5, "units": "nm"}
    assert md["flag"] is True
    assert units_for("defocus") == "Å" and units_for("n_configurations") is None
    with pytest.raises(InputTypeError, match=r"metadata metadata.thing = .* cannot be written"):
        with_units({"thing": object()})
    m = image(energy=300e3, thickness=quantity(2.0, "nm"), count=3)
    assert m.value("energy", "keV") == pytest.approx(300.0)
    assert m.value("thickness", "Å") == pytest.approx(20.0)
    assert m.value("missing", default=None) is None
    assert m.beam() == Beam(300e3)
    with pytest.raises(InputError, match="metadata 'count' = 3 has no units"):
        m.value("count", "Å")
    with pytest.raises(ValueError, match="metadata has no 'missing'"):
        m.value("missing")
    assert Measurement(np.zeros(2), (Axis("x"),), {"beam": Beam(300e3, (1.0, 0.0)).to_dict()}).beam() == \
        Beam(300e3, (1.0, 0.0))


@pytest.mark.parametrize("shape,nsig,sig", [((5,), None, 1), ((3, 4), None, 2), ((2, 3, 4), None, 2),
                                            ((2, 3, 4, 5), None, 2), ((2, 3, 6), 1, 1)])
def test_to_hyperspy_calibrates_every_axis(shape, nsig, sig):
    pytest.importorskip("hyperspy")
    names = ["scan_y", "scan_x", "ky", "kx"][-len(shape):] if nsig is None else ["y", "x", "E"]
    axes = tuple(Axis(n, 0.1 * (i + 1), "Å" if i < 2 else "1/Å", -0.5 * i) for i, n in enumerate(names))
    m = Measurement(np.random.default_rng(1).random(shape), axes,
                    {"energy": 300e3, "semi_angle": 20.0, "title": "t", "quantity": "intensity", "units": "counts"},
                    signal_ndim=nsig)
    s = m.to_hyperspy()
    assert s.axes_manager.signal_dimension == sig and s.axes_manager.navigation_dimension == len(shape) - sig
    for a, hs_axis in zip(axes, sorted(s.axes_manager._axes, key=lambda x: x.index_in_array)):
        assert (hs_axis.name, hs_axis.scale, hs_axis.offset, hs_axis.units) == (a.name, a.sampling, a.offset, a.units)
    assert s.metadata.General.title == "t" and s.metadata.Signal.quantity == "intensity (counts)"
    assert s.metadata.Acquisition_instrument.TEM.beam_energy == pytest.approx(300.0)
    assert s.original_metadata.energy.units == "eV"
    back = Measurement.from_hyperspy(s)
    assert back.axes == m.axes and back.n_signal == sig and np.array_equal(back.numpy(), m.numpy())
    assert back.metadata["energy"] == {"value": 300e3, "units": "eV"} and back.metadata["quantity"] == "intensity"


def test_hyperspy_lazy_and_foreign_signals():
    hs = pytest.importorskip("hyperspy.api")
    da = pytest.importorskip("dask.array")
    m = Measurement(da.zeros((4, 5, 6), chunks=2), (Axis("t"), Axis("y"), Axis("x")))
    s = m.to_hyperspy()
    assert s._lazy and type(Measurement.from_hyperspy(s).array).__module__.startswith("dask")
    s = hs.signals.Signal2D(np.zeros((2, 3, 3)))  # undefined names and units
    s.metadata.set_item("Acquisition_instrument.TEM.beam_energy", 200.0)
    b = Measurement.from_hyperspy(s)
    assert b.dims == ("axis0", "axis1", "axis2") and b.axes[0].units == "pixels"
    assert b.value("energy", "eV") == pytest.approx(200e3)
    with pytest.raises(InputTypeError, match="signal must be a HyperSpy signal"):
        Measurement.from_hyperspy(np.zeros(3))
    s = hs.signals.Signal1D(np.zeros(3))
    s.axes_manager[0].convert_to_non_uniform_axis()
    with pytest.raises(InputError, match="axis 0 .* is not uniform"):
        Measurement.from_hyperspy(s)


def test_xarray_round_trip():
    xr = pytest.importorskip("xarray")
    m = image(energy=300e3, quantity="intensity")
    d = m.to_xarray()
    assert d.dims == ("y", "x") and d["x"].attrs["units"] == "Å" and np.allclose(d["x"], [1.0, 1.25, 1.5, 1.75])
    assert d.attrs["energy"] == {"value": 300e3, "units": "eV"} and d.name == "intensity"
    back = Measurement.from_xarray(d)
    assert back.axes == m.axes and np.array_equal(back.numpy(), m.numpy())
    bad = xr.DataArray(np.zeros(3), dims=["x"], coords={"x": [0.0, 1.0, 3.0]})
    with pytest.raises(InputError, match="coordinate 'x' is not uniformly spaced"):
        Measurement.from_xarray(bad)
    assert Measurement.from_xarray(xr.DataArray(np.zeros((2, 2)), dims=["a", "b"])).axes == (Axis("a"), Axis("b"))
    with pytest.raises(InputError, match=r"Dataset with variables \['a', 'b'\]"):
        Measurement.from_xarray(xr.Dataset({"a": ("x", [1]), "b": ("x", [2])}))
    with pytest.raises(InputTypeError, match="data must be an xarray DataArray"):
        Measurement.from_xarray(np.zeros(2))
