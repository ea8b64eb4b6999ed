"""Arrays that know their axes: the one data model for every result jaxem returns or writes.

A :class:`Measurement` is a thin outer-layer wrapper (not a pytree, never traced) around a JAX,
NumPy or Dask array with

* one :class:`Axis` per array dimension: ``value(i) = offset + i × sampling`` [units], with a name
  that is unique within the measurement (it becomes the zarr/xarray dimension name);
* ``metadata``: a JSON-like dict. Physical parameters carry their units as
  ``{"value": v, "units": "u"}`` (:func:`quantity`); plain numbers under a key of the documented
  units table (:data:`METADATA_UNITS`, e.g. ``energy`` → eV, or a unit suffix such as
  ``semi_angle_mrad``) are given their units when written (:func:`with_units`). The keys
  ``quantity`` and ``units`` describe the values themselves (e.g. ``"fraction of probe
  intensity"``, ``""``) and label plots and colorbars; ``title`` names the data set;
* ``signal_ndim``: how many trailing axes form the signal (HyperSpy's signal/navigation split);
  ``None`` means the last two for arrays of two or more dimensions (images, 4D-STEM patterns), the
  only axis for 1D data.

It plots itself (:meth:`Measurement.show`), converts to and from HyperSpy signals
(:meth:`~Measurement.to_hyperspy`, :meth:`~Measurement.from_hyperspy`) and xarray DataArrays
(:meth:`~Measurement.to_xarray`, :meth:`~Measurement.from_xarray`), and is written with its axes
and units by :func:`jaxem.io.save`. Pure functions never take Measurements; pass ``m.array``.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import pytree, validate
from .grid import Grid

__all__ = ["Axis", "Measurement", "quantity", "with_units", "units_for", "metadata_value", "METADATA_UNITS",
           "from_signal_dict",
           "real_space_axes", "reciprocal_axes_centered", "batch_axes"]


# ---- axes -------------------------------------------------------------------------------------
@pytree.dataclass
class Axis:
    """One array axis: ``value(i) = offset + i × sampling`` [units].

    Attributes:
        name: dimension name (unique within a measurement; the zarr/xarray dimension name).
        sampling: step between samples [units] (HyperSpy's ``scale``).
        units: unit of ``sampling`` and ``offset`` (e.g. ``"Å"``, ``"1/Å"``, ``"mrad"``, ``"pixels"``).
        offset: value of the first sample [units] (the origin; HyperSpy's ``offset``).
    """

    name: str = pytree.field(static=True)
    sampling: float = pytree.field(static=True, default=1.0)
    units: str = pytree.field(static=True, default="pixels")
    offset: float = pytree.field(static=True, default=0.0)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise validate.InputTypeError(f"Axis name must be a non-empty string, got {self.name!r}")
        label = f"Axis {self.name!r}"
        if not isinstance(self.units, str):
            raise validate.InputTypeError(f"{label}: units must be a string, got {self.units!r}")
        object.__setattr__(self, "sampling", validate.scalar(self.sampling, f"{label} sampling", self.units,
                                                             allow_traced=False))
        object.__setattr__(self, "offset", validate.scalar(self.offset, f"{label} offset", self.units,
                                                           allow_traced=False))
        if self.sampling == 0:
            raise validate.InputError(f"{label} sampling must be non-zero (the step between samples, "
                                      f"[{self.units}]; negative for a decreasing axis), got 0")

    @property
    def origin(self) -> float:
        """Value of the first sample [units] (same as ``offset``)."""
        return self.offset

    def values(self, n: int) -> np.ndarray:
        """The ``n`` sample values [units]."""
        return self.offset + self.sampling * np.arange(n)

    def to_dict(self) -> dict:
        """``{"name", "sampling", "units", "offset"}`` (JSON-ready)."""
        return {"name": self.name, "sampling": float(self.sampling), "units": self.units,
                "offset": float(self.offset)}

    @classmethod
    def from_dict(cls, d, where: str = "axis") -> "Axis":
        """The inverse of :meth:`to_dict`; unknown or missing keys are errors naming ``where``."""
        if not isinstance(d, dict):
            raise validate.InputTypeError(f"{where} must be a dict with name/sampling/units/offset, got {d!r}")
        unknown = set(d) - {"name", "sampling", "units", "offset"}
        if unknown or "name" not in d:
            raise validate.InputError(f"{where} must have the keys name, sampling, units, offset; got "
                                      f"{sorted(d)}")
        return cls(**d)


def _as_axes(axes) -> tuple:
    if isinstance(axes, Axis):
        axes = (axes,)
    try:
        axes = tuple(axes)
    except TypeError:
        raise validate.InputTypeError(f"axes must be a sequence of Axis, got {type(axes).__name__}") from None
    out = []
    for i, a in enumerate(axes):
        if isinstance(a, dict):
            a = Axis.from_dict(a, f"axes[{i}]")
        if not isinstance(a, Axis):
            raise validate.InputTypeError(f"axes[{i}] must be an Axis, got {type(a).__name__} {a!r}")
        out.append(a)
    return tuple(out)


def batch_axes(n_batch: int, axes=None, name: str = "batch_axes") -> tuple:
    """The :class:`Axis` of each of ``n_batch`` leading (batch) dimensions: ``axes`` is None (uncalibrated
    ``batch0, batch1, …`` [pixels]) or one entry per dimension, each a name (uncalibrated) or an
    :class:`Axis` (calibrated, e.g. ``Axis("thickness", 3.9, "Å", 3.9)`` for the exit planes of a
    multislice thickness series, or ``Axis("defocus", 20.0, "Å", -40.0)``), so the series keeps its
    calibration in HyperSpy, xarray and files."""
    if axes is None:
        return tuple(Axis(f"batch{i}") for i in range(n_batch))
    if isinstance(axes, (str, Axis)):
        axes = [axes]
    axes = list(axes)
    if len(axes) != n_batch:
        raise validate.InputError(f"{name} must name the {n_batch} leading axes (names or Axis), got {len(axes)}: "
                                  f"{axes!r}")
    return tuple(a if isinstance(a, Axis) else Axis(str(a)) for a in axes)


# ---- metadata with units ----------------------------------------------------------------------
def quantity(value, units: str) -> dict:
    """A physical parameter with its units, as stored in metadata: ``{"value": v, "units": u}``."""
    return {"value": _plain(value, "value"), "units": str(units)}


def _is_quantity(v) -> bool:
    return isinstance(v, dict) and set(v) == {"value", "units"}


#: documented units of metadata keys written without units (plain numbers are wrapped on writing)
METADATA_UNITS = {
    "energy": "eV", "beam_energy": "eV", "semi_angle": "mrad", "convergence_angle": "mrad",
    "tilt": "mrad", "max_angle": "mrad", "inner": "mrad", "outer": "mrad", "detector_sampling": "mrad",
    "defocus": "Å", "Cs": "Å", "C5": "Å", "focal_spread": "Å", "thickness": "Å", "slice_thickness": "Å",
    "sampling": "Å", "scan_sampling": "Å", "extent": "Å", "wavelength": "Å", "dose": "e⁻/Å²",
    "temperature": "K",
}
#: unit suffixes of metadata keys (``semi_angle_mrad`` → mrad)
_SUFFIX_UNITS = {"mrad": "mrad", "rad": "rad", "deg": "deg", "A": "Å", "Å": "Å", "nm": "nm", "um": "µm",
                 "eV": "eV", "keV": "keV", "fs": "fs", "K": "K", "invA": "1/Å"}
_ABERRATION = re.compile(r"^C\d\d$")
_AZIMUTH = re.compile(r"^phi\d\d$")


def units_for(key: str) -> str | None:
    """The documented units of a metadata key written as a plain number, or None (dimensionless or
    unknown): the :data:`METADATA_UNITS` table, aberration coefficients ``Cnm`` [Å] and azimuths
    ``phinm`` [rad], and a unit suffix (``_mrad``, ``_A``, ``_eV``, ``_nm`` …)."""
    if key in METADATA_UNITS:
        return METADATA_UNITS[key]
    if _ABERRATION.match(key):
        return "Å"
    if _AZIMUTH.match(key):
        return "rad"
    if "_" in key:
        return _SUFFIX_UNITS.get(key.rsplit("_", 1)[1])
    return None


def _plain(v, where: str):
    """A JSON-ready copy of ``v`` (NumPy/JAX arrays and scalars → lists and numbers)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): _plain(x, f"{where}.{k}") for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if hasattr(v, "__array__") and hasattr(v, "dtype"):
        a = np.asarray(v)
        if a.dtype.kind in "biuf":
            return a.tolist()
        if a.dtype.kind == "c":
            return {"real": a.real.tolist(), "imag": a.imag.tolist()}
        if a.dtype.kind in "US":
            return a.astype(str).tolist()
    if hasattr(v, "to_dict") and callable(v.to_dict):  # Beam, Axis …
        return _plain(v.to_dict(), where)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        units = pytree.units_of(v) if hasattr(v, "__dataclass_fields__") else {}
        out = {}
        for f in dataclasses.fields(v):
            x = _plain(getattr(v, f.name), f"{where}.{f.name}")
            u = units.get(f.name) or (units_for(f.name) if isinstance(x, (int, float, list)) else None)
            out[f.name] = quantity(x, u) if u and not isinstance(x, bool) else x
        return out
    if hasattr(v, "__fspath__"):
        return str(v)
    raise validate.InputTypeError(f"metadata {where} = {v!r} ({type(v).__name__}) cannot be written to a file; "
                                  f"use numbers, strings, lists, dicts or arrays")


def with_units(metadata: dict) -> dict:
    """A JSON-ready copy of ``metadata`` in which every plain number (or list of numbers) under a key
    with documented units (:func:`units_for`) becomes ``{"value": v, "units": u}``; objects with a
    ``to_dict`` (a :class:`~jaxem.beam.Beam`) and dataclasses (e.g. aberrations) become dicts with
    their units. Nested dicts are treated the same way."""
    if not isinstance(metadata, dict):
        raise validate.InputTypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    return _wrap(_plain(metadata, "metadata"))


def _wrap(d):
    if not isinstance(d, dict) or _is_quantity(d):
        return d
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out[k] = _wrap(v)
            continue
        u = units_for(k)
        numeric = isinstance(v, (int, float)) and not isinstance(v, bool) or (
            isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v))
        out[k] = quantity(v, u) if u and numeric else v
    return out


def metadata_value(metadata: dict, key: str, units: str | None = None, default=KeyError):
    """``metadata[key]`` as a number (or list), converted to ``units`` if given.

    Works for ``{"value", "units"}`` entries and for plain numbers with documented units
    (:func:`units_for`); a plain number without documented units cannot be converted. A missing key
    returns ``default`` (or raises ``KeyError`` naming the key).
    """
    if key not in metadata:
        if default is KeyError:
            raise validate.InputError(f"metadata has no {key!r} (keys: {sorted(metadata)})")
        return default
    v = metadata[key]
    stored = v["units"] if _is_quantity(v) else units_for(key)
    v = v["value"] if _is_quantity(v) else v
    if units is None or units == stored:
        return v
    if stored is None:
        raise validate.InputError(f"metadata {key!r} = {v!r} has no units; cannot convert it to {units}")
    return _convert(v, stored, units, key)


def _convert(value, from_units: str, to_units: str, name: str):
    if from_units == to_units:
        return value
    factor = validate.quantity(f"1 {from_units}", name, to_units)
    if isinstance(value, list):
        return [x * factor for x in value]
    return value * factor


# ---- the measurement --------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    """An array with axes and metadata (see the module docstring).

    Attributes:
        array: the data (JAX, NumPy or Dask), axes ordered like the array.
        axes: one :class:`Axis` per dimension (names unique).
        metadata: e.g. ``{"energy": quantity(300e3, "eV"), "quantity": "intensity"}`` (JSON-like).
        signal_ndim: number of trailing signal axes (None: the last two, or one for 1D data).
    """

    array: Any
    axes: tuple
    metadata: dict = field(default_factory=dict)
    signal_ndim: int | None = None

    def __post_init__(self):
        if self.array is None or isinstance(self.array, (str, bytes, dict, set)):
            raise validate.InputTypeError(f"Measurement array must be an array (NumPy, JAX or Dask), got "
                                          f"{type(self.array).__name__}")
        axes = _as_axes(self.axes)
        object.__setattr__(self, "axes", axes)
        ndim = len(np.shape(self.array)) if not hasattr(self.array, "ndim") else int(self.array.ndim)
        if len(axes) != ndim:
            raise validate.InputError(
                f"Measurement needs one Axis per array dimension: array has {ndim} dimensions "
                f"(shape {tuple(np.shape(self.array))}), got {len(axes)} axes")
        names = [a.name for a in axes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise validate.InputError(f"Measurement axes need unique names (they become dimension names), "
                                      f"got {names} with {dup} repeated")
        if self.metadata is None:
            object.__setattr__(self, "metadata", {})
        if not isinstance(self.metadata, dict):
            raise validate.InputTypeError(f"metadata must be a dict, got {type(self.metadata).__name__}")
        if self.signal_ndim is not None:
            object.__setattr__(self, "signal_ndim", validate.integer(self.signal_ndim, "signal_ndim", lo=0,
                                                                     hi=ndim))

    # ---- basics ---------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(int(n) for n in np.shape(self.array))

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def dims(self) -> tuple:
        """The axis names (dimension names)."""
        return tuple(a.name for a in self.axes)

    @property
    def n_signal(self) -> int:
        """Number of trailing signal axes (``signal_ndim`` or the default: min(ndim, 2))."""
        return self.signal_ndim if self.signal_ndim is not None else min(self.ndim, 2)

    def numpy(self) -> np.ndarray:
        return np.asarray(self.array)

    def with_array(self, array, **metadata) -> "Measurement":
        return replace(self, array=array, metadata={**self.metadata, **metadata})

    def value(self, key: str, units: str | None = None, default=KeyError):
        """The metadata parameter ``key`` as a number (or list), converted to ``units`` if given
        (see :func:`metadata_value`)."""
        return metadata_value(self.metadata, key, units, default)

    def beam(self):
        """The :class:`~jaxem.beam.Beam` of the metadata (its ``beam`` or ``energy`` entry)."""
        from .beam import Beam

        b = self.metadata.get("beam")
        beam = None
        if isinstance(b, Beam):
            beam = b
        elif isinstance(b, dict) and "energy" in b:
            tilt = metadata_value(b, "tilt", "mrad", (0.0, 0.0))
            beam = Beam(metadata_value(b, "energy", "eV"), tuple(tilt))
        if "energy" in self.metadata:
            e = self.value("energy", "eV")
            if beam is None:
                return Beam(e)
            if not np.isclose(float(e), beam.energy, rtol=1e-6, atol=0.0):  # a store edited by hand, a merge
                raise validate.InputError(f"metadata contradicts itself: 'energy' is {float(e):g} eV but 'beam' has "
                                          f"{beam.energy:g} eV; remove or correct one of them")
        if beam is not None:
            return beam
        raise validate.InputError("metadata has neither 'beam' nor 'energy': the beam is unknown")

    def label(self) -> str:
        """``"quantity [units]"`` of the values (from metadata ``quantity`` and ``units``)."""
        q = str(self.metadata.get("quantity") or "value")
        u = self.metadata.get("units")
        return f"{q} [{u}]" if isinstance(u, str) and u else q

    def extent(self, axes=(-2, -1)):
        """Plot extent (left, right, bottom, top) of the last two axes (y, x) in their units."""
        try:
            axes = tuple(validate.integer(a, "axes", lo=-self.ndim, hi=self.ndim - 1) for a in axes)
        except TypeError:
            raise validate.InputTypeError(f"axes must be two axis indices (y, x), got {axes!r}") from None
        if len(axes) != 2:
            raise validate.InputError(f"axes must be two axis indices (y, x), got {axes!r}")
        ay, ax = self.axes[axes[0]], self.axes[axes[1]]
        ny, nx = self.shape[axes[0]], self.shape[axes[1]]
        return (ax.offset - ax.sampling / 2, ax.offset + (nx - 0.5) * ax.sampling,
                ay.offset + (ny - 0.5) * ay.sampling, ay.offset - ay.sampling / 2)

    # ---- plotting -------------------------------------------------------------------------------
    def show(self, ax=None, log: bool = False, cmap: str = "gray", title: str | None = None,
             log_decades: float = 6.0, colorbar: bool = True, **kwargs):
        """Plot a 1D profile or a 2D image (the last two axes; other axes must have length 1).

        Axes are labelled with their names and units, the colorbar with the quantity and units of the
        values (metadata ``quantity``/``units``). Complex data are shown as |z|².

        Args:
            ax: matplotlib axes to draw into (default: a new figure with a constrained layout, so the
                labels are never clipped).
            log: logarithmic colour (2D) or y (1D) scale, from ``log_decades`` decades below the
                maximum up to the maximum; values below the floor (and zeros) show at the floor.
            log_decades: dynamic range of the log scale [decades].
            colorbar: draw a labelled colorbar (2D).
            kwargs: passed to ``imshow``/``plot``.
        """
        import matplotlib.pyplot as plt
        from matplotlib.colors import LogNorm

        data = np.squeeze(self.numpy())
        label = self.label()
        if np.iscomplexobj(data):
            data = np.abs(data) ** 2
            label = f"|{self.metadata.get('quantity') or 'value'}|²"
        if data.ndim not in (1, 2):
            raise validate.InputError(f"show() plots 1D or 2D data; the squeezed shape is {data.shape} "
                                      f"(select a frame first, e.g. m.with_array(m.array[0]))")
        decades = validate.scalar(log_decades, "log_decades", positive=True)
        if ax is None:
            _, ax = plt.subplots(figsize=(4.6, 4) if data.ndim == 2 else (5, 3), layout="constrained")
        kept = [a for a, n in zip(self.axes, self.shape) if n > 1] if data.ndim < self.ndim else list(self.axes)
        if data.ndim == 1:
            axis = kept[-1] if kept else self.axes[-1]
            ax.plot(axis.values(data.size), data, **kwargs)
            ax.set_xlabel(f"{axis.name} [{axis.units}]")
            ax.set_ylabel(label)
            if log:
                top = float(np.nanmax(data)) if np.any(data > 0) else 1.0
                ax.set_yscale("log")
                ax.set_ylim(top * 10 ** -decades, top * 1.5)
        else:
            ay, axx = kept[-2], kept[-1]
            if log:
                top = float(np.nanmax(data)) if np.any(data > 0) else 1.0
                floor = top * 10 ** -decades
                kwargs.setdefault("norm", LogNorm(vmin=floor, vmax=top))
                data = np.clip(data, floor, None)
            ny, nx = data.shape
            extent = (axx.offset - axx.sampling / 2, axx.offset + (nx - 0.5) * axx.sampling,
                      ay.offset + (ny - 0.5) * ay.sampling, ay.offset - ay.sampling / 2)
            im = ax.imshow(data, extent=extent, cmap=cmap, **kwargs)
            ax.set_xlabel(f"{axx.name} [{axx.units}]")
            ax.set_ylabel(f"{ay.name} [{ay.units}]")
            if colorbar:
                cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
                cb.set_label(label)
        if title:
            ax.set_title(title)
        return ax

    # ---- HyperSpy and xarray (bodies in jaxem.measurement_interop) ------------------------------
    def hyperspy_axes(self) -> list:
        """HyperSpy axis dictionaries in array order (see :func:`jaxem.measurement_interop.hyperspy_axes`)."""
        from . import measurement_interop

        return measurement_interop.hyperspy_axes(self)

    def hyperspy_metadata(self) -> dict:
        """HyperSpy ``metadata`` tree (see :func:`jaxem.measurement_interop.hyperspy_metadata`)."""
        from . import measurement_interop

        return measurement_interop.hyperspy_metadata(self)

    def hyperspy_dict(self) -> dict:
        """The HyperSpy signal dictionary (see :func:`jaxem.measurement_interop.hyperspy_dict`)."""
        from . import measurement_interop

        return measurement_interop.hyperspy_dict(self)

    def to_hyperspy(self):
        """A HyperSpy signal with every axis calibrated, metadata with units in ``original_metadata``
        (see :func:`jaxem.measurement_interop.to_hyperspy`). Needs HyperSpy."""
        from . import measurement_interop

        return measurement_interop.to_hyperspy(self)

    @classmethod
    def from_hyperspy(cls, signal) -> "Measurement":
        """A Measurement from a HyperSpy signal (see :func:`jaxem.measurement_interop.from_hyperspy`)."""
        from . import measurement_interop

        return measurement_interop.from_hyperspy(signal)

    def to_xarray(self):
        """An ``xarray.DataArray`` with named, calibrated dimensions and the metadata (with units) as
        attributes (see :func:`jaxem.measurement_interop.to_xarray`). Needs xarray."""
        from . import measurement_interop

        return measurement_interop.to_xarray(self)

    @classmethod
    def from_xarray(cls, data) -> "Measurement":
        """A Measurement from an ``xarray.DataArray`` with uniform coordinates (see
        :func:`jaxem.measurement_interop.from_xarray`)."""
        from . import measurement_interop

        return measurement_interop.from_xarray(data)


# ---- axes of grids ----------------------------------------------------------------------------
@validate.typed
def real_space_axes(grid: Grid) -> tuple:
    """(y, x) axes of a :class:`jaxem.grid.Grid` in Å."""
    return (Axis("y", grid.sampling[0], "Å"), Axis("x", grid.sampling[1], "Å"))


@validate.typed
def reciprocal_axes_centered(grid: Grid, beam=None, units: str = "mrad") -> tuple:
    """(θy, θx) axes [mrad] (needs ``beam``, a :class:`jaxem.beam.Beam`) or (ky, kx) axes [1/Å] of an
    fft-shifted pattern on ``grid`` (zero frequency at index n // 2)."""
    validate.choice(units, "units", ("mrad", "1/Å"))
    axes = []
    for name, n, d in zip(("ky", "kx"), grid.gpts, grid.sampling):
        dk = 1.0 / (n * d)
        off = -(n // 2) * dk
        if units == "mrad":
            if beam is None:
                raise validate.InputError("a beam (jaxem.Beam) is needed for angular (mrad) axes")
            axes.append(Axis(name.replace("k", "θ"), float(beam.frequency_to_mrad(dk)), "mrad",
                             float(beam.frequency_to_mrad(off))))
        else:
            axes.append(Axis(name, dk, "1/Å", off))
    return tuple(axes)


def from_signal_dict(data, axes: list, metadata: dict, original_metadata: dict,
                     signal_ndim: int | None = None) -> Measurement:
    """A Measurement from the parts of a HyperSpy signal dictionary (see
    :func:`jaxem.measurement_interop.from_signal_dict`)."""
    from . import measurement_interop

    return measurement_interop.from_signal_dict(data, axes, metadata, original_metadata, signal_ndim)
