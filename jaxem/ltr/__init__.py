"""Locally time-resolved STEM (LTR-STEM): 5D sparse event data, dose, denoising, critical dose, kinetics.

Analysis package (no simulation imports). Data model: :class:`EventData` (CSR event lists per
(position, frame) with a :class:`DoseSchedule`); files: :func:`read_events`, :func:`write_events`,
:class:`EventFile` (lazy, chunked); reductions without densifying in :mod:`jaxem.ltr.reduce`.
"""
from .dose import DoseSchedule, cumulative_dose
from .events import (EventData, bin_frames, count_electrons, densify, from_dense_counts, from_frame_lists,
                     make_events, validate)
from .hdf5 import EventFile, EventWriter, read_events, write_events
from .reduce import disk_labels, label_series, sum_frames, sum_pattern, virtual_image, window_series
from .chunked import dask_map_positions, iter_chunks, map_positions, reduce_positions
from .critical_dose import DecayFit, average_critical_dose, fit_decay, fit_log_linear
from .kinetics import ChangePoint, JMAKFit, avrami_linearisation, emergence_dose, fit_jmak
from .reflection_shape import fit_spots, shape_vs_dose
from .denoise import denoise_events, denoise_stacks, lowrank, selective_sum
from .metrics import dose_equivalence_factor, psnr, ssim
from .evaluation import evaluate_denoising
from .disk_shift import disk_shift_map
from .vendor import events_from_frames, read_counted, read_frames
from .synthetic import SyntheticLTR, expected_frames, jmak, simulate_events

__all__ = [
    "DoseSchedule", "cumulative_dose",
    "EventData", "bin_frames", "count_electrons", "densify", "from_dense_counts", "from_frame_lists",
    "make_events", "validate",
    "EventFile", "EventWriter", "read_events", "write_events",
    "disk_labels", "label_series", "sum_frames", "sum_pattern", "virtual_image", "window_series",
    "dask_map_positions", "iter_chunks", "map_positions", "reduce_positions",
    "DecayFit", "average_critical_dose", "fit_decay", "fit_log_linear",
    "ChangePoint", "JMAKFit", "avrami_linearisation", "emergence_dose", "fit_jmak",
    "fit_spots", "shape_vs_dose",
    "denoise_events", "denoise_stacks", "lowrank", "selective_sum",
    "dose_equivalence_factor", "psnr", "ssim", "evaluate_denoising", "disk_shift_map",
    "events_from_frames", "read_counted", "read_frames",
    "SyntheticLTR", "expected_frames", "jmak", "simulate_events",
]
