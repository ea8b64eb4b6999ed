import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from jaxem import Axis, Grid, Measurement
from jaxem.beam import Beam
from jaxem.measurement import real_space_axes, reciprocal_axes_centered


def test_axes_values_extent_and_show():
    m = Measurement(np.arange(12.0).reshape(3, 4), (Axis("y", 0.5, "Å"), Axis("x", 0.25, "Å", 1.0)))
    assert np.allclose(m.axes[1].values(4), [1.0, 1.25, 1.5, 1.75])
    assert m.extent() == pytest.approx((0.875, 1.875, 1.25, -0.25))
    assert m.show(log=True) is not None
    assert Measurement(np.arange(5.0), (Axis("t", 2.0, "fs"),)).show() is not None
    with pytest.raises(ValueError, match="1D or 2D"):
        Measurement(np.zeros((2, 2, 2)), (Axis("a"), Axis("b"), Axis("c"))).show()


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


def test_with_array_merges_metadata():
    m = Measurement(np.zeros(2), (Axis("x"),), {"a": 1})
    n = m.with_array(np.ones(2), b=2)
    assert n.metadata == {"a": 1, "b": 2} and np.all(n.numpy() == 1)
