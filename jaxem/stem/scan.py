"""Scan grids of probe positions.

A :class:`GridScan` covers the rectangle [start, end) (y, x) [Å] with ``gpts`` positions per axis
(``endpoint=False``, so periodic tiles of a crystal are sampled without duplicates): position
(i, j) is ``start + (i, j) × sampling`` with ``sampling = (end − start) / gpts`` [Å]. Positions are
returned as (scan_y, scan_x, 2) arrays of (y, x) [Å]. A GridScan is a static, hashable
:func:`jaxem.pytree.dataclass`; it validates itself (finite corners, end beyond start, gpts ≥ 1).
"""
from __future__ import annotations

import math

import numpy as np

from .. import pytree, validate

__all__ = ["GridScan"]

#: most probe positions per scan axis
MAX_SCAN_GPTS = 1 << 16


@pytree.dataclass
class GridScan:
    """Rectangular raster of probe positions.

    Attributes:
        start: (y, x) of the first position [Å].
        end: (y, x) of the far corner [Å] (excluded), beyond ``start`` in both axes.
        gpts: positions per axis (scan_y, scan_x), each ≥ 1.
    """

    start: tuple = pytree.field(static=True, units="Å")
    end: tuple = pytree.field(static=True, units="Å")
    gpts: tuple = pytree.field(static=True)

    def __post_init__(self):
        start = validate.pair(self.start, "scan start", "Å", allow_traced=False)
        end = validate.pair(self.end, "scan end", "Å", allow_traced=False)
        if any(e <= s for s, e in zip(start, end)):
            raise validate.InputError(f"scan end must lie beyond scan start in both axes (y, x) [Å], got "
                                      f"start={start}, end={end}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "gpts", validate.pair(self.gpts, "scan gpts", kind=int, lo=1, hi=MAX_SCAN_GPTS))

    @classmethod
    def create(cls, start=(0.0, 0.0), end=None, sampling=None, gpts=None) -> "GridScan":
        """Scan from ``start`` to ``end`` (y, x) [Å] (scalars or pairs, numbers or strings with units)
        with step ``sampling`` [Å] (the number of positions is rounded up, the step kept as given
        where it divides the span) or ``gpts`` positions per axis."""
        if end is None:
            raise validate.InputError("GridScan needs end = (y, x) [Å] (the far corner, excluded)")
        if (sampling is None) == (gpts is None):
            raise validate.InputError(f"give exactly one of sampling [Å] or gpts for the scan, got "
                                      f"sampling={sampling!r}, gpts={gpts!r}")
        start = validate.pair(start, "scan start", "Å", allow_traced=False)
        end = validate.pair(end, "scan end", "Å", allow_traced=False)
        if gpts is None:
            samp = validate.pair(sampling, "scan sampling", "Å", positive=True, allow_traced=False)
            gpts = tuple(max(1, int(math.ceil((e - s) / d - 1e-9))) for s, e, d in zip(start, end, samp))
        return cls(start, end, gpts)

    @property
    def sampling(self) -> tuple:
        """Step (y, x) [Å]."""
        return tuple((e - s) / n for s, e, n in zip(self.start, self.end, self.gpts))

    @property
    def n_positions(self) -> int:
        return self.gpts[0] * self.gpts[1]

    def positions(self) -> np.ndarray:
        """(scan_y, scan_x, 2) probe positions (y, x) [Å] (float64)."""
        ys = self.start[0] + np.arange(self.gpts[0]) * self.sampling[0]
        xs = self.start[1] + np.arange(self.gpts[1]) * self.sampling[1]
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        return np.stack([yy, xx], axis=-1)

    def axes(self) -> tuple:
        """(scan_y, scan_x) :class:`~jaxem.measurement.Axis` [Å]."""
        from ..measurement import Axis

        return tuple(Axis(n, d, "Å", s) for n, d, s in zip(("scan_y", "scan_x"), self.sampling, self.start))

    def check_inside(self, extent) -> None:
        """Raise unless every position lies in the cell [0, extent) (y, x) [Å]."""
        extent = validate.pair(extent, "extent", "Å", positive=True, allow_traced=False)
        for s, e, L, name in zip(self.start, self.end, extent, ("y", "x")):
            if s < 0 or e > L * (1 + 1e-9) + 1e-9:
                raise validate.InputError(f"scan along {name} spans [{s:.4g}, {e:.4g}) Å, outside the cell "
                                          f"[0, {L:.4g}) Å of the potential")

    def to_dict(self) -> dict:
        return {"start": {"value": list(self.start), "units": "Å"}, "end": {"value": list(self.end), "units": "Å"},
                "gpts": list(self.gpts), "sampling": {"value": list(self.sampling), "units": "Å"}}
