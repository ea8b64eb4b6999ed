import pytest

from jaxem.io import atomic_path, atomic_write_text
from jaxem.io.atomic import atomic_write_bytes


def test_text_and_bytes(tmp_path):
    p = atomic_write_text(tmp_path / "a" / "b.txt", "hello")
    assert p.read_text() == "hello"
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new"
    assert sorted(x.name for x in p.parent.iterdir()) == ["b.txt"]  # no temporaries left


def test_directory_swap_and_crash(tmp_path):
    target = tmp_path / "store.zarr"
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "x").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_path(target, is_dir=True) as tmp:
            (tmp / "x").write_text("half")
            raise RuntimeError("crash")
    assert (target / "x").read_text() == "1"  # the complete old result survives
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "y").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.zarr"]
