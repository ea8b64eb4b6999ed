"""The one on-disk layout: formats by suffix, chunk policy, metadata trees, atomic writer, strict headers."""
import json

import numpy as np
import pytest

from jaxem.io import layout
from jaxem.measurement import Axis
from jaxem.validate import FileFormatError, InputError, InputTypeError


def test_format_of_suffixes_and_refusals(tmp_path):
    assert layout.format_of(tmp_path / "a.zarr") == layout.Format("zarr", 3)
    assert layout.format_of(tmp_path / "a.ZSPY") == layout.Format("zarr", 2)
    assert layout.format_of(tmp_path / "a.hspy").kind == "hdf5" and not layout.format_of(tmp_path / "a.h5").is_dir
    with pytest.raises(InputError, match="path .*a.emd.*does not write EMD"):
        layout.format_of(tmp_path / "a.emd")
    with pytest.raises(InputError, match=r"out .*suffix '\.zar'.*did you mean '\.zarr'"):
        layout.format_of(tmp_path / "a.zar", "out")


@pytest.mark.parametrize("shape,itemsize,target,expected", [
    ((8, 8, 64, 64), 4, 2**20, (8, 8, 64, 64)),     # fits: one chunk
    ((64, 64, 128, 128), 4, 2**20, (1, 16, 128, 128)),  # frames whole, the scan split (16 × 64 kB)
    ((3, 2**22), 8, 2**20, (1, 2**17)),                # a row larger than the target: split the row
    ((0, 5), 4, 100, (1, 5)),                          # empty axis → chunk of 1
])
def test_default_chunks(shape, itemsize, target, expected):
    chunks = layout.default_chunks(shape, itemsize, target)
    assert chunks == expected
    assert int(np.prod(chunks)) * itemsize <= max(target, itemsize * chunks[-1])


def test_check_chunks_errors():
    assert layout.check_chunks([2, 3], (4, 5)) == (2, 3)
    with pytest.raises(InputTypeError, match="chunks must be a tuple of ints"):
        layout.check_chunks(3, (4,))
    with pytest.raises(InputError, match=r"chunks must have one entry per axis \(2\)"):
        layout.check_chunks((1,), (4, 5))
    with pytest.raises(InputError, match=r"chunks\[1\]"):
        layout.check_chunks((1, 0), (4, 5))


@pytest.mark.parametrize("suffix", [".zarr", ".zspy", ".hspy"])
def test_metadata_tree_round_trip(tmp_path, suffix):
    tree = {"a": 1, "b": 2.5, "s": "x", "t": True, "none": None, "empty": [], "strs": ["p", "q"],
            "nums": [1.0, 2.0, 3.0], "mixed": [1, "two", {"three": 3}], "sub": {"deep": {"k": "v"}}}
    fmt = layout.format_of(tmp_path / f"t{suffix}")
    if fmt.kind == "zarr":
        import zarr

        g = zarr.open_group(str(tmp_path / f"t{suffix}"), mode="w", zarr_format=fmt.zarr_format)
        layout._write_tree(g, tree, hdf5=False)
        back = layout._read_tree(g, lambda o: isinstance(o, zarr.Group))
    else:
        import h5py

        with h5py.File(tmp_path / f"t{suffix}", "w") as f:
            layout._write_tree(f, tree, hdf5=True)
        with h5py.File(tmp_path / f"t{suffix}", "r") as f:
            back = layout._read_tree(f, lambda o: isinstance(o, h5py.Group))
    assert back == tree


def test_writer_is_atomic_and_marks_complete(tmp_path):
    p = tmp_path / "m.zarr"
    with pytest.raises(RuntimeError, match="closed without finish"):
        with layout.writer(p) as w:
            w.create((2, 3), "f4", ("y", "x"))
    assert not p.exists()
    with pytest.raises(InputError, match=r"dims \('y',\) do not match the shape \(2, 3\)"):
        with layout.writer(p) as w:
            w.create((2, 3), "f4", ("y",))
    with pytest.raises(InputTypeError, match="dtype <U1"):
        with layout.writer(p) as w:
            w.create((2,), "U1", ("y",))
    with layout.writer(p) as w:
        d = w.create((2, 3), "f4", ("y", "x"))
        d[...] = np.arange(6, dtype="f4").reshape(2, 3)
        w.finish((Axis("y", 1.0, "Å"), Axis("x", 0.5, "Å")), {"quantity": "intensity"})
    src = layout.open_source(p, layout.format_of(p))
    g, data, axes, md, nsig = layout.read_header(src, None)
    assert axes[1].sampling == 0.5 and md["quantity"] == "intensity" and np.asarray(data[...]).sum() == 15
    src.close()


def test_incomplete_and_newer_layouts_are_refused(tmp_path):
    import zarr

    p = tmp_path / "m.zarr"
    with layout.writer(p) as w:
        w.create((2,), "f4", ("x",))[...] = 1.0
        w.finish((Axis("x", 1.0, "Å"),), {})
    root = zarr.open_group(str(p), mode="r+")
    marker = dict(root.attrs["jaxem"])
    root.attrs["jaxem"] = {**marker, "complete": False}
    with pytest.raises(FileFormatError, match="incomplete: the writer never marked it complete"):
        layout.open_source(p, layout.format_of(p))
    root.attrs["jaxem"] = {**marker, "layout": layout.LAYOUT_VERSION + 1}
    with pytest.raises(FileFormatError, match="upgrade jaxem"):
        layout.open_source(p, layout.format_of(p))
    root.attrs["jaxem"] = "not json"
    with pytest.raises(FileFormatError):
        layout.open_source(p, layout.format_of(p))
    root.attrs["jaxem"] = json.dumps(marker)  # a JSON string is accepted (HDF5 writes it that way)
    layout.open_source(p, layout.format_of(p)).close()
