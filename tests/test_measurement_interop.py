"""The HyperSpy/xarray conversions live in ``jaxem.measurement_interop``; ``jaxem.measurement`` keeps the
public names and methods (the split must not change what users import or what they get back)."""
from __future__ import annotations

import numpy as np
import pytest

import jaxem.measurement as jm
from jaxem import measurement_interop as mi
from jaxem.measurement import Axis, Measurement, batch_axes, from_signal_dict, quantity

xr = pytest.importorskip("xarray")


def _m():
    a = np.arange(24.0).reshape(2, 3, 4)
    axes = (Axis("thickness", 3.9, "Å", 3.9), Axis("y", 0.5, "Å", -1.0), Axis("x", 0.25, "Å", 2.0))
    return Measurement(a, axes, {"energy": quantity(300e3, "eV"), "semi_angle": 21.4, "quantity": "intensity",
                                 "units": "a.u.", "title": "series"})


def test_public_names_still_import_from_measurement():
    for name in jm.__all__:
        assert hasattr(jm, name), name
    assert set(mi.__all__) >= {"to_xarray", "from_xarray", "to_hyperspy", "from_hyperspy", "from_signal_dict"}


def test_methods_and_module_functions_agree():
    m = _m()
    assert m.hyperspy_axes() == mi.hyperspy_axes(m)
    md = m.hyperspy_metadata()
    assert md == mi.hyperspy_metadata(m)
    assert md["Acquisition_instrument"]["TEM"] == {"beam_energy": 300.0, "convergence_angle": 21.4}
    assert md["Signal"]["quantity"] == "intensity (a.u.)"
    x = m.to_xarray()
    xr.testing.assert_identical(x, mi.to_xarray(m))
    back = Measurement.from_xarray(x)
    assert back.axes == m.axes and back.metadata["title"] == "series"
    np.testing.assert_array_equal(back.array, m.array)


def test_signal_dict_round_trip_through_the_re_exported_name():
    m = _m()
    d = m.hyperspy_dict()
    back = from_signal_dict(d["data"], d["axes"], d["metadata"], d["original_metadata"], m.n_signal)
    assert back.axes == m.axes and back.n_signal == 2
    assert back.value("semi_angle", "mrad") == pytest.approx(21.4)
    assert back.beam().energy == pytest.approx(300e3)


def test_batch_axes_next_to_axis():
    assert batch_axes(2) == (Axis("batch0"), Axis("batch1"))
    with pytest.raises(jm.validate.InputError, match="exit_axes must name the 1 leading"):
        batch_axes(1, ["a", "b"], name="exit_axes")
