"""Scanning TEM: scan grids, detectors with one interface (``prepare(beam, grid)`` /
``apply(state, dp)``), batched probe scanning (memory-bounded, all thermal models, thickness series),
4D-STEM streaming to zarr; PRISM (S-matrix) scans and the choice between the two methods."""
from .detectors import AnnularDetector, CenterOfMassDetector, Detector, PixelatedDetector, SegmentedDetector
from .scan import GridScan
from .scanning import THERMAL_MODELS, DetectorSignals, STEMSimulation, stem_scan
from .store import stem_scan_to_zarr
from .prism import SMatrix, prism_signals, probe_coefficients
from .prism_partition import build_partitioned_smatrix, partitioned_signals
from .prism_run import (build_smatrix, check_window, choose_method, prism_error_estimate, prism_scan, probe_extent,
                         window_leakage)

__all__ = ["AnnularDetector", "CenterOfMassDetector", "Detector", "PixelatedDetector", "SegmentedDetector",
           "GridScan", "STEMSimulation", "DetectorSignals", "stem_scan", "stem_scan_to_zarr", "THERMAL_MODELS",
           "SMatrix", "build_smatrix", "prism_scan", "prism_signals", "probe_coefficients", "prism_error_estimate",
           "window_leakage", "probe_extent", "check_window", "choose_method",
           "build_partitioned_smatrix", "partitioned_signals"]
