"""HDF5 size checks: bytes beyond the end of the file and never-written chunks are errors."""
import os

import h5py
import numpy as np
import pytest

from jaxem.io.hdf5_checks import check_dataset
from jaxem.validate import FileFormatError


def _check(path, name="d", **kw):
    with h5py.File(path, "r") as f:
        check_dataset(f[name], path, name, **kw)


def test_complete_contiguous_chunked_and_compact_pass(tmp_path):
    p = tmp_path / "ok.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("d", data=np.arange(1000.0))
        f.create_dataset("c", data=np.arange(1000.0), chunks=(100,))
        f.create_dataset("e", shape=(0,), dtype="f8")
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        h5py.h5d.create(f.id, b"k", h5py.h5t.NATIVE_DOUBLE, h5py.h5s.create_simple((4,)), dcpl=dcpl)
    for name in "dcek":
        _check(p, name)


@pytest.mark.parametrize("chunks", [None, (100,)])
def test_bytes_beyond_the_end_of_the_file_are_an_error(tmp_path, chunks):
    """HDF5 refuses a file cut below its recorded end of file; one whose superblock was written
    before the data (an interrupted writer) opens, and only the dataset extent reveals it. Modelled
    here by checking the dataset against a shorter copy of the file."""
    import shutil

    p, short = tmp_path / "t.h5", tmp_path / "short.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("d", data=np.random.default_rng(0).random(5000), chunks=chunks)
    shutil.copy(p, short)
    os.truncate(short, os.path.getsize(p) - 4000)
    with h5py.File(p, "r") as f:
        check_dataset(f["d"], p, "d")
        with pytest.raises(FileFormatError, match=r"short\.h5.*truncated: dataset 'd'"):
            check_dataset(f["d"], short, "d")


def test_unwritten_storage_is_an_error_unless_partial_allowed(tmp_path):
    p = tmp_path / "u.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("d", shape=(1000,), dtype="f8")  # contiguous, never written
        c = f.create_dataset("c", shape=(1000,), dtype="f8", chunks=(100,))
        c[:300] = 1.0  # 3 of 10 chunks
    with pytest.raises(FileFormatError, match="dataset 'd' has no stored data"):
        _check(p, "d")
    with pytest.raises(FileFormatError, match="dataset 'c' is incomplete: 7 of its 10 chunks are missing"):
        _check(p, "c")
    _check(p, "d", allow_partial=True)
    _check(p, "c", allow_partial=True)
