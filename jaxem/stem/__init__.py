"""Scanning TEM: scan grids, detectors, batched probe scanning (memory-bounded), 4D-STEM streaming."""
from .detectors import AnnularDetector, CenterOfMassDetector, PixelatedDetector, SegmentedDetector
from .scan import GridScan
from .scanning import STEMSimulation, stem_scan
from .store import stem_scan_to_zarr

__all__ = ["AnnularDetector", "CenterOfMassDetector", "PixelatedDetector", "SegmentedDetector", "GridScan",
           "STEMSimulation", "stem_scan", "stem_scan_to_zarr"]
