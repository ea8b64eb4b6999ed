"""Scanning TEM: scan grids, detectors with one interface (``prepare(beam, grid)`` /
``apply(state, dp)``), batched probe scanning (memory-bounded, all thermal models, thickness series),
4D-STEM streaming to zarr."""
from .detectors import AnnularDetector, CenterOfMassDetector, Detector, PixelatedDetector, SegmentedDetector
from .scan import GridScan
from .scanning import THERMAL_MODELS, DetectorSignals, STEMSimulation, stem_scan
from .store import stem_scan_to_zarr

__all__ = ["AnnularDetector", "CenterOfMassDetector", "Detector", "PixelatedDetector", "SegmentedDetector",
           "GridScan", "STEMSimulation", "DetectorSignals", "stem_scan", "stem_scan_to_zarr", "THERMAL_MODELS"]
