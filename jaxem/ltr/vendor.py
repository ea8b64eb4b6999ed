"""Electron-counted vendor files (via RosettaSciIO) into sparse 5D event data.

Counting detectors (Quantum Detectors Merlin ``.mib``, DECTRIS ARINA/``.h5`` master files, …) write
one integer count frame per trigger. RosettaSciIO (``rsciio``) reads the frames; here they are
turned into :class:`~jaxem.ltr.events.EventData`. An LTR-STEM acquisition records
``frames_per_position`` consecutive frames at every scan position, so the flattened frame sequence is
reshaped to (scan_y, scan_x, frames) in acquisition order (position-major, frames fastest).
Non-integer frames (integrating detectors) are electron-counted with
:func:`jaxem.ltr.events.count_electrons` when a ``threshold`` is given, and refused otherwise.
Files are checked against their headers (:mod:`jaxem.io.vendor`): a truncated or damaged file is a
:class:`~jaxem.validate.FileFormatError` naming the file and the expected and found frame count or
size, never fewer frames.
"""
from __future__ import annotations

import numpy as np

from .. import validate
from ..validate import FileFormatError
from .dose import DoseSchedule
from .events import EventData, count_electrons, from_dense_counts

_READERS = {".mib": "quantumdetector", ".hdr": "quantumdetector", ".h5": "arina", ".blo": "blockfile",
            ".emd": "emd"}


def read_frames(path, reader: str | None = None) -> np.ndarray:
    """The frames of a vendor file as an array (…navigation, ky, kx) via RosettaSciIO.

    Args:
        path: the file. reader: RosettaSciIO plugin (``"quantumdetector"`` or
            ``"rsciio.quantumdetector"``; default from the suffix, e.g. ``.mib``).

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: the path cannot be read.
        FileFormatError: truncated, damaged or holding no frames (names the file, the expected and
            the found frame count or size).
    """
    from ..io.vendor import read_signals, resolve

    path, plugin = resolve(path, reader, _READERS, "RosettaSciIO frame")
    signals = read_signals(path, plugin, lazy=False)
    data = [s["data"] for s in signals if np.ndim(s["data"]) >= 2]
    if not data:
        raise FileFormatError(path, f"holds no 2D frames (array shapes {[np.shape(s['data']) for s in signals]})")
    with validate.reading(path, "frames"):
        return np.asarray(max(data, key=np.size))


@validate.typed
def events_from_frames(frames, dose: DoseSchedule | None, frames_per_position: int = 1, scan_shape=None,
                       threshold: float | None = None, **kwargs) -> EventData:
    """EventData from counted (or, with ``threshold``, raw) frames (…, ky, kx) in acquisition order.

    Args:
        frames: frames with any navigation shape; flattened in C order.
        dose: the :class:`DoseSchedule` (required).
        frames_per_position: frames recorded at each scan position (the LTR time axis).
        scan_shape: (scan_y, scan_x); default: the navigation shape when ``frames_per_position == 1``,
            else (1, n_positions).
        threshold: counting threshold [detector units] for non-integer frames.
    """
    f = np.asarray(frames)
    validate.array(f, "frames", min_ndim=3, kind="real", finite=True)
    det = f.shape[-2:]
    nav = f.shape[:-2]
    n = int(np.prod(nav))
    T = validate.integer(frames_per_position, "frames_per_position", lo=1)
    if n % T:
        raise validate.InputError(f"frames_per_position = {frames_per_position} must divide the {n} frames "
                                  f"(navigation shape {nav})")
    n_pos = n // T
    if scan_shape is None:
        scan_shape = nav if (T == 1 and len(nav) == 2) else (1, n_pos)
    scan_shape = validate.pair(scan_shape, "scan_shape", kind=int, lo=1)
    if int(np.prod(scan_shape)) != n_pos:
        raise validate.InputError(f"scan_shape {scan_shape} holds {int(np.prod(scan_shape))} positions, the "
                                  f"frames {n_pos} (= {n} frames / {T} per position)")
    if threshold is not None:
        threshold = validate.scalar(threshold, "threshold")
    f5 = f.reshape(*scan_shape, T, *det)
    if np.issubdtype(f5.dtype, np.integer) or (np.all(np.isfinite(f5)) and np.all(f5 == np.round(f5))):
        if threshold is not None:
            return count_electrons(f5, threshold, dose=dose, **kwargs)
        return from_dense_counts(f5.astype(np.int64), dose, **kwargs)
    if threshold is None:
        raise validate.InputError("frames are not integer counts: pass threshold= [detector units] to "
                                  "electron-count them")
    return count_electrons(f5, threshold, dose=dose, **kwargs)


@validate.typed
def read_counted(path, dose: DoseSchedule | None, frames_per_position: int = 1, scan_shape=None,
                 threshold: float | None = None, reader: str | None = None, **kwargs) -> EventData:
    """Read a counting-detector file with RosettaSciIO and return sparse events (see
    :func:`events_from_frames`)."""
    return events_from_frames(read_frames(path, reader), dose, frames_per_position, scan_shape, threshold,
                              **kwargs)
