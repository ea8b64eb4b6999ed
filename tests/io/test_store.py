import numpy as np
import pytest

from jaxem import Axis, Measurement
from jaxem.io import atomic_path, load, save


@pytest.mark.parametrize("suffix", [".zarr", ".h5"])
def test_round_trip_keeps_units(tmp_path, suffix):
    m = Measurement(np.arange(12.0).reshape(3, 4), (Axis("y", 0.1, "Å"), Axis("x", 0.2, "Å", 1.0)),
                    {"energy": 300e3, "quantity": "intensity"})
    path = save(m, tmp_path / f"m{suffix}")
    back = load(path)
    assert np.array_equal(back.numpy(), m.numpy())
    assert back.axes == m.axes
    assert back.metadata["energy"] == 300e3
    # overwrite in place works and is atomic
    save(m.with_array(m.numpy() * 2), path)
    assert np.array_equal(load(path).numpy(), m.numpy() * 2)


def test_atomic_write_leaves_nothing_on_crash(tmp_path):
    target = tmp_path / "result.h5"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("crash")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_suffix(tmp_path):
    m = Measurement(np.zeros(2), (Axis("x"),))
    with pytest.raises(ValueError, match="zarr"):
        save(m, tmp_path / "x.txt")


def test_axes_must_match():
    with pytest.raises(ValueError, match="Axis"):
        Measurement(np.zeros((2, 2)), (Axis("x"),))
