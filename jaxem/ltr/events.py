"""Sparse 5D electron-event data: (scan y, scan x, time, ky, kx) as CSR event lists.

An LTR-STEM dataset records ``n_frames`` electron-counted detector frames at each of
``scan_y × scan_x`` positions. Almost every detector pixel is empty, so the events are stored as

* ``indices``: int32 ``[n_events]`` — flat detector index ``ky·nx + kx`` of each electron;
* ``offsets``: int64 ``[n_positions·n_frames + 1]`` — events of segment ``s = p·n_frames + t``
  (position p in C order, frame t) are ``indices[offsets[s]:offsets[s+1]]``;
* ``frame_dose``: float64 ``[n_frames]`` — fluence of each frame [e⁻/Å²], with the
  :class:`~jaxem.ltr.dose.DoseSchedule` that produced it.

This is the layout of stempy's ``SparseArray`` with the ragged lists flattened (CSR). Frames with no
events are legal (two equal offsets). :func:`validate` checks every invariant at the public boundary.
"""
from __future__ import annotations

import numpy as np

from .. import pytree
from .. import validate as checks
from .dose import DoseSchedule, cumulative_dose


def _shape2(value, name: str) -> tuple:
    """A (rows, cols) shape of positive integers."""
    if np.ndim(value) != 1 or len(value) != 2:
        raise checks.InputError(f"{name} must be a pair (rows, cols) of integers ≥ 1, got {value!r}")
    return tuple(checks.integer(v, name, lo=1) for v in value)


@pytree.dataclass
class EventData:
    """Electron events of a 5D LTR-STEM dataset (see the module docstring for the layout).

    Attributes:
        indices: flat detector index of each event, int32 ``[n_events]``.
        offsets: segment boundaries, int64 ``[n_positions·n_frames + 1]``.
        frame_dose: per-frame fluence [e⁻/Å²], float64 ``[n_frames]``.
        scan_shape: (scan_y, scan_x) (static).
        n_frames: frames per position (static).
        detector_shape: (ny, nx) detector pixels (static).
        dose: the :class:`DoseSchedule` (static).
        detector_sampling: detector pixel size [1/Å] (static; 1.0 if unknown).
    """

    indices: np.ndarray
    offsets: np.ndarray
    frame_dose: np.ndarray = pytree.field(units="e⁻/Å²")
    scan_shape: tuple = pytree.field(static=True)
    n_frames: int = pytree.field(static=True)
    detector_shape: tuple = pytree.field(static=True)
    dose: DoseSchedule = pytree.field(static=True)
    detector_sampling: float = pytree.field(static=True, units="1/Å", default=1.0)

    @property
    def n_positions(self) -> int:
        return int(np.prod(self.scan_shape))

    @property
    def n_segments(self) -> int:
        return self.n_positions * self.n_frames

    @property
    def n_pixels(self) -> int:
        return int(np.prod(self.detector_shape))

    @property
    def n_events(self) -> int:
        return int(np.shape(self.indices)[0])

    @property
    def counts(self) -> np.ndarray:
        """Events per (position, frame), shape ``(scan_y, scan_x, n_frames)``."""
        return np.diff(np.asarray(self.offsets)).reshape(*self.scan_shape, self.n_frames)

    @property
    def cumulative_dose(self) -> np.ndarray:
        """Dose at the centre of each frame [e⁻/Å²], ``(n_frames,)``."""
        return cumulative_dose(self.frame_dose)

    def segment_ids(self) -> np.ndarray:
        """Segment ``p·n_frames + t`` of every event, int32 ``[n_events]``."""
        return np.repeat(np.arange(self.n_segments, dtype=np.int32), np.diff(np.asarray(self.offsets)))

    def metadata(self) -> dict:
        """Dose and shape metadata attached to every output."""
        return {"dose": self.dose.metadata(self.n_frames),
                "frame_dose": [float(x) for x in np.asarray(self.frame_dose)],
                "scan_shape": list(self.scan_shape), "detector_shape": list(self.detector_shape),
                "n_frames": int(self.n_frames), "n_events": self.n_events}

    def select_positions(self, start: int, stop: int) -> "EventData":
        """Positions ``start:stop`` (flat C order) as an EventData of scan shape ``(1, stop − start)``."""
        start = checks.integer(start, "start", lo=0)
        stop = checks.integer(stop, "stop", lo=0)
        if not 0 <= start < stop <= self.n_positions:
            raise checks.InputError(f"position range [start, stop) = [{start}, {stop}) outside [0, {self.n_positions}]")
        off = np.asarray(self.offsets)[start * self.n_frames: stop * self.n_frames + 1]
        idx = np.asarray(self.indices)[off[0]:off[-1]]
        return self.replace(indices=idx, offsets=off - off[0], scan_shape=(1, stop - start))


@checks.typed
def make_events(indices, offsets, scan_shape, n_frames, detector_shape, dose: DoseSchedule | None,
                frame_dose=None, detector_sampling: float = 1.0, check: bool = True) -> EventData:
    """Build and validate an :class:`EventData`.

    Args:
        indices: flat detector index per event (integers in ``[0, ny·nx)``).
        offsets: ``n_positions·n_frames + 1`` non-decreasing segment offsets, first 0, last n_events.
        scan_shape: (scan_y, scan_x).
        n_frames: frames per position (≥ 1).
        detector_shape: (ny, nx).
        dose: the :class:`DoseSchedule`; required (missing dose metadata is an error).
        frame_dose: per-frame fluence [e⁻/Å²]; default ``dose.frame_doses(n_frames)``.
        detector_sampling: detector pixel size [1/Å] (> 0).
        check: run :func:`validate` (O(n_events)).
    """
    if dose is None:
        raise checks.InputError("dose metadata is missing: pass dose=DoseSchedule(current_pA, frame_time_s, "
                                "scan_step, probe_diameter); every LTR output states its dose")
    if not isinstance(dose, DoseSchedule):
        raise checks.InputTypeError(f"dose must be a DoseSchedule, got {type(dose).__name__}")
    scan_shape = _shape2(scan_shape, "scan_shape")
    detector_shape = _shape2(detector_shape, "detector_shape")
    n_frames = checks.integer(n_frames, "n_frames", lo=1)
    checks.allocation(scan_shape[0] * scan_shape[1] * n_frames + 1, "n_frames", n_frames, "",
                      f"scan {scan_shape} × n_frames segments")
    detector_sampling = checks.scalar(detector_sampling, "detector_sampling", "1/Å", positive=True)
    indices = np.asarray(indices)
    offsets = np.asarray(offsets)
    if indices.size and not np.issubdtype(indices.dtype, np.integer):
        raise checks.InputTypeError(f"indices must be integers, got dtype {indices.dtype}")
    if not np.issubdtype(offsets.dtype, np.integer):
        raise checks.InputTypeError(f"offsets must be integers, got dtype {offsets.dtype}")
    if indices.ndim != 1:
        raise checks.InputError(f"indices must be 1-D (one flat detector index per event), got shape {indices.shape}")
    if frame_dose is None:
        fd = dose.frame_doses(n_frames)
    else:
        checks.array(frame_dose, "frame_dose", kind="real", units="e⁻/Å²")
        fd = np.asarray(frame_dose, dtype=np.float64)
    ev = EventData(indices=indices.astype(np.int32, copy=False), offsets=offsets.astype(np.int64, copy=False),
                   frame_dose=fd, scan_shape=scan_shape, n_frames=n_frames,
                   detector_shape=detector_shape, dose=dose, detector_sampling=detector_sampling)
    if check:
        validate(ev)
    return ev


def _require(ev, name: str = "ev") -> None:
    if not isinstance(ev, EventData):
        raise checks.InputTypeError(f"{name} must be jaxem.ltr EventData, got {type(ev).__name__}")


@checks.typed
def validate(ev: EventData) -> EventData:
    """Check the CSR invariants; raise ``ValueError`` naming the first violation, else return ``ev``."""
    if not isinstance(ev, EventData):
        raise checks.InputTypeError(f"ev must be EventData, got {type(ev).__name__}")
    off = np.asarray(ev.offsets)
    idx = np.asarray(ev.indices)
    n_seg = ev.n_segments
    if off.ndim != 1 or off.size != n_seg + 1:
        raise checks.InputError(f"offsets must have n_positions·n_frames + 1 = {n_seg + 1} entries "
                         f"(scan {ev.scan_shape} × {ev.n_frames} frames), got shape {off.shape}")
    if off[0] != 0:
        raise checks.InputError(f"offsets[0] must be 0, got {off[0]}")
    if off[-1] != idx.size:
        raise checks.InputError(f"offsets[-1] must equal the number of events {idx.size}, got {off[-1]}")
    steps = np.diff(off)
    if np.any(steps < 0):
        bad = int(np.argmax(steps < 0))
        raise checks.InputError(f"offsets must be non-decreasing; offsets[{bad + 1}] = {off[bad + 1]} < "
                         f"offsets[{bad}] = {off[bad]} (segment {bad}: position {bad // ev.n_frames}, "
                         f"frame {bad % ev.n_frames})")
    if idx.size and (idx.min() < 0 or idx.max() >= ev.n_pixels):
        raise checks.InputError(f"indices must lie in [0, {ev.n_pixels}) for detector {ev.detector_shape}, "
                         f"got range [{idx.min()}, {idx.max()}]")
    fd = np.asarray(ev.frame_dose)
    if fd.shape != (ev.n_frames,):
        raise checks.InputError(f"frame_dose must have shape ({ev.n_frames},), got {fd.shape}")
    checks.array(fd, "frame_dose", kind="real", units="e⁻/Å²")
    if np.any(fd <= 0):
        raise checks.InputError(f"frame_dose must be > 0 [e⁻/Å²] in every frame, got a minimum of {fd.min():g} "
                                f"(frame {int(np.argmin(fd))})")
    return ev


@checks.typed
def from_frame_lists(frames, detector_shape, dose: DoseSchedule | None, **kwargs) -> EventData:
    """EventData from nested lists ``frames[scan_y][scan_x][t]`` of flat detector indices.

    This is the ragged (stempy ``SparseArray.data``) form; all positions need the same frame count.
    """
    arr = np.asarray(frames, dtype=object)
    if arr.ndim != 3 or not arr.size:
        raise checks.InputError(f"frames must be nested as [scan_y][scan_x][frame] (3 levels, non-empty), got "
                                f"{arr.ndim} levels of shape {arr.shape}")
    flat = [np.asarray(f, dtype=np.int64).ravel() for f in arr.ravel()]
    counts = np.array([f.size for f in flat], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    indices = np.concatenate(flat) if flat else np.zeros(0, np.int64)
    return make_events(indices, offsets, arr.shape[:2], arr.shape[2], detector_shape, dose, **kwargs)


@checks.typed
def from_dense_counts(counts, dose: DoseSchedule | None, **kwargs) -> EventData:
    """EventData from an integer count array ``(scan_y, scan_x, n_frames, ny, nx)`` (already counted).

    A pixel with count c contributes c events (exact inverse of :func:`densify`).
    """
    checks.array(counts, "counts", ndim=5, kind="numeric", min_size=0)
    counts = np.asarray(counts)
    if counts.size and (not np.issubdtype(counts.dtype, np.integer) or counts.min() < 0):
        raise checks.InputError(f"counts must be non-negative integers (use count_electrons for raw frames), got "
                                f"dtype {counts.dtype}" + (f", minimum {counts.min()}" if counts.dtype.kind in "iu" else ""))
    sy, sx, nt, ny, nx = counts.shape
    flat = counts.reshape(sy * sx * nt, ny * nx)
    seg, pix = np.nonzero(flat)
    reps = flat[seg, pix]
    indices = np.repeat(pix, reps)
    per_seg = np.bincount(np.repeat(seg, reps), minlength=sy * sx * nt)
    offsets = np.concatenate([[0], np.cumsum(per_seg)])
    return make_events(indices, offsets, (sy, sx), nt, (ny, nx), dose, **kwargs)


@checks.typed
def count_electrons(frames, threshold: float, dark=None, dose: DoseSchedule | None = None,
                    **kwargs) -> EventData:
    """Electron counting of dense frames ``(scan_y, scan_x, n_frames, ny, nx)`` into events.

    After subtracting ``dark`` (an (ny, nx) reference, default 0), a pixel is one electron when it
    exceeds ``threshold`` [detector units] and is the maximum of its 3×3 neighbourhood (so charge
    shared between neighbouring pixels counts once; ties keep the first pixel in C order).

    Args:
        frames: dense raw frames, 5-D.
        threshold: counting threshold [detector units], > 0 (typically mean + 4–5 σ of the noise).
        dark: dark/background frame (ny, nx) or None.
        dose: :class:`DoseSchedule` (required).
    """
    checks.array(frames, "frames", ndim=5, kind="real", units="detector units")
    frames = np.asarray(frames, dtype=np.float32)
    threshold = checks.scalar(threshold, "threshold", "detector units", positive=True)
    if dark is not None:
        checks.array(dark, "dark", shape=frames.shape[-2:], kind="real", units="detector units")
    x = frames - (0.0 if dark is None else np.asarray(dark, np.float32))
    ny, nx = x.shape[-2:]
    pad = np.pad(x, [(0, 0)] * 3 + [(1, 1), (1, 1)], constant_values=-np.inf)
    is_max = x > threshold
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            nb = pad[..., 1 + dy:1 + dy + ny, 1 + dx:1 + dx + nx]
            # strict against earlier neighbours (C order), non-strict against later ones: ties count once
            is_max &= (x > nb) if (dy, dx) < (0, 0) else (x >= nb)
    return from_dense_counts(is_max.astype(np.int32), dose, **kwargs)


@checks.typed
def densify(ev: EventData, positions=None) -> np.ndarray:
    """Dense counts ``(n_sel, n_frames, ny, nx)`` of the selected flat positions (default: all).

    Only for small selections (one tile, a few positions); reductions never call this.
    """
    _require(ev)
    if positions is None:
        positions = np.arange(ev.n_positions)
    else:
        checks.array(positions, "positions", ndim=(0, 1), kind="integer")
        positions = np.atleast_1d(positions)
        if positions.size and (positions.min() < 0 or positions.max() >= ev.n_positions):
            raise checks.InputError(f"positions must be flat scan indices in [0, {ev.n_positions}), got "
                                    f"{positions.min()}..{positions.max()}")
    out = np.zeros((positions.size, ev.n_frames, ev.n_pixels), np.int32)
    off = np.asarray(ev.offsets)
    idx = np.asarray(ev.indices)
    for i, p in enumerate(positions):  # selections are small; one vectorised bincount per position
        a, b = off[p * ev.n_frames], off[(p + 1) * ev.n_frames]
        t = np.repeat(np.arange(ev.n_frames), np.diff(off[p * ev.n_frames:(p + 1) * ev.n_frames + 1]))
        out[i] = np.bincount(t * ev.n_pixels + idx[a:b], minlength=ev.n_frames * ev.n_pixels).reshape(
            ev.n_frames, ev.n_pixels)
    return out.reshape(positions.size, ev.n_frames, *ev.detector_shape)


@checks.typed
def bin_frames(ev: EventData, factor: int) -> EventData:
    """Merge every ``factor`` consecutive frames (no event is copied: only the offsets change).

    Trailing frames that do not fill a bin are dropped. The merged frame dose is the sum [e⁻/Å²].
    """
    _require(ev)
    factor = checks.integer(factor, "factor", lo=1, hi=ev.n_frames)
    nt = ev.n_frames // factor
    off = np.asarray(ev.offsets)
    starts = off[:-1].reshape(ev.n_positions, ev.n_frames)
    ends = off[1:].reshape(ev.n_positions, ev.n_frames)
    # events of dropped trailing frames are removed by re-packing only when needed
    if nt * factor != ev.n_frames:
        keep = np.zeros(ev.n_events, bool)
        seg = ev.segment_ids()
        keep[(seg % ev.n_frames) < nt * factor] = True
        idx = np.asarray(ev.indices)[keep]
        counts = (ends - starts)[:, :nt * factor]
        new_off = np.concatenate([[0], np.cumsum(counts.reshape(-1, factor).sum(1))])
    else:
        idx = np.asarray(ev.indices)
        new_off = np.concatenate([starts[:, ::factor].ravel(), [off[-1]]])
    fd = np.asarray(ev.frame_dose)[:nt * factor].reshape(nt, factor).sum(1)
    dose = ev.dose.replace(frame_time_s=ev.dose.frame_time_s * factor)
    return make_events(idx, new_off, ev.scan_shape, nt, ev.detector_shape, dose, frame_dose=fd,
                       detector_sampling=ev.detector_sampling, check=False)
