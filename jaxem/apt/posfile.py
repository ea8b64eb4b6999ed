"""POS and EPOS files: the headerless big-endian ion lists of atom-probe tomography.

A **POS** file is a sequence of 16-byte records, four big-endian float32 per ion:
x, y, z [nm] (reconstructed position) and m/q [Da]. An **EPOS** file ("extended POS") holds
44-byte records: the same four floats, then raw time of flight [ns], standing (DC) voltage [V],
pulse voltage [V], detector hit x, y [mm] (all ``>f4``), then the number of pulses since the previous
detected event ``delta_pulse`` and the hit multiplicity ``multiplicity`` (``>i4``). In a multi-hit
event the first ion carries the multiplicity n and the following n − 1 ions carry 0 (Gault et al.,
*Atom Probe Microscopy*, Springer 2012, appendix A; checked on the APAV ``Si.epos`` export).

Reading is memory-mapped (``np.memmap``): opening a file of 10⁸ ions costs no memory until a column is
touched. A damaged file is a :class:`~jaxem.validate.FileFormatError` naming it: an empty file (0
ions), a size that is not a whole number of records (with the byte offset of the trailing partial
record), and — unless ``check_finite=False`` — NaN/inf masses, reported with the number of ions
and the first one (the check reads the mass column once in 16 MiB blocks, bounded memory; the
positions are left to their consumers, so that a reader touching only some columns pays for
nothing else). Writers are atomic and chunked, and a read → write round trip reproduces the file byte for
byte (read with ``check_finite=False`` to copy a file whatever its values).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import validate
from ..io.atomic import atomic_path
from ..validate import FileFormatError

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


#: the columns whose values must be finite when a file is read (mass-to-charge [Da])
FINITE_COLUMNS = ("mass",)
_SCAN_BYTES = 16 << 20  # block size of the finiteness scan


def nonfinite_columns(records, columns=FINITE_COLUMNS) -> dict:
    """{column: (number of NaN/inf records, index of the first)} of a (memory-mapped) record array,
    scanned in blocks of 16 MiB (bounded memory; the pages it maps stay mapped for the caller). For
    an array without fields, ``columns`` holds the one label to report it under."""
    block = max(1, _SCAN_BYTES // max(1, records.dtype.itemsize))
    found = {}
    for start in range(0, len(records), block):
        recs = records[start:start + block]
        for c in columns:
            col = recs[c] if records.dtype.names else recs
            bad = ~np.isfinite(col)
            if bad.ndim > 1:
                bad = bad.reshape(len(col), -1).any(axis=1)
            n = int(np.count_nonzero(bad))
            if n:
                k, first = found.get(c, (0, None))
                found[c] = (k + n, first if first is not None else start + int(np.argmax(bad)))
    return found


def report_nonfinite(path, kind: str, found: dict, units: dict) -> None:
    """Raise :class:`FileFormatError` listing, per column, how many ions are NaN/inf and the first."""
    if not found:
        return
    parts = ", ".join(f"{c} [{units.get(c, '')}]: {n} ion(s) (first: ion {i})" for c, (n, i) in found.items())
    raise FileFormatError(path, f"{kind} file holds NaN/inf values — {parts}; a damaged file or a failed "
                                f"reconstruction. Pass check_finite=False to read it anyway (e.g. to copy it)")


def _open_records(path, dtype: np.dtype, kind: str, memmap: bool, check_finite: bool = True):
    path = validate.path(path, "path", kind="file")
    size = os.path.getsize(path)
    rec = dtype.itemsize
    if size == 0:
        raise FileFormatError(path, f"{kind} file is empty (0 bytes): expected {rec}-byte records, one per "
                                    f"ion")
    if size % rec:
        n = size // rec
        raise FileFormatError(
            path, f"{kind} file has {size} bytes, not a multiple of the {rec}-byte record: truncated or "
                  f"mis-sized, trailing partial record of {size - n * rec} bytes starts at byte offset "
                  f"{n * rec} (after {n} whole records)")
    with validate.reading(path, f"{kind} file"):
        records = np.memmap(path, dtype=dtype, mode="r") if memmap else np.fromfile(path, dtype=dtype)
        if check_finite:
            report_nonfinite(path, kind, nonfinite_columns(records), UNITS)
    return records


def read_pos(path, memmap: bool = True, check_finite: bool = True) -> np.ndarray:
    """Read a POS file.

    Args:
        path: file path.
        memmap: map the file instead of loading it (default; constant memory for any size).
        check_finite: reject NaN/inf masses (reads the mass column once).

    Returns:
        Structured array (read-only memmap when ``memmap``) with big-endian float32 fields
        ``x``, ``y``, ``z`` [nm] and ``mass`` [Da], one record per ion.

    Raises:
        FileFormatError: empty file, a size that is not a multiple of 16 bytes (names the byte
            offset), or NaN/inf masses (names the count and the first ion).
    """
    return _open_records(path, POS_DTYPE, "POS", memmap, check_finite)


def read_epos(path, memmap: bool = True, check_finite: bool = True) -> np.ndarray:
    """Read an EPOS file.

    Args:
        path: file path.
        memmap: map the file instead of loading it.
        check_finite: reject NaN/inf masses (reads the mass column once).

    Returns:
        Structured array with fields ``x, y, z`` [nm], ``mass`` [Da], ``tof`` [ns], ``v_dc``,
        ``v_pulse`` [V], ``x_det, y_det`` [mm] (``>f4``), ``delta_pulse`` [pulses] and
        ``multiplicity`` [ions] (``>i4``).

    Raises:
        FileFormatError: empty file, a size that is not a multiple of 44 bytes (names the byte
            offset), or NaN/inf masses (names the count and the first ion).
    """
    return _open_records(path, EPOS_DTYPE, "EPOS", memmap, check_finite)


def _records_from(data, dtype: np.dtype, kind: str) -> tuple[np.ndarray | dict, int]:
    """Accept a structured array or a mapping of columns; return (source, n)."""
    names = dtype.names
    if isinstance(data, np.ndarray) and data.dtype.names is not None:
        missing = [n for n in names if n not in data.dtype.names]
        if missing:
            raise validate.InputError(f"data lacks the {kind} fields {missing}; expected {list(names)}")
        return data, len(data)
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            raise validate.InputError(f"data lacks the {kind} columns {missing}; expected {list(names)}")
        lens = {n: np.shape(data[n]) for n in names}
        n0 = lens[names[0]]
        if any(s != n0 or len(s) != 1 for s in lens.values()):
            raise validate.InputError(f"data: {kind} columns must be 1-D and of equal length, got shapes {lens}")
        return data, n0[0]
    raise validate.InputTypeError(f"data must be a structured array or a dict of {kind} columns, got "
                                  f"{type(data).__name__}")


def _write_records(path, data, dtype: np.dtype, kind: str) -> Path:
    src, n = _records_from(data, dtype, kind)
    if n == 0:
        raise validate.InputError(f"data holds 0 ions: a {kind} file cannot represent an empty ion list "
                                  f"(an empty {kind} file is read as damaged)")
    for name in dtype.names:
        col = np.asarray(src[name][: min(n, 4096)])
        if np.issubdtype(dtype[name], np.integer) and not np.issubdtype(col.dtype, np.integer):
            raise validate.InputTypeError(f"data: {kind} column {name!r} must be integer, got {col.dtype}")
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
    m = np.asarray(validate.array(multiplicity, "multiplicity", ndim=1, kind="real", nonnegative=True, min_size=0))
    if m.dtype.kind == "f" and np.any(m != np.round(m)):
        raise validate.InputError("multiplicity must hold whole numbers (ions per event)")
    m = m.astype(np.int64)
    if m.size == 0:
        return np.zeros(0, np.int64)
    if m[0] == 0:
        raise validate.InputError("multiplicity[0] is 0: an event must start with its multiplicity n ≥ 1")
    starts = m > 0
    events = np.cumsum(starts) - 1
    count = np.bincount(events)
    if np.any(count != m[starts]):
        bad = int(np.flatnonzero(count != m[starts])[0])
        raise validate.InputError(
            f"multiplicity column inconsistent at event {bad}: announced {int(m[starts][bad])} ions, "
            f"found {int(count[bad])}"
        )
    return events
