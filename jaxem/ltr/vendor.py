"""Electron-counted vendor files (via RosettaSciIO) into sparse 5D event data.

Counting detectors (Quantum Detectors Merlin ``.mib``, DECTRIS ARINA/``.h5`` master files, …) write
one integer count frame per trigger. RosettaSciIO (``rsciio``) reads the frames; here they are
turned into :class:`~jaxem.ltr.events.EventData`. An LTR-STEM acquisition records
``frames_per_position`` consecutive frames at every scan position, so the flattened frame sequence is
reshaped to (scan_y, scan_x, frames) in acquisition order (position-major, frames fastest).
Non-integer frames (integrating detectors) are electron-counted with
:func:`jaxem.ltr.events.count_electrons` when a ``threshold`` is given, and refused otherwise.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dose import DoseSchedule
from .events import EventData, count_electrons, from_dense_counts

_READERS = {".mib": "rsciio.quantumdetector", ".hdr": "rsciio.quantumdetector", ".h5": "rsciio.arina",
            ".blo": "rsciio.blockfile", ".emd": "rsciio.emd"}


def read_frames(path, reader: str | None = None) -> np.ndarray:
    """The frames of a vendor file as an array (…navigation, ky, kx) via RosettaSciIO.

    Args:
        path: the file. reader: RosettaSciIO module name (default from the suffix, e.g. ``.mib``).
    """
    import importlib

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    mod = reader or _READERS.get(path.suffix.lower())
    if mod is None:
        raise ValueError(f"no RosettaSciIO reader known for {path.suffix!r}; pass reader='rsciio.<module>' "
                         f"(known suffixes: {sorted(_READERS)})")
    signals = importlib.import_module(mod).file_reader(str(path))
    data = [s["data"] for s in signals if np.ndim(s["data"]) >= 2]
    if not data:
        raise ValueError(f"{path} holds no 2D frames")
    return np.asarray(max(data, key=np.size))


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
    if f.ndim < 3:
        raise ValueError(f"frames must have a navigation axis and (ky, kx), got shape {f.shape}")
    det = f.shape[-2:]
    nav = f.shape[:-2]
    n = int(np.prod(nav))
    T = int(frames_per_position)
    if T < 1 or n % T:
        raise ValueError(f"frames_per_position = {frames_per_position} must divide the {n} frames")
    n_pos = n // T
    if scan_shape is None:
        scan_shape = nav if (T == 1 and len(nav) == 2) else (1, n_pos)
    scan_shape = tuple(int(s) for s in scan_shape)
    if int(np.prod(scan_shape)) != n_pos:
        raise ValueError(f"scan_shape {scan_shape} holds {int(np.prod(scan_shape))} positions, the file "
                         f"{n_pos} (= {n} frames / {T} per position)")
    f5 = f.reshape(*scan_shape, T, *det)
    if np.issubdtype(f5.dtype, np.integer) or (np.all(np.isfinite(f5)) and np.all(f5 == np.round(f5))):
        if threshold is not None:
            return count_electrons(f5, threshold, dose=dose, **kwargs)
        return from_dense_counts(f5.astype(np.int64), dose, **kwargs)
    if threshold is None:
        raise ValueError("frames are not integer counts: pass threshold= to electron-count them")
    return count_electrons(f5, threshold, dose=dose, **kwargs)


def read_counted(path, dose: DoseSchedule | None, frames_per_position: int = 1, scan_shape=None,
                 threshold: float | None = None, reader: str | None = None, **kwargs) -> EventData:
    """Read a counting-detector file with RosettaSciIO and return sparse events (see
    :func:`events_from_frames`)."""
    return events_from_frames(read_frames(path, reader), dose, frames_per_position, scan_shape, threshold,
                              **kwargs)
