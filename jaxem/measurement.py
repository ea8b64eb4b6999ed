"""Arrays that know their axes: the results the high-level API returns.

A :class:`Measurement` is a thin, stateful convenience wrapper (outer layer) around a JAX or NumPy
array, with one :class:`Axis` per array dimension (name, sampling, units, offset) and free-form
metadata (energy, parameters…). It plots itself (:meth:`Measurement.show`) and is written to
zarr/HDF5 by :func:`jaxem.io.save` with its units. Pure functions never take Measurements; pass
``m.array``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Axis:
    """One array axis: ``value(i) = offset + i × sampling`` [units]."""

    name: str
    sampling: float = 1.0
    units: str = "pixels"
    offset: float = 0.0

    def values(self, n: int) -> np.ndarray:
        return self.offset + self.sampling * np.arange(n)

    def to_dict(self) -> dict:
        return {"name": self.name, "sampling": float(self.sampling), "units": self.units,
                "offset": float(self.offset)}


@dataclass(frozen=True)
class Measurement:
    """An array with axes and metadata.

    Attributes:
        array: the data (JAX or NumPy), axes ordered like the array.
        axes: one :class:`Axis` per dimension.
        metadata: e.g. ``{"energy": 300e3, "quantity": "intensity"}`` (JSON-serialisable values).
    """

    array: Any
    axes: tuple
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.axes) != np.ndim(self.array):
            raise ValueError(
                f"Measurement needs one Axis per array dimension: array has {np.ndim(self.array)} "
                f"dimensions, got {len(self.axes)} axes"
            )

    @property
    def shape(self):
        return tuple(np.shape(self.array))

    def numpy(self) -> np.ndarray:
        return np.asarray(self.array)

    def with_array(self, array, **metadata) -> "Measurement":
        return replace(self, array=array, metadata={**self.metadata, **metadata})

    def extent(self, axes=(-2, -1)):
        """Plot extent (left, right, bottom, top) of the last two axes (y, x) in their units."""
        ay, ax = self.axes[axes[0]], self.axes[axes[1]]
        ny, nx = self.shape[axes[0]], self.shape[axes[1]]
        return (ax.offset - ax.sampling / 2, ax.offset + (nx - 0.5) * ax.sampling,
                ay.offset + (ny - 0.5) * ay.sampling, ay.offset - ay.sampling / 2)

    def show(self, ax=None, log: bool = False, cmap: str = "gray", title: str | None = None, **kwargs):
        """Plot a 1D profile or a 2D image (the last two axes; leading axes must be of length 1)."""
        import matplotlib.pyplot as plt

        data = np.squeeze(self.numpy())
        if np.iscomplexobj(data):
            data = np.abs(data) ** 2
        if ax is None:
            _, ax = plt.subplots(figsize=(4, 4) if data.ndim == 2 else (5, 3))
        if data.ndim == 1:
            axis = [a for a, n in zip(self.axes, self.shape) if n > 1][0]
            ax.plot(axis.values(data.size), data, **kwargs)
            ax.set_xlabel(f"{axis.name} [{axis.units}]")
        elif data.ndim == 2:
            if log:
                data = np.log10(np.maximum(data, data[data > 0].min() if np.any(data > 0) else 1e-12))
            im = ax.imshow(data, extent=self.extent(), cmap=cmap, **kwargs)
            ay, axx = self.axes[-2], self.axes[-1]
            ax.set_xlabel(f"{axx.name} [{axx.units}]")
            ax.set_ylabel(f"{ay.name} [{ay.units}]")
            plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        else:
            raise ValueError(f"show() plots 1D or 2D data; squeezed shape is {data.shape}")
        if title:
            ax.set_title(title)
        return ax


def real_space_axes(grid) -> tuple:
    """(y, x) axes of a :class:`jaxem.grid.Grid` in Å."""
    return (Axis("y", grid.sampling[0], "Å"), Axis("x", grid.sampling[1], "Å"))


def reciprocal_axes_centered(grid, beam=None, units: str = "mrad") -> tuple:
    """(θy, θx) axes [mrad] (needs ``beam``, a :class:`jaxem.beam.Beam`) or (ky, kx) axes [1/Å] of an
    fft-shifted pattern on ``grid``."""
    from .validate import choice

    choice(units, "units", ("mrad", "1/Å"))
    axes = []
    for name, n, d in zip(("ky", "kx"), grid.gpts, grid.sampling):
        dk = 1.0 / (n * d)
        off = -(n // 2) * dk
        if units == "mrad":
            if beam is None:
                raise ValueError("a beam (jaxem.Beam) is needed for angular (mrad) axes")
            axes.append(Axis(name.replace("k", "θ"), float(beam.frequency_to_mrad(dk)), "mrad",
                             float(beam.frequency_to_mrad(off))))
        else:
            axes.append(Axis(name, dk, "1/Å", off))
    return tuple(axes)
