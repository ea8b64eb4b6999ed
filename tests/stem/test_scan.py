import numpy as np
import pytest

from jaxem.stem import GridScan
from jaxem.validate import InputError, InputTypeError


def test_positions_sampling_and_axes():
    s = GridScan.create((1.0, 2.0), (3.0, 5.0), gpts=(2, 3))
    assert s.sampling == pytest.approx((1.0, 1.0))
    p = s.positions()
    assert p.shape == (2, 3, 2)
    np.testing.assert_allclose(p[1, 2], [2.0, 4.0])
    ay, ax = s.axes()
    assert (ay.name, ay.units, ay.offset, ax.sampling) == ("scan_y", "Å", 1.0, 1.0)
    assert s.n_positions == 6
    assert GridScan.create((0, 0), (1.0, 2.0), sampling=0.5).gpts == (2, 4)
    assert GridScan.create(0.0, "1 nm", gpts=2).end == (10.0, 10.0)  # strings with units are parsed
    assert hash(s) == hash(GridScan((1.0, 2.0), (3.0, 5.0), (2, 3)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(end=(1.0, 1.0), sampling=0.0), "scan sampling"),
    (dict(end=(1.0, 1.0), sampling=-1.0), "scan sampling"),
    (dict(end=(1.0, 1.0), sampling=float("nan")), "scan sampling"),
    (dict(end=(1.0, float("inf")), gpts=2), "scan end"),
    (dict(end=(1.0, -1.0), gpts=2), "scan end"),
    (dict(end=(0.0, 1.0), gpts=2), "scan end"),
    (dict(end=(1.0, 1.0), gpts=0), "scan gpts"),
    (dict(end=(1.0, 1.0), gpts=(2, -1)), "scan gpts"),
    (dict(end=(1.0, 1.0)), "exactly one of sampling"),
    (dict(end=(1.0, 1.0), gpts=2, sampling=0.1), "exactly one of sampling"),
    (dict(end=None, gpts=2), "end"),
    (dict(start=(float("nan"), 0.0), end=(1.0, 1.0), gpts=2), "scan start"),
])
def test_bad_scans_name_the_argument(kwargs, match):
    with pytest.raises(InputError, match=match):
        GridScan.create(**kwargs)


def test_direct_construction_is_validated_too():
    with pytest.raises(InputError, match="scan end"):
        GridScan((0.0, 0.0), (1.0, 0.0), (2, 2))
    with pytest.raises(InputTypeError, match="scan gpts"):
        GridScan((0.0, 0.0), (1.0, 1.0), (2.5, 2))


def test_check_inside():
    s = GridScan.create((0, 0), (5.0, 1.0), gpts=2)
    s.check_inside((5.0, 1.0))
    with pytest.raises(InputError, match="outside the cell"):
        s.check_inside((4.0, 4.0))
    with pytest.raises(InputError, match="outside the cell"):
        GridScan.create((-1.0, 0), (1.0, 1.0), gpts=2).check_inside((4.0, 4.0))
