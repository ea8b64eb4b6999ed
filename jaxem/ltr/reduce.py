"""Reductions of sparse event data without densifying: sums, virtual detectors, reflection series.

All reductions are segment sums (:func:`jaxem.accel.segment_sum`: the CUDA kernel on a GPU, the
:func:`jax.ops.segment_sum` twin elsewhere) over the events of a chunk of
positions: an event with flat detector index i in segment s = p·n_frames + t adds ``w(i)`` to output
bin ``bin(s, i)``. Choices of ``bin`` give

* the summed diffraction pattern: ``bin = i``;
* the 4D dataset (per-position pattern, optionally weighted per frame for exposure-selective
  summation): ``bin = p·n_pixels + i``;
* virtual-detector / per-reflection time series: ``bin = s·(L+1) + label(i)`` with an integer
  label image (0 = no detector);
* the per-frame crop around one reflection (for width/position vs dose):
  ``bin = t·n_window + window_index(i)``.

Event arrays are padded to power-of-two lengths (padding goes to a dropped bin) so jit recompiles
only a handful of times across chunks. Outputs are :class:`~jaxem.measurement.Measurement` objects
whose metadata state the dose.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from ..accel.segment_kernel import segment_sum
from ..measurement import Axis, Measurement
from .chunked import _source, iter_chunks, map_positions, reduce_positions
from .events import EventData


def _pad(n: int) -> int:
    """Bucketed length ≥ n: 2^k·{1, 1.25, 1.5, 1.75} (≤ 25 % padding, few distinct compiled shapes)."""
    n = max(int(n), 1024)
    k = 1 << int(np.floor(np.log2(n)))
    for f in (1.0, 1.25, 1.5, 1.75, 2.0):
        if f * k >= n:
            return int(f * k)
    return 2 * k


@partial(jax.jit, static_argnames=("n_bins",))
def binned_counts(bins, weights, n_bins: int):
    """Σ weights per bin (bins ≥ n_bins are dropped) [counts]: :func:`jaxem.accel.segment_sum` (the CUDA
    kernel on a GPU with CuPy, its JAX twin ``jax.ops.segment_sum`` elsewhere)."""
    return segment_sum(weights, bins, n_bins)


@partial(jax.jit, static_argnames=("kind", "n_bins", "n_frames", "n_pix", "width"))
def _event_kernel(idx, counts, n_valid, aux, kind: str, n_bins: int, n_frames: int, n_pix: int, width: int):
    """Bin and segment-sum the events of one chunk inside XLA (segment ids from the per-segment counts).

    Unweighted counts accumulate in int32 (exact to 2³¹ per bin; float32 would stop counting at 2²⁴);
    frame-weighted sums in float32.
    """
    n = idx.shape[0]
    valid = jnp.arange(n) < n_valid
    weighted = kind == "frames" or (kind == "pattern" and aux.get("fw") is not None)
    w = valid.astype(jnp.float32 if weighted else jnp.int32)
    if kind == "pattern" and aux.get("fw") is None:
        bins = idx
    else:
        seg = jnp.repeat(jnp.arange(counts.shape[0], dtype=jnp.int32), counts, total_repeat_length=n)
        t, p = seg % n_frames, seg // n_frames
        if kind == "pattern":
            bins, w = idx, w * aux["fw"][t]
        elif kind == "frames":
            bins, w = p * n_pix + idx, w * aux["fw"][t]
        elif kind == "labels":
            lab = aux["labels"][idx]
            bins = jnp.where(lab > 0, seg * width + lab, n_bins)
        else:  # window
            loc = aux["local"][idx]
            bins = jnp.where((loc >= 0) & aux["pm"][p], t * width + loc, n_bins)
    bins = jnp.where(valid, bins, n_bins)
    return segment_sum(w, bins, n_bins)


def _chunk_sum(chunk: EventData, kind: str, n_bins: int, aux: dict, width: int = 1):
    """Segment-sum one chunk: only the padded indices and per-segment counts cross to the device."""
    idx = np.asarray(chunk.indices, np.int32)
    n = _pad(idx.size)
    pidx = np.zeros(n, np.int32)
    pidx[:idx.size] = idx
    counts = np.diff(np.asarray(chunk.offsets)).astype(np.int32)
    aux = {k: (None if v is None else jnp.asarray(v)) for k, v in aux.items()}
    return _event_kernel(jnp.asarray(pidx), jnp.asarray(counts), idx.size, aux, kind, int(n_bins),
                         int(chunk.n_frames), int(chunk.n_pixels), int(width))


def _check_frames(ev, frame_weights):
    _source(ev)
    if frame_weights is None:
        return np.ones(ev.n_frames, np.float32)
    validate.array(frame_weights, "frame_weights", shape=(ev.n_frames,), ndim=1, kind="real")
    return np.asarray(frame_weights, np.float32)


def _detector_axes(ev) -> tuple:
    d = ev.detector_sampling
    return (Axis("ky", d, "1/Å", -(ev.detector_shape[0] // 2) * d),
            Axis("kx", d, "1/Å", -(ev.detector_shape[1] // 2) * d))


def _scan_axes(ev) -> tuple:
    s = ev.dose.scan_step
    return (Axis("y", s, "Å"), Axis("x", s, "Å"))


def sum_pattern(ev, frame_weights=None, memory_budget=None) -> Measurement:
    """Diffraction pattern summed over all positions and frames [counts], shape (ny, nx).

    Args:
        ev: :class:`EventData` or :class:`~jaxem.ltr.hdf5.EventFile` (streamed in chunks).
        frame_weights: optional weight per frame (e.g. 0/1 for exposure-selective summation).
        memory_budget: memory budget [bytes or a string such as '256M'].
    """
    fw = _check_frames(ev, frame_weights)
    n_pix = int(np.prod(ev.detector_shape))
    aux = {"fw": None if frame_weights is None else fw}

    def fn(c):
        return _chunk_sum(c, "pattern", n_pix, aux)

    total = reduce_positions(ev, fn, memory_budget=memory_budget)
    return Measurement(total.reshape(ev.detector_shape).astype(np.float32), _detector_axes(ev),
                       {"quantity": "summed diffraction pattern [counts]", **_md(ev)})


def sum_frames(ev, frame_weights=None, memory_budget=None) -> Measurement:
    """4D dataset (scan_y, scan_x, ny, nx): each position's frames summed (weighted) [counts].

    Densifies one chunk of positions at a time (the output itself is dense).
    """
    fw = _check_frames(ev, frame_weights)
    n_pix = int(np.prod(ev.detector_shape))

    def fn(c):
        out = _chunk_sum(c, "frames", c.n_positions * n_pix, {"fw": fw})
        return np.asarray(out).reshape(c.n_positions, n_pix)

    arr = map_positions(ev, fn, output_bytes_per_position=8 * n_pix, memory_budget=memory_budget)
    return Measurement(arr.reshape(*ev.scan_shape, *ev.detector_shape), _scan_axes(ev) + _detector_axes(ev),
                       {"quantity": "frame-summed 4D-STEM [counts]", "frame_weights": fw.tolist(), **_md(ev)})


def label_series(ev, labels, memory_budget=None) -> Measurement:
    """Time series of every labelled detector region: (scan_y, scan_x, n_frames, n_labels) [counts].

    Args:
        ev: events (in memory or a lazy file).
        labels: integer image (ny, nx); 0 = ignored, 1..L = virtual detectors / reflections.
    """
    _source(ev)
    labels = np.asarray(labels)
    if labels.shape != tuple(ev.detector_shape) or not np.issubdtype(labels.dtype, np.integer):
        raise validate.InputError(f"labels must be an integer image of shape {tuple(ev.detector_shape)}, "
                                  f"got {labels.dtype} {labels.shape}")
    if labels.min() < 0:
        raise validate.InputError(f"labels must be ≥ 0 (0 = no detector), got a minimum of {labels.min()}")
    n_lab = int(labels.max())
    if n_lab < 1:
        raise validate.InputError("labels contain no detector region (all zero)")
    flat = labels.ravel().astype(np.int64)
    L = n_lab + 1

    def fn(c):
        out = _chunk_sum(c, "labels", c.n_segments * L, {"labels": flat.astype(np.int32)}, width=L)
        return np.asarray(out).reshape(c.n_positions, c.n_frames, L)[..., 1:]

    arr = map_positions(ev, fn, output_bytes_per_position=8 * ev.n_frames * L, memory_budget=memory_budget)
    return Measurement(arr, _scan_axes(ev) + (Axis("frame", 1.0, "frame"), Axis("region", 1.0, "label")),
                       {"quantity": "virtual-detector time series [counts]",
                        "cumulative_dose": np.asarray(ev.cumulative_dose).tolist(), **_md(ev)})


def virtual_image(ev, mask, per_frame: bool = False, memory_budget=None) -> Measurement:
    """Virtual-detector image of a boolean ``mask`` (ny, nx): (sy, sx) or (sy, sx, n_frames) [counts]."""
    _source(ev)
    mask = np.asarray(validate.array(mask, "mask", ndim=2, kind="bool", units="detector pixels"))
    if mask.shape != tuple(ev.detector_shape):
        raise validate.InputError(f"mask must have the detector shape {tuple(ev.detector_shape)}, got {mask.shape}")
    m = label_series(ev, mask.astype(np.int32), memory_budget=memory_budget)
    arr = m.numpy()[..., 0]
    if per_frame:
        return Measurement(arr, m.axes[:3], m.metadata)
    return Measurement(arr.sum(-1), m.axes[:2], {**m.metadata, "quantity": "virtual image [counts]"})


def window_series(ev, center, half_width: int, position_mask=None, memory_budget=None) -> Measurement:
    """Per-frame crop around one reflection, summed over (selected) positions: (n_frames, w, w).

    Args:
        ev: events.
        center: (ky, kx) detector pixel of the reflection centre.
        half_width: crop half width [pixels]; w = 2·half_width + 1.
        position_mask: optional boolean (scan_y, scan_x) region (default all positions).
    """
    _source(ev)
    cy, cx = (int(round(c)) for c in validate.pair(center, "center", "px"))
    h = validate.integer(half_width, "half_width", lo=1)
    ny, nx = ev.detector_shape
    if not (h <= cy < ny - h and h <= cx < nx - h):
        raise validate.InputError(f"window centre {center} ± {h} px must lie inside detector {ev.detector_shape}")
    w = 2 * h + 1
    local = np.full(ny * nx, -1, np.int64)
    yy, xx = np.mgrid[cy - h:cy + h + 1, cx - h:cx + h + 1]
    local[(yy * nx + xx).ravel()] = np.arange(w * w)
    if position_mask is None:
        pm = np.ones(ev.n_positions, bool)
    else:
        validate.array(position_mask, "position_mask", shape=tuple(ev.scan_shape), ndim=2, kind="numeric")
        pm = np.asarray(position_mask, bool).ravel()
    nt = ev.n_frames
    total = 0.0
    for start, _, c in iter_chunks(ev, 0, memory_budget):
        sel = pm[start:start + c.n_positions]
        part = _chunk_sum(c, "window", nt * w * w, {"local": local.astype(np.int32), "pm": sel}, width=w * w)
        total = total + np.asarray(part, np.float64)
    arr = np.asarray(total).reshape(nt, w, w)
    d = ev.detector_sampling
    return Measurement(arr, (Axis("frame", 1.0, "frame"), Axis("ky", d, "1/Å", (cy - h) * d),
                             Axis("kx", d, "1/Å", (cx - h) * d)),
                       {"quantity": "reflection window per frame [counts]", "center_px": [cy, cx],
                        "cumulative_dose": np.asarray(ev.cumulative_dose).tolist(), **_md(ev)})


def disk_labels(detector_shape, centers, radius: float) -> np.ndarray:
    """Integer label image with disk k (1-based) of ``radius`` [pixels] at ``centers[k-1]`` (ky, kx) [px].

    Overlapping disks keep the lower label.
    """
    detector_shape = tuple(validate.pair(detector_shape, "detector_shape", kind=int, lo=1))
    validate.allocation(detector_shape, "detector_shape", detector_shape, "px")
    validate.array(centers, "centers", ndim=(1, 2), shape=(2,), kind="real", units="px")
    centers = np.atleast_2d(np.asarray(centers, np.float64))
    radius = validate.scalar(radius, "radius", "px", positive=True)
    yy, xx = np.mgrid[:detector_shape[0], :detector_shape[1]]
    labels = np.zeros(detector_shape, np.int32)
    for k, (cy, cx) in enumerate(centers[::-1]):  # a few reflections; later (lower) labels win
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = len(centers) - k
    return labels


def _md(ev) -> dict:
    return {"dose": ev.dose.metadata(ev.n_frames),
            "frame_dose": np.asarray(ev.frame_dose).tolist(),
            "cumulative_dose_unit": "e-/A^2"}
