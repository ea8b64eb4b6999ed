"""POS and EPOS files: the headerless big-endian ion lists of atom-probe tomography.

A **POS** file is a sequence of 16-byte records, four big-endian float32 per ion:
x, y, z [nm] (reconstructed position) and m/q [Da]. An **EPOS** file ("extended POS") holds
44-byte records: the same four floats, then raw time of flight [ns], standing (DC) voltage [V],
pulse voltage [V], detector hit x, y [mm] (all ``>f4``), then the number of pulses since the previous
detected event ``delta_pulse`` and the hit multiplicity ``multiplicity`` (``>i4``). In a multi-hit
event the first ion carries the multiplicity n and the following n − 1 ions carry 0 (Gault et al.,
*Atom Probe Microscopy*, Springer 2012, appendix A; checked on the APAV ``Si.epos`` export).

Reading is memory-mapped (``np.memmap``): opening a file of 10⁸ ions costs no memory until a column is
touched. Files whose size is not a whole number of records raise a ``ValueError`` naming the file,
its size and the byte offset of the trailing partial record. Writers are atomic and chunked, and a
read → write round trip reproduces the file byte for byte.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path

POS_DTYPE = np.dtype([("x", ">f4"), ("y", ">f4"), ("z", ">f4"), ("mass", ">f4")])
EPOS_DTYPE = np.dtype(
    [
        ("x", ">f4"), ("y", ">f4"), ("z", ">f4"), ("mass", ">f4"), ("tof", ">f4"),
        ("v_dc", ">f4"), ("v_pulse", ">f4"), ("x_det", ">f4"), ("y_det", ">f4"),
        ("delta_pulse", ">i4"), ("multiplicity", ">i4"),
    ]
)
#: units of every field, for display and metadata
UNITS = {
    "x": "nm", "y": "nm", "z": "nm", "mass": "Da", "tof": "ns", "v_dc": "V", "v_pulse": "V",
    "x_det": "mm", "y_det": "mm", "delta_pulse": "pulses", "multiplicity": "ions",
}
_CHUNK = 1 << 20  # records per write chunk (bounded memory for 10⁸-ion files)


def _open_records(path, dtype: np.dtype, kind: str, memmap: bool):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file {str(path)!r} does not exist")
    size = os.path.getsize(path)
    rec = dtype.itemsize
    if size % rec:
        n = size // rec
        raise ValueError(
            f"{kind} file {str(path)!r} has {size} bytes, not a multiple of the {rec}-byte record: "
            f"truncated or mis-sized, trailing partial record of {size - n * rec} bytes starts at byte "
            f"offset {n * rec} (after {n} whole records)"
        )
    if size == 0:
        return np.zeros(0, dtype)
    if memmap:
        return np.memmap(path, dtype=dtype, mode="r")
    return np.fromfile(path, dtype=dtype)


def read_pos(path, memmap: bool = True) -> np.ndarray:
    """Read a POS file.

    Args:
        path: file path.
        memmap: map the file instead of loading it (default; constant memory for any size).

    Returns:
        Structured array (read-only memmap when ``memmap``) with big-endian float32 fields
        ``x``, ``y``, ``z`` [nm] and ``mass`` [Da], one record per ion.

    Raises:
        ValueError: the size is not a multiple of 16 bytes (message names file and byte offset).
    """
    return _open_records(path, POS_DTYPE, "POS", memmap)


def read_epos(path, memmap: bool = True) -> np.ndarray:
    """Read an EPOS file.

    Args:
        path: file path.
        memmap: map the file instead of loading it.

    Returns:
        Structured array with fields ``x, y, z`` [nm], ``mass`` [Da], ``tof`` [ns], ``v_dc``,
        ``v_pulse`` [V], ``x_det, y_det`` [mm] (``>f4``), ``delta_pulse`` [pulses] and
        ``multiplicity`` [ions] (``>i4``).

    Raises:
        ValueError: the size is not a multiple of 44 bytes (message names file and byte offset).
    """
    return _open_records(path, EPOS_DTYPE, "EPOS", memmap)


def _records_from(data, dtype: np.dtype, kind: str) -> tuple[np.ndarray | dict, int]:
    """Accept a structured array or a mapping of columns; return (source, n)."""
    names = dtype.names
    if isinstance(data, np.ndarray) and data.dtype.names is not None:
        missing = [n for n in names if n not in data.dtype.names]
        if missing:
            raise ValueError(f"{kind} data lacks fields {missing}; expected {list(names)}")
        return data, len(data)
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"{kind} data lacks columns {missing}; expected {list(names)}")
        lens = {n: np.shape(data[n]) for n in names}
        n0 = lens[names[0]]
        if any(s != n0 or len(s) != 1 for s in lens.values()):
            raise ValueError(f"{kind} columns must be 1-D and of equal length, got shapes {lens}")
        return data, n0[0]
    raise TypeError(f"{kind} data must be a structured array or a dict of columns, got {type(data).__name__}")


def _write_records(path, data, dtype: np.dtype, kind: str) -> Path:
    src, n = _records_from(data, dtype, kind)
    for name in dtype.names:
        col = np.asarray(src[name][: min(n, 4096)])
        if np.issubdtype(dtype[name], np.integer) and not np.issubdtype(col.dtype, np.integer):
            raise TypeError(f"{kind} column {name!r} must be integer, got {col.dtype}")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            for start in range(0, n, _CHUNK):
                stop = min(n, start + _CHUNK)
                block = np.empty(stop - start, dtype)
                for name in dtype.names:
                    block[name] = np.asarray(src[name][start:stop])
                block.tofile(fh)
    return Path(path)


def write_pos(path, data) -> Path:
    """Write a POS file atomically.

    Args:
        path: target path.
        data: structured array or dict with columns ``x, y, z`` [nm] and ``mass`` [Da].

    Returns:
        The path written.
    """
    return _write_records(path, data, POS_DTYPE, "POS")


def write_epos(path, data) -> Path:
    """Write an EPOS file atomically (fields as in :func:`read_epos`).

    Args:
        path: target path.
        data: structured array or dict with all eleven EPOS columns.

    Returns:
        The path written.
    """
    return _write_records(path, data, EPOS_DTYPE, "EPOS")


def multi_hit_events(multiplicity) -> np.ndarray:
    """Event index of every ion from the EPOS multiplicity column.

    Args:
        multiplicity: per-ion multiplicity (n on the first ion of an n-hit event, 0 on the others).

    Returns:
        int64 array: the event index each ion belongs to.

    Raises:
        ValueError: the first ion has multiplicity 0 or the column is inconsistent (a run of
            zeros longer than announced).
    """
    m = np.asarray(multiplicity).astype(np.int64)
    if m.size == 0:
        return np.zeros(0, np.int64)
    if m[0] == 0:
        raise ValueError("multiplicity[0] is 0: an event must start with its multiplicity n ≥ 1")
    starts = m > 0
    events = np.cumsum(starts) - 1
    count = np.bincount(events)
    if np.any(count != m[starts]):
        bad = int(np.flatnonzero(count != m[starts])[0])
        raise ValueError(
            f"multiplicity column inconsistent at event {bad}: announced {int(m[starts][bad])} ions, "
            f"found {int(count[bad])}"
        )
    return events
