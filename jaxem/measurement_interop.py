"""HyperSpy and xarray conversions of a :class:`~jaxem.measurement.Measurement`.

The bodies of :meth:`Measurement.to_hyperspy`/:meth:`~Measurement.from_hyperspy`,
:meth:`~Measurement.to_xarray`/:meth:`~Measurement.from_xarray` and the HyperSpy signal dictionary
(axes, TEM metadata) that :mod:`jaxem.io` writes into ``.zspy``/``.hspy`` stores. Every axis keeps its
name, sampling, offset and units; the metadata travels with its units (:func:`~jaxem.measurement.with_units`),
and the beam energy [keV] and convergence semi-angle [mrad] go to HyperSpy's
``Acquisition_instrument.TEM`` tree. Users call the methods; this module holds one concept (interop)
so that :mod:`jaxem.measurement` stays the data model.
"""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from . import validate
from .measurement import Axis, Measurement, quantity, with_units

__all__ = ["hyperspy_axes", "hyperspy_metadata", "hyperspy_dict", "to_hyperspy", "from_hyperspy",
           "from_signal_dict", "to_xarray", "from_xarray"]


# ---- HyperSpy -------------------------------------------------------------------------------
def hyperspy_axes(m: Measurement) -> list:
    """HyperSpy axis dictionaries in array order (the trailing ``n_signal`` axes are the signal)."""
    nsig = m.n_signal
    return [{"_type": "UniformDataAxis", "name": a.name, "units": a.units, "navigate": i < m.ndim - nsig,
             "is_binned": False, "size": int(n), "scale": float(a.sampling), "offset": float(a.offset)}
            for i, (a, n) in enumerate(zip(m.axes, m.shape))]


def hyperspy_metadata(m: Measurement) -> dict:
    """HyperSpy ``metadata`` tree: title, signal quantity and the TEM parameters it knows
    (``beam_energy`` [keV], ``convergence_angle`` [mrad])."""
    md = {"General": {"title": str(m.metadata.get("title", ""))},
          "Signal": {"signal_type": str(m.metadata.get("signal_type", "")), "quantity": _hs_quantity(m)}}
    tem = {}
    try:
        tem["beam_energy"] = float(m.beam().energy) / 1e3
    except (KeyError, ValueError, TypeError):
        pass
    for key in ("semi_angle", "semi_angle_mrad", "semiangle", "convergence_angle"):  # semiangle: ptycho, phase
        if key in m.metadata:
            try:
                tem["convergence_angle"] = float(m.value(key, "mrad"))
                break
            except (ValueError, TypeError):
                pass
    if tem:
        md["Acquisition_instrument"] = {"TEM": tem}
    return md


def hyperspy_dict(m: Measurement) -> dict:
    """The signal dictionary HyperSpy/rosettasciio build signals from (data not copied)."""
    data = m.array if _is_dask(m.array) else np.asarray(m.array)
    return {"data": data, "axes": hyperspy_axes(m), "metadata": hyperspy_metadata(m),
            "original_metadata": with_units(m.metadata), "attributes": {"_lazy": _is_dask(data)}}


def to_hyperspy(m: Measurement):
    """A HyperSpy signal with every axis calibrated (name, scale, offset, units): the trailing
    ``n_signal`` axes are the signal, the others navigation; the metadata (with units) goes to
    ``original_metadata``, the beam energy and convergence angle to HyperSpy's TEM metadata.
    Dask arrays give a lazy signal. Needs HyperSpy."""
    try:
        from hyperspy.io import dict2signal
    except ImportError:  # pragma: no cover - hyperspy is optional
        raise ImportError("Measurement.to_hyperspy needs HyperSpy (pip install hyperspy)") from None
    d = hyperspy_dict(m)
    return dict2signal(d, lazy=d["attributes"]["_lazy"])


def from_hyperspy(signal) -> Measurement:
    """A Measurement from a HyperSpy signal (uniform axes only; lazy signals stay lazy)."""
    if not hasattr(signal, "axes_manager") or not hasattr(signal, "data"):
        raise validate.InputTypeError(f"signal must be a HyperSpy signal, got {type(signal).__name__}")
    axes = signal.axes_manager.as_dictionary()
    axes = [axes[f"axis-{i}"] for i in range(len(axes))]
    return from_signal_dict(signal.data, axes, signal.metadata.as_dictionary(),
                            signal.original_metadata.as_dictionary(),
                            signal_ndim=int(signal.axes_manager.signal_dimension))


# ---- xarray ---------------------------------------------------------------------------------
def to_xarray(m: Measurement):
    """An ``xarray.DataArray`` with dimensions named after the axes, a coordinate per axis (its
    values, ``units`` attribute) and the metadata (with units) as attributes. Needs xarray."""
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is optional at run time
        raise ImportError("Measurement.to_xarray needs xarray (pip install xarray)") from None
    data = m.array if _is_dask(m.array) else np.asarray(m.array)
    # the exact sampling/offset ride along as attributes: steps recomputed from float coordinates
    # differ in the last bits (v[1] - v[0] ≠ sampling), so a round trip would not be exact
    coords = {a.name: (a.name, a.values(n), {"units": a.units, "sampling": float(a.sampling),
                                              "offset": float(a.offset)})
              for a, n in zip(m.axes, m.shape)}
    attrs = with_units(m.metadata)
    name = m.metadata.get("title") or m.metadata.get("quantity") or None
    return xr.DataArray(data, dims=m.dims, coords=coords, attrs=attrs,
                        name=name if isinstance(name, str) else None)


def from_xarray(data) -> Measurement:
    """A Measurement from an ``xarray.DataArray`` (or a Dataset holding one variable, or ``data``).

    Every coordinate of a dimension must be uniformly spaced (it becomes an :class:`Axis`; its
    ``units`` attribute is kept, else ``"pixels"``); dimensions without coordinates get
    sampling 1 [pixels]. Attributes become the metadata.
    """
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        raise ImportError("Measurement.from_xarray needs xarray (pip install xarray)") from None
    if isinstance(data, xr.Dataset):
        names = list(data.data_vars)
        if "data" in names:
            attrs = {**data.attrs, **data["data"].attrs}
            data = data["data"].copy()
            data.attrs = attrs
        elif len(names) == 1:
            data = data[names[0]]
        else:
            raise validate.InputError(f"data is an xarray Dataset with variables {names}; pass one DataArray")
    if not isinstance(data, xr.DataArray):
        raise validate.InputTypeError(f"data must be an xarray DataArray, got {type(data).__name__}")
    axes = []
    for dim, n in zip(data.dims, data.shape):
        dim = str(dim)
        if dim not in data.coords:
            axes.append(Axis(dim))
            continue
        c = data.coords[dim]
        v = np.asarray(c.values, dtype=float)
        step = float(v[1] - v[0]) if n > 1 else 1.0
        if n > 2 and not np.allclose(np.diff(v), step, rtol=1e-6, atol=1e-12 * max(1.0, abs(step))):
            raise validate.InputError(f"coordinate {dim!r} is not uniformly spaced (steps from "
                                      f"{np.diff(v).min():g} to {np.diff(v).max():g}); an Axis needs a "
                                      f"uniform sampling")
        offset = float(v[0]) if n else 0.0
        recorded = c.attrs.get("sampling"), c.attrs.get("offset")
        if all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in recorded) and recorded[0] != 0:
            exact = recorded[1] + recorded[0] * np.arange(n)  # written by to_xarray: keep them if they agree
            if np.allclose(v, exact, rtol=1e-9, atol=1e-12 * max(1.0, abs(recorded[0]))):
                step, offset = float(recorded[0]), float(recorded[1])
        axes.append(Axis(dim, step, str(c.attrs.get("units", "pixels")), offset))
    return Measurement(data.data, tuple(axes), dict(data.attrs))


def _is_dask(a) -> bool:
    return type(a).__module__.startswith("dask")


def _hs_quantity(m: Measurement) -> str:
    q = str(m.metadata.get("quantity") or "")
    u = m.metadata.get("units")
    return f"{q} ({u})" if q and isinstance(u, str) and u else q


def from_signal_dict(data, axes: list, metadata: dict, original_metadata: dict,
                     signal_ndim: int | None = None) -> Measurement:
    """A Measurement from the parts of a HyperSpy signal dictionary (axes as HyperSpy axis dicts in
    array order). ``original_metadata`` becomes the metadata; the HyperSpy title, quantity, beam energy
    and convergence angle are added (with units) where it lacks them."""
    if not isinstance(axes, (list, tuple)) or not all(isinstance(a, dict) for a in axes):
        raise validate.InputTypeError(f"axes must be a list of HyperSpy axis dicts, got {type(axes).__name__}")
    for what, v in (("metadata", metadata), ("original_metadata", original_metadata)):
        if v is not None and not isinstance(v, dict):
            raise validate.InputTypeError(f"{what} must be a dict (or None), got {type(v).__name__}")
    out_axes = []
    for i, a in enumerate(axes):
        name = a.get("name")
        name = str(name) if isinstance(name, str) and name and name != "<undefined>" else f"axis{i}"
        if "scale" not in a or a.get("_type", "UniformDataAxis") != "UniformDataAxis":
            raise validate.InputError(f"axis {i} ({name!r}) is not uniform ({a.get('_type')}); a jaxem Axis "
                                      f"needs a uniform sampling")
        units = a.get("units")
        units = str(units) if isinstance(units, str) and units and units != "<undefined>" else "pixels"
        out_axes.append(Axis(name, float(a["scale"]), units, float(a.get("offset", 0.0))))
    names = [a.name for a in out_axes]
    for i, a in enumerate(out_axes):  # HyperSpy allows repeated names; dimension names may not repeat
        if names.count(a.name) > 1:
            out_axes[i] = replace(a, name=f"{a.name}_{i}")
    md = dict(original_metadata or {})
    hs = metadata or {}
    title = hs.get("General", {}).get("title")
    if title and "title" not in md:
        md["title"] = title
    q = hs.get("Signal", {}).get("quantity")
    if q and "quantity" not in md:
        m = re.match(r"^(.*?)\s*\(([^()]*)\)\s*$", q)
        md["quantity"], unit = (m.group(1), m.group(2)) if m else (q, None)
        if unit and "units" not in md:
            md["units"] = unit
    tem = hs.get("Acquisition_instrument", {}).get("TEM", {})
    if "beam_energy" in tem and "energy" not in md and "beam" not in md:
        md["energy"] = quantity(float(tem["beam_energy"]) * 1e3, "eV")
    if "convergence_angle" in tem and not {"semi_angle", "semi_angle_mrad", "semiangle"} & set(md):
        md["semi_angle"] = quantity(float(tem["convergence_angle"]), "mrad")
    return Measurement(data, tuple(out_axes), md, signal_ndim)
