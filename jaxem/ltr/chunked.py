"""Chunked and Dask processing of event data larger than memory.

Every reduction in :mod:`jaxem.ltr.reduce` walks the scan in chunks of consecutive positions. The
chunk size comes from the memory budget (:func:`jaxem.accel.batch_size`, environment variable
``JAXEM_MEMORY_BUDGET`` or a ``memory_budget=`` argument), never from a constant: a chunk's working
set is its events (int32 indices + int32 segment ids + per-event work arrays) plus its dense
per-position output. The source may be an in-memory :class:`~jaxem.ltr.events.EventData` or a lazy
:class:`~jaxem.ltr.hdf5.EventFile`, so peak memory stays bounded by the budget, not by the file.

:func:`dask_map_positions` builds the same computation as a Dask graph (one task per chunk, each a
jitted function) for clusters or multi-threaded schedulers.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .. import accel, validate
from .events import EventData

#: bytes per event in a chunk's working set (index, segment id, label/weight, scatter temporaries)
BYTES_PER_EVENT = 32


def _events_per_position(source) -> float:
    n = source.n_events if isinstance(source, EventData) else _file_events(source)
    return max(1.0, n / max(1, source.n_positions))


def _file_events(f) -> int:
    if getattr(f, "layout", "csr") == "csr":
        return f.n_events
    # stempy vlen layout: estimate from the first position
    return f.read_positions(0, 1).n_events * f.n_positions


def _source(source):
    if not (isinstance(source, EventData) or (hasattr(source, "read_positions") and hasattr(source, "n_positions"))):
        raise validate.InputTypeError(f"source must be EventData or an EventFile, got {type(source).__name__}")
    return source


def chunk_positions(source, output_bytes_per_position: int = 0, memory_budget=None) -> int:
    """Positions per chunk so that events + outputs of a chunk fit the memory budget [bytes]."""
    _source(source)
    output_bytes_per_position = validate.integer(output_bytes_per_position, "output_bytes_per_position", lo=0)
    per_pos = int(_events_per_position(source) * BYTES_PER_EVENT + output_bytes_per_position) + 1
    return accel.batch_size(per_pos, source.n_positions, memory_budget)


def iter_chunks(source, output_bytes_per_position: int = 0, memory_budget=None,
                positions_per_chunk: int | None = None) -> Iterator[tuple[int, int, EventData]]:
    """Yield ``(start, stop, events)`` for consecutive chunks of flat positions.

    Args:
        source: :class:`EventData` or :class:`~jaxem.ltr.hdf5.EventFile`.
        output_bytes_per_position: bytes of dense output per position (for the budget).
        memory_budget: memory budget [bytes or '256M']; default from :func:`jaxem.accel.memory_budget`.
        positions_per_chunk: override the budget-derived chunk size (≥ 1).
    """
    _source(source)
    n = source.n_positions
    if positions_per_chunk is not None:
        step = validate.integer(positions_per_chunk, "positions_per_chunk", lo=1)
    else:
        step = chunk_positions(source, output_bytes_per_position, memory_budget)
    for start in range(0, n, step):
        stop = min(n, start + step)
        if isinstance(source, EventData):
            yield start, stop, source.select_positions(start, stop)
        else:
            yield start, stop, source.read_positions(start, stop)


def map_positions(source, fn: Callable[[EventData], np.ndarray], output_bytes_per_position: int = 0,
                  memory_budget=None, positions_per_chunk: int | None = None) -> np.ndarray:
    """Apply ``fn(chunk) -> array[n_chunk_positions, ...]`` chunk by chunk; concatenate into the scan.

    Returns an array of shape ``(scan_y, scan_x, ...)``.
    """
    if not callable(fn):
        raise validate.InputTypeError(f"fn must be callable, got {type(fn).__name__}")
    parts = []
    for start, stop, chunk in iter_chunks(source, output_bytes_per_position, memory_budget, positions_per_chunk):
        part = np.asarray(fn(chunk))
        if part.ndim < 1 or part.shape[0] != stop - start:
            raise validate.InputError(f"fn must return one row per position of the chunk ({stop - start}), got "
                                      f"shape {part.shape}")
        parts.append(part)
    out = np.concatenate(parts, axis=0)
    return out.reshape(*source.scan_shape, *out.shape[1:])


def reduce_positions(source, fn: Callable[[EventData], np.ndarray], memory_budget=None,
                     positions_per_chunk: int | None = None) -> np.ndarray:
    """Sum ``fn(chunk)`` over chunks (for scan-integrated results such as the mean pattern)."""
    if not callable(fn):
        raise validate.InputTypeError(f"fn must be callable, got {type(fn).__name__}")
    total = None
    for _, _, chunk in iter_chunks(source, 0, memory_budget, positions_per_chunk):
        part = np.asarray(fn(chunk), dtype=np.float64)
        total = part if total is None else total + part
    return total


def dask_map_positions(path, fn: Callable[[EventData], np.ndarray], out_shape_per_position: tuple,
                       dtype=np.float32, positions_per_chunk: int | None = None, dose=None, memory_budget=None):
    """A lazy Dask array ``(scan_y, scan_x, *out_shape_per_position)``: one task per chunk of the file.

    Each task opens the event file (``path``), reads its positions and applies ``fn`` (typically a
    jitted reduction), so the graph can run on a distributed scheduler. The chunk size is
    ``positions_per_chunk`` or, by default, what ``memory_budget`` allows for a chunk's events and its
    output (the budget of one worker).
    """
    import dask
    import dask.array as da

    from .hdf5 import EventFile

    if not callable(fn):
        raise validate.InputTypeError(f"fn must be callable, got {type(fn).__name__}")
    out_shape_per_position = tuple(validate.integer(k, "out_shape_per_position", lo=1)
                                   for k in np.atleast_1d(out_shape_per_position))
    with EventFile(path, dose=dose) as f:
        n = f.n_positions
        scan_shape = f.scan_shape
        if positions_per_chunk is None:
            out_bytes = int(np.prod(out_shape_per_position)) * np.dtype(dtype).itemsize
            positions_per_chunk = chunk_positions(f, out_bytes, memory_budget)
    positions_per_chunk = validate.integer(positions_per_chunk, "positions_per_chunk", lo=1)

    def task(start, stop):
        with EventFile(path, dose=dose) as f:
            return np.asarray(fn(f.read_positions(start, stop)), dtype=dtype)

    blocks = []
    for start in range(0, n, positions_per_chunk):
        stop = min(n, start + positions_per_chunk)
        blocks.append(da.from_delayed(dask.delayed(task)(start, stop),
                                      shape=(stop - start, *out_shape_per_position), dtype=dtype))
    arr = da.concatenate(blocks, axis=0)
    return arr.reshape(*scan_shape, *out_shape_per_position)
