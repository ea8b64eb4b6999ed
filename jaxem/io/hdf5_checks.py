"""Size checks for HDF5 datasets: a dataset whose bytes lie beyond the end of the file, or whose
chunks were never written, is an error, never fill values."""
from __future__ import annotations

import math
import os

from ..validate import FileFormatError


def check_dataset(ds, path, name: str = "data", allow_partial: bool = False) -> None:
    """Raise :class:`~jaxem.validate.FileFormatError` unless every byte of the h5py dataset ``ds`` is
    stored inside the file ``path``.

    Contiguous datasets: storage allocated and ``offset + size ≤ file size``. Chunked datasets: every
    chunk present (HDF5 returns the fill value for chunks that were never written; skipped with
    ``allow_partial=True``) and each chunk's byte range inside the file.
    """
    import h5py

    if ds.size == 0:
        return
    file_size = os.path.getsize(path)
    dsid = ds.id
    if ds.chunks is None:
        if dsid.get_create_plist().get_layout() == h5py.h5d.COMPACT:
            return
        offset = dsid.get_offset()
        if offset is None:
            if not allow_partial:
                raise FileFormatError(path, f"dataset {name!r} has no stored data (interrupted write?); pass "
                                            f"allow_partial=True to read fill values")
            return
        end = offset + dsid.get_storage_size()
        if end > file_size:
            raise FileFormatError(path, f"truncated: dataset {name!r} needs {end} bytes, the file has "
                                        f"{file_size}")
        return
    expected = math.prod(-(-s // c) for s, c in zip(ds.shape, ds.chunks))
    found = dsid.get_num_chunks()
    if found < expected and not allow_partial:
        raise FileFormatError(path, f"dataset {name!r} is incomplete: {expected - found} of its {expected} chunks "
                                    f"are missing (interrupted write or damaged file); pass allow_partial=True "
                                    f"to read the rest with fill values")
    end = 0
    if hasattr(dsid, "chunk_iter"):
        def visit(info):
            nonlocal end
            end = max(end, info.byte_offset + info.size)

        dsid.chunk_iter(visit)
    else:  # pragma: no cover - old HDF5
        for i in range(found):
            info = dsid.get_chunk_info(i)
            end = max(end, info.byte_offset + info.size)
    if end > file_size:
        raise FileFormatError(path, f"truncated: dataset {name!r} has chunks up to byte {end}, the file has "
                                    f"{file_size}")
