"""Scan grids of probe positions.

A :class:`GridScan` covers the rectangle [start, end) (y, x) [Å] with ``gpts`` positions per axis
(``endpoint=False`` so periodic tiles of a crystal are sampled without duplicates), or with a step
``sampling`` [Å]. Positions are returned as (scan_y, scan_x, 2) arrays of (y, x) [Å].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GridScan:
    """Rectangular raster of probe positions.

    Attributes:
        start: (y, x) of the first position [Å].
        end: (y, x) of the far corner [Å] (excluded).
        gpts: positions per axis (scan_y, scan_x).
    """

    start: tuple
    end: tuple
    gpts: tuple

    @classmethod
    def create(cls, start=(0.0, 0.0), end=None, sampling=None, gpts=None) -> "GridScan":
        """Scan from ``start`` to ``end`` (y, x) [Å] with step ``sampling`` [Å] or ``gpts`` positions."""
        if end is None:
            raise ValueError("GridScan needs end = (y, x) [Å]")
        start = tuple(float(v) for v in np.broadcast_to(start, (2,)))
        end = tuple(float(v) for v in np.broadcast_to(end, (2,)))
        if not all(math.isfinite(v) for v in start + end) or any(e <= s for s, e in zip(start, end)):
            raise ValueError(f"scan end must be finite and beyond start in both axes, got start={start}, end={end} [Å]")
        if (sampling is None) == (gpts is None):
            raise ValueError("give exactly one of sampling [Å] or gpts for the scan")
        if gpts is None:
            samp = np.broadcast_to(np.asarray(sampling, float), (2,))
            if np.any(samp <= 0) or not np.all(np.isfinite(samp)):
                raise ValueError(f"scan sampling must be > 0 Å, got {sampling!r}")
            gpts = tuple(max(1, int(math.ceil((e - s) / d - 1e-9))) for s, e, d in zip(start, end, samp))
        gpts = tuple(int(g) for g in np.broadcast_to(gpts, (2,)))
        if any(g < 1 for g in gpts):
            raise ValueError(f"scan gpts must be ≥ 1, got {gpts}")
        return cls(start, end, gpts)

    @property
    def sampling(self) -> tuple:
        """Step (y, x) [Å]."""
        return tuple((e - s) / n for s, e, n in zip(self.start, self.end, self.gpts))

    @property
    def n_positions(self) -> int:
        return self.gpts[0] * self.gpts[1]

    def positions(self) -> np.ndarray:
        """(scan_y, scan_x, 2) probe positions (y, x) [Å]."""
        ys = self.start[0] + np.arange(self.gpts[0]) * self.sampling[0]
        xs = self.start[1] + np.arange(self.gpts[1]) * self.sampling[1]
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        return np.stack([yy, xx], axis=-1)

    def check_inside(self, extent) -> None:
        """Raise ``ValueError`` if the scan leaves the cell of ``extent`` (y, x) [Å]."""
        for s, e, L, name in zip(self.start, self.end, extent, ("y", "x")):
            if s < 0 or e > L + 1e-9:
                raise ValueError(f"scan along {name} spans [{s:.4g}, {e:.4g}) Å, outside the cell [0, {L:.4g}] Å")
