"""Reductions of sparse event data without densifying: sums, virtual detectors, reflection series.

All reductions are segment sums (:func:`jax.ops.segment_sum`) over the events of a chunk of
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

from ..measurement import Axis, Measurement
from .chunked import iter_chunks, map_positions, reduce_positions
from .events import EventData


def _pad(n: int) -> int:
    return max(1024, 1 << int(np.ceil(np.log2(max(n, 1)))))


def _padded(values: np.ndarray, length: int, fill) -> np.ndarray:
    out = np.full(length, fill, dtype=values.dtype)
    out[:values.size] = values
    return out


@partial(jax.jit, static_argnames=("n_bins",))
def binned_counts(bins, weights, n_bins: int):
    """Σ weights per bin (bins ≥ n_bins are dropped): ``jax.ops.segment_sum`` [counts]."""
    return jax.ops.segment_sum(weights, bins, num_segments=n_bins, mode="drop")


def _chunk_sum(chunk: EventData, bin_fn, n_bins: int, weight_fn=None, needs_segments: bool = True):
    """Segment-sum one chunk with padded, bucketed event arrays."""
    idx = np.asarray(chunk.indices)
    seg = chunk.segment_ids() if needs_segments else None
    bins = bin_fn(seg, idx)
    n = _pad(idx.size)
    pb = np.full(n, n_bins, np.int32)
    pb[:idx.size] = np.where(bins < 0, n_bins, bins)
    if weight_fn is None:
        pw = np.zeros(n, np.float32)
        pw[:idx.size] = 1.0
    else:
        pw = _padded(weight_fn(seg, idx).astype(np.float32), n, 0.0)
    return binned_counts(jnp.asarray(pb), jnp.asarray(pw), n_bins)


def _check_frames(ev, frame_weights):
    if frame_weights is None:
        return np.ones(ev.n_frames, np.float32)
    fw = np.asarray(frame_weights, np.float32)
    if fw.shape != (ev.n_frames,) or not np.all(np.isfinite(fw)):
        raise ValueError(f"frame_weights must be finite with shape ({ev.n_frames},), got {fw.shape}")
    return fw


def _detector_axes(ev) -> tuple:
    d = ev.detector_sampling
    return (Axis("ky", d, "1/Å", -(ev.detector_shape[0] // 2) * d),
            Axis("kx", d, "1/Å", -(ev.detector_shape[1] // 2) * d))


def _scan_axes(ev) -> tuple:
    s = ev.dose.scan_step
    return (Axis("y", s, "Å"), Axis("x", s, "Å"))


def sum_pattern(ev, frame_weights=None, budget=None) -> Measurement:
    """Diffraction pattern summed over all positions and frames [counts], shape (ny, nx).

    Args:
        ev: :class:`EventData` or :class:`~jaxem.ltr.hdf5.EventFile` (streamed in chunks).
        frame_weights: optional weight per frame (e.g. 0/1 for exposure-selective summation).
        budget: memory budget [bytes].
    """
    fw = _check_frames(ev, frame_weights)
    n_pix = int(np.prod(ev.detector_shape))
    if frame_weights is None:   # fast path: no segment ids needed
        def fn(c):
            return _chunk_sum(c, lambda s, i: i, n_pix, needs_segments=False)
    else:
        def fn(c):
            return _chunk_sum(c, lambda s, i: i, n_pix, lambda s, i: fw[s % c.n_frames])
    total = reduce_positions(ev, fn, budget=budget)
    return Measurement(total.reshape(ev.detector_shape).astype(np.float32), _detector_axes(ev),
                       {"quantity": "summed diffraction pattern [counts]", **_md(ev)})


def sum_frames(ev, frame_weights=None, budget=None) -> Measurement:
    """4D dataset (scan_y, scan_x, ny, nx): each position's frames summed (weighted) [counts].

    Densifies one chunk of positions at a time (the output itself is dense).
    """
    fw = _check_frames(ev, frame_weights)
    n_pix = int(np.prod(ev.detector_shape))

    def fn(c):
        nt = c.n_frames
        out = _chunk_sum(c, lambda s, i: (s // nt) * n_pix + i, c.n_positions * n_pix,
                         lambda s, i: fw[s % nt])
        return np.asarray(out).reshape(c.n_positions, n_pix)

    arr = map_positions(ev, fn, output_bytes_per_position=8 * n_pix, budget=budget)
    return Measurement(arr.reshape(*ev.scan_shape, *ev.detector_shape), _scan_axes(ev) + _detector_axes(ev),
                       {"quantity": "frame-summed 4D-STEM [counts]", "frame_weights": fw.tolist(), **_md(ev)})


def label_series(ev, labels, budget=None) -> Measurement:
    """Time series of every labelled detector region: (scan_y, scan_x, n_frames, n_labels) [counts].

    Args:
        ev: events (in memory or a lazy file).
        labels: integer image (ny, nx); 0 = ignored, 1..L = virtual detectors / reflections.
    """
    labels = np.asarray(labels)
    if labels.shape != tuple(ev.detector_shape) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be an integer image of shape {tuple(ev.detector_shape)}, "
                         f"got {labels.dtype} {labels.shape}")
    if labels.min() < 0:
        raise ValueError("labels must be ≥ 0 (0 = no detector)")
    n_lab = int(labels.max())
    if n_lab < 1:
        raise ValueError("labels contain no detector region (all zero)")
    flat = labels.ravel().astype(np.int64)
    L = n_lab + 1

    def fn(c):
        out = _chunk_sum(c, lambda s, i: np.where(flat[i] > 0, s * L + flat[i], -1), c.n_segments * L)
        return np.asarray(out).reshape(c.n_positions, c.n_frames, L)[..., 1:]

    arr = map_positions(ev, fn, output_bytes_per_position=8 * ev.n_frames * L, budget=budget)
    return Measurement(arr, _scan_axes(ev) + (Axis("frame", 1.0, "frame"), Axis("region", 1.0, "label")),
                       {"quantity": "virtual-detector time series [counts]",
                        "cumulative_dose": np.asarray(ev.cumulative_dose).tolist(), **_md(ev)})


def virtual_image(ev, mask, per_frame: bool = False, budget=None) -> Measurement:
    """Virtual-detector image of a boolean ``mask`` (ny, nx): (sy, sx) or (sy, sx, n_frames) [counts]."""
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"mask must be boolean, got {mask.dtype}")
    m = label_series(ev, mask.astype(np.int32), budget=budget)
    arr = m.numpy()[..., 0]
    if per_frame:
        return Measurement(arr, m.axes[:3], m.metadata)
    return Measurement(arr.sum(-1), m.axes[:2], {**m.metadata, "quantity": "virtual image [counts]"})


def window_series(ev, center, half_width: int, position_mask=None, budget=None) -> Measurement:
    """Per-frame crop around one reflection, summed over (selected) positions: (n_frames, w, w).

    Args:
        ev: events.
        center: (ky, kx) detector pixel of the reflection centre.
        half_width: crop half width [pixels]; w = 2·half_width + 1.
        position_mask: optional boolean (scan_y, scan_x) region (default all positions).
    """
    cy, cx = (int(round(c)) for c in center)
    h = int(half_width)
    ny, nx = ev.detector_shape
    if h < 1 or not (h <= cy < ny - h and h <= cx < nx - h):
        raise ValueError(f"window centre {center} ± {h} px must lie inside detector {ev.detector_shape}")
    w = 2 * h + 1
    local = np.full(ny * nx, -1, np.int64)
    yy, xx = np.mgrid[cy - h:cy + h + 1, cx - h:cx + h + 1]
    local[(yy * nx + xx).ravel()] = np.arange(w * w)
    pm = np.ones(ev.n_positions, bool) if position_mask is None else np.asarray(position_mask, bool).ravel()
    if pm.size != ev.n_positions:
        raise ValueError(f"position_mask must have scan shape {ev.scan_shape}")
    nt = ev.n_frames
    total = 0.0
    for start, _, c in iter_chunks(ev, 0, budget):
        sel = pm[start:start + c.n_positions]
        part = _chunk_sum(
            c, lambda s, i: np.where((local[i] >= 0) & sel[s // nt], (s % nt) * w * w + local[i], -1), nt * w * w)
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
    centers = np.atleast_2d(np.asarray(centers, np.float64))
    if radius <= 0:
        raise ValueError(f"radius must be > 0 [pixels], got {radius}")
    yy, xx = np.mgrid[:detector_shape[0], :detector_shape[1]]
    labels = np.zeros(detector_shape, np.int32)
    for k, (cy, cx) in enumerate(centers[::-1]):  # a few reflections; later (lower) labels win
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = len(centers) - k
    return labels


def _md(ev) -> dict:
    return {"dose": ev.dose.metadata(ev.n_frames),
            "frame_dose": np.asarray(ev.frame_dose).tolist(),
            "cumulative_dose_unit": "e-/A^2"}
