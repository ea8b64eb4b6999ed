"""q–E maps in: calibrated momentum and energy axes from arrays, HyperSpy signals, files and S(q, ω).

A q–E map is a :class:`~jaxem.measurement.Measurement` whose leading axes are momentum transfer along
the slit (``q``, 2-D maps) or in the plane (``qy``, ``qx``, 3-D maps) [1/Å] and whose last axis is the
energy loss ``E`` [eV]. Every reader here ends in :func:`qe_map`, which checks and converts:

* **q convention.** Inside :mod:`jaxem.eels` q is the *angular* wavenumber, q = 2π/d (the plasmon
  literature's convention: E(q) = E_p + α(ħ²/m)q²). Diffraction calibrations (DigitalMicrograph,
  jaxem's own grids) usually give the *spatial* frequency k = 1/d; pass ``q_convention="spatial"``
  for those and the axis is multiplied by 2π. The convention used is stored in the metadata.
* **Units.** Reciprocal lengths (``1/Å``, ``1/nm``, ``Å⁻¹`` …) are converted to 1/Å. Angles (``rad``,
  ``mrad``, ``µrad``) are accepted only with a beam energy, q = (2π/λ)·θ; without one they are
  refused (an angle is not a momentum until the wavelength is known). Energies in ``eV``, ``meV``,
  ``keV`` or frequencies in ``THz`` (E = h·ν) become eV.
* **Calibration.** An axis without units (``pixels``, ``<undefined>``) is refused as uncalibrated;
  coordinate arrays must be strictly monotonic and uniformly spaced (an FFT needs a uniform grid); a
  decreasing axis is reversed together with the data.
* **Bad pixels.** NaN/inf pixels are masked (kept as NaN in the map and listed in the metadata
  ``bad_pixels``); negative counts are an error (``negative="error"``) or masked the same way
  (``negative="mask"``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import validate
from ..beam import Beam, as_beam
from ..measurement import Axis, Measurement

__all__ = ["qe_map", "as_qe_map", "from_hyperspy", "read", "from_sqw", "q_axes", "energy_axis", "bad_pixel_mask",
           "Q_CONVENTIONS"]

Q_CONVENTIONS = ("angular", "spatial")
_UNCALIBRATED = {"", "pixels", "pixel", "px", "<undefined>", "none", "channel", "channels", "index"}
_RECIPROCAL = {"1/Å": 1.0, "1/A": 1.0, "Å⁻¹": 1.0, "A^-1": 1.0, "1/angstrom": 1.0, "Å^-1": 1.0,
               "1/nm": 0.1, "nm⁻¹": 0.1, "nm^-1": 0.1, "1/pm": 100.0, "1/m": 1e-10, "1 / nm": 0.1, "1 / Å": 1.0}
_ANGLES = {"rad": 1.0, "mrad": 1e-3, "µrad": 1e-6, "urad": 1e-6, "μrad": 1e-6, "deg": np.pi / 180}
_ENERGIES = {"eV": 1.0, "meV": 1e-3, "keV": 1e3}
#: h [eV/THz]: E = h·ν for frequency axes
PLANCK_EV_THZ = 4.135667696e-3
_READERS = {".dm3": "digitalmicrograph", ".dm4": "digitalmicrograph", ".hspy": "hspy", ".h5": "hspy",
            ".hdf5": "hspy", ".emd": "emd", ".msa": "msa", ".ems": "msa", ".emsa": "msa"}
_JAXEM_LAYOUT = {".zspy", ".zarr"}


# ---- axes -----------------------------------------------------------------------------------------
def _coords(axis, n: int, what: str):
    """(values, units, name) of an Axis, a coordinate array or a HyperSpy-like dict."""
    if isinstance(axis, Axis):
        return axis.values(n), axis.units, axis.name
    if isinstance(axis, dict):
        if "axis" in axis:
            return np.asarray(axis["axis"], float), str(axis.get("units") or ""), str(axis.get("name") or what)
        return (float(axis.get("offset", 0.0)) + float(axis.get("scale", 1.0)) * np.arange(n),
                str(axis.get("units") or ""), str(axis.get("name") or what))
    if isinstance(axis, tuple) and len(axis) == 2 and isinstance(axis[1], str):
        v = validate.array(np.asarray(axis[0], float), what, ndim=1)
        return np.asarray(v, float), axis[1], what
    raise validate.InputTypeError(f"{what} must be a jaxem Axis or a (coordinates, units) pair, e.g. "
                                  f"(np.linspace(0, 1, n), '1/Å'); got {type(axis).__name__} {axis!r}")


def _uniform(values: np.ndarray, what: str, units: str) -> tuple[float, float, bool]:
    """(offset, step, reversed) of strictly monotonic, uniformly spaced ``values``."""
    n = values.size
    if n < 2:
        raise validate.InputError(f"{what} must have at least 2 samples, got {n}")
    if not np.all(np.isfinite(values)):
        raise validate.InputError(f"{what} coordinates hold NaN/inf ({units})")
    d = np.diff(values)
    if not (np.all(d > 0) or np.all(d < 0)):
        bad = int(np.argmax(d <= 0) if d[0] > 0 else np.argmax(d >= 0))
        raise validate.InputError(f"{what} is not monotonic: values {values[bad]:g} → {values[bad + 1]:g} "
                                  f"{units} at index {bad}; a q–E axis must increase (or decrease) strictly")
    rev = bool(d[0] < 0)
    v = values[::-1] if rev else values
    step = (v[-1] - v[0]) / (n - 1)
    dev = np.max(np.abs(np.diff(v) - step))
    if dev > 1e-6 * abs(step):
        raise validate.InputError(f"{what} is not uniformly spaced (steps from {np.diff(v).min():g} to "
                                  f"{np.diff(v).max():g} {units}); resample it onto a uniform grid first")
    return float(v[0]), float(step), rev


def _q_factor(units: str, what: str, beam: Beam | None, q_convention: str) -> float:
    """Factor that turns ``units`` into angular wavenumber [1/Å]."""
    u = units.strip()
    if u.lower() in _UNCALIBRATED:
        raise validate.InputError(f"{what} is uncalibrated (units {units!r}); give it in 1/Å (or 1/nm), or "
                                  f"as an angle (mrad) together with the beam energy")
    if u in _RECIPROCAL:
        return _RECIPROCAL[u] * (2 * np.pi if q_convention == "spatial" else 1.0)
    if u in _ANGLES:
        if beam is None:
            raise validate.InputError(f"{what} is in {u} (a scattering angle, not a momentum); jaxem.eels works "
                                      f"in 1/Å and converts angles with q = (2π/λ)·θ only when the beam energy is "
                                      f"given: pass beam= (e.g. '100 kV') or calibrate the axis in 1/Å")
        return _ANGLES[u] * 2 * np.pi / beam.wavelength
    raise validate.InputError(f"{what} has units {units!r}; expected a reciprocal length (1/Å, 1/nm) or, with "
                              f"beam=, an angle (rad, mrad)")


def _e_factor(units: str, what: str) -> float:
    u = units.strip()
    if u.lower() in _UNCALIBRATED:
        raise validate.InputError(f"{what} is uncalibrated (units {units!r}); give the energy loss in eV")
    if u in _ENERGIES:
        return _ENERGIES[u]
    if u == "THz":
        return PLANCK_EV_THZ
    raise validate.InputError(f"{what} has units {units!r}; expected eV, meV, keV or THz")


def q_axes(m: Measurement) -> tuple:
    """The q axes [1/Å] of a q–E map (all but the last)."""
    return m.axes[:-1]


def energy_axis(m: Measurement) -> Axis:
    """The energy-loss axis [eV] of a q–E map (the last)."""
    return m.axes[-1]


def bad_pixel_mask(m: Measurement) -> np.ndarray:
    """Boolean mask of the masked (NaN) pixels of a q–E map."""
    return ~np.isfinite(np.asarray(m.array))


# ---- the one constructor --------------------------------------------------------------------------
def qe_map(data, q, energy, *, beam=None, q_convention: str = "angular", negative: str = "error",
           quantity: str = "counts", metadata: dict | None = None) -> Measurement:
    """A checked q–E map from an array and its axes (see the module docstring).

    Args:
        data: counts (n_q, n_E) or (n_qy, n_qx, n_E), real.
        q: the q axis (2-D maps) or a tuple (qy, qx) (3-D maps): each a :class:`~jaxem.measurement.Axis`
            or a ``(coordinates, units)`` pair; units 1/Å, 1/nm, or (with ``beam``) mrad/rad.
        energy: the energy-loss axis: an Axis or ``(coordinates, units)``; eV, meV, keV or THz.
        beam: a :class:`~jaxem.beam.Beam` or an energy (``"100 kV"``); needed for angular q axes and for
            the characteristic momentum q_E later on. Stored in the metadata.
        q_convention: ``"angular"`` (q = 2π/d, default) or ``"spatial"`` (k = 1/d, multiplied by 2π).
        negative: ``"error"`` (negative counts are refused) or ``"mask"`` (masked like NaN pixels).
        quantity: what the values are (``"counts"``, ``"S(q,ω)"`` …).
        metadata: extra metadata to keep.

    Returns:
        Measurement with axes ``q`` (or ``qy``, ``qx``) [1/Å] and ``E`` [eV], float64 data with NaN at
        masked pixels, metadata ``beam``, ``q_convention="angular"`` (after conversion),
        ``bad_pixels`` (count and (n_bad, ndim) indices) and the source's metadata.
    """
    validate.choice(q_convention, "q_convention", Q_CONVENTIONS)
    validate.choice(negative, "negative", ("error", "mask"))
    beam = None if beam is None else as_beam(beam)
    arr = validate.array(data, "data", ndim=(2, 3), kind="real", finite=False)
    arr = np.array(arr, dtype=np.float64)
    nq = arr.ndim - 1
    qs = (q,) if nq == 1 else q
    if nq == 2 and (isinstance(q, (Axis, dict)) or not isinstance(q, (tuple, list)) or len(q) != 2
                    or (len(q) == 2 and isinstance(q[1], str))):
        raise validate.InputError(f"data of shape {arr.shape} is a 3-D map: q must be a pair of axes (qy, qx)")
    names = ("q",) if nq == 1 else ("qy", "qx")
    axes = []
    for i, (ax, name) in enumerate(zip(qs, names)):
        v, units, _ = _coords(ax, arr.shape[i], f"q axis {name!r}")
        if v.size != arr.shape[i]:
            raise validate.InputError(f"q axis {name!r} has {v.size} values but data axis {i} has {arr.shape[i]}")
        f = _q_factor(units, f"q axis {name!r}", beam, q_convention)
        off, step, rev = _uniform(v * f, f"q axis {name!r}", "1/Å")
        if rev:
            arr = np.flip(arr, i)
        axes.append(Axis(name, step, "1/Å", off))
    v, units, _ = _coords(energy, arr.shape[-1], "energy")
    if v.size != arr.shape[-1]:
        raise validate.InputError(f"energy axis has {v.size} values but the data's last axis has {arr.shape[-1]}")
    off, step, rev = _uniform(v * _e_factor(units, "energy axis"), "energy axis", "eV")
    if rev:
        arr = np.flip(arr, -1)
    axes.append(Axis("E", step, "eV", off))
    arr = np.ascontiguousarray(arr)
    bad = ~np.isfinite(arr)
    neg = np.isfinite(arr) & (arr < 0)
    if neg.any():
        if negative == "error":
            first = tuple(int(i) for i in np.argwhere(neg)[0])
            raise validate.InputError(f"data holds {int(neg.sum())} negative count(s) (first at index {first}, value "
                                      f"{arr[first]:g}); counts must be ≥ 0 — pass negative='mask' to mask them")
        bad |= neg
    if bad.all():
        raise validate.InputError(f"data has no valid pixel (all {arr.size} are NaN/inf or masked)")
    arr[bad] = np.nan
    md = dict(metadata or {})
    md.update({"quantity": quantity, "units": "counts" if quantity == "counts" else md.get("units", ""),
               "q_convention": "angular", "signal_type": "EELS",
               "bad_pixels": {"count": int(bad.sum()), "indices": np.argwhere(bad).tolist()}})
    if beam is not None:
        md["beam"] = beam.to_dict()
    return Measurement(arr, tuple(axes), md, signal_ndim=1)


def _beam_of(m: Measurement, beam):
    if beam is not None:
        return as_beam(beam)
    try:
        return m.beam()
    except (validate.InputError, KeyError, TypeError, ValueError):
        return None


def as_qe_map(obj, *, beam=None, q_convention: str = "angular", negative: str = "error",
              name: str = "obj") -> Measurement:
    """A q–E map from a Measurement, a HyperSpy signal, an xarray DataArray or a file path.

    A Measurement that already is a checked q–E map (axes ``q``/``qy``,``qx`` in 1/Å and ``E`` in eV,
    ``q_convention="angular"``) is returned as it is (with ``beam`` added if given). ``name`` is the
    argument named in errors (the caller's, e.g. ``"qe"``).
    """
    if isinstance(obj, (str, Path)):
        validate.path(obj, name, kind="any")
        return read(obj, beam=beam, q_convention=q_convention, negative=negative)
    if hasattr(obj, "axes_manager"):
        return from_hyperspy(obj, beam=beam, q_convention=q_convention, negative=negative)
    if type(obj).__module__.startswith("xarray"):
        obj = Measurement.from_xarray(obj)
    if not isinstance(obj, Measurement):
        raise validate.InputTypeError(f"{name} must be a q–E map: a Measurement, a HyperSpy signal, an xarray DataArray or "
                                      f"a path; got {type(obj).__name__} (for a plain array use eels.qe_map(data, q, "
                                      f"energy))")
    b = _beam_of(obj, beam)
    if (obj.metadata.get("q_convention") == "angular" and obj.axes[-1].units == "eV"
            and all(a.units == "1/Å" for a in obj.axes[:-1])):
        if beam is not None:
            return obj.with_array(obj.array, beam=b.to_dict())
        return obj
    md = {k: v for k, v in obj.metadata.items() if k not in ("q_convention", "bad_pixels", "beam")}
    q = obj.axes[0] if obj.ndim == 2 else tuple(obj.axes[:-1])
    return qe_map(obj.array, q, obj.axes[-1], beam=b, q_convention=q_convention, negative=negative,
                  quantity=str(obj.metadata.get("quantity") or "counts"), metadata=md)


def from_hyperspy(signal, *, beam=None, q_convention: str = "angular", negative: str = "error") -> Measurement:
    """A q–E map from a HyperSpy (exspy ``EELSSpectrum``) signal: the signal axis is the energy loss, the
    navigation axes are q. Non-uniform axes are accepted when their coordinates are uniformly spaced;
    the beam energy comes from ``metadata.Acquisition_instrument.TEM.beam_energy`` [keV] unless given."""
    if not hasattr(signal, "axes_manager") or not hasattr(signal, "data"):
        raise validate.InputTypeError(f"signal must be a HyperSpy signal, got {type(signal).__name__}")
    am = signal.axes_manager
    if am.signal_dimension != 1 or am.navigation_dimension not in (1, 2):
        raise validate.InputError(f"signal must have one signal (energy) axis and one or two navigation (q) axes, "
                                  f"got {am.signal_dimension} signal and {am.navigation_dimension} navigation axes "
                                  f"(shape {signal.data.shape}); transpose it so that E is the signal axis")
    d = am.as_dictionary()
    axes = [d[f"axis-{i}"] for i in range(len(d))]  # array order
    coords = []
    for i, a in enumerate(axes):
        v, units, _ = _coords(a, signal.data.shape[i], f"axis {i}")
        coords.append((v, "" if units in ("None", "<undefined>") else units))
    if beam is None:
        tem = signal.metadata.as_dictionary().get("Acquisition_instrument", {}).get("TEM", {})
        if "beam_energy" in tem:
            beam = Beam(float(tem["beam_energy"]) * 1e3)
    q = coords[0] if len(coords) == 2 else tuple(coords[:-1])
    title = signal.metadata.as_dictionary().get("General", {}).get("title", "")
    return qe_map(np.asarray(signal.data), q, coords[-1], beam=beam, q_convention=q_convention, negative=negative,
                  metadata={"title": title, "source": "HyperSpy signal"} if title else {"source": "HyperSpy signal"})


def read(path, *, reader: str | None = None, signal: int = 0, beam=None, q_convention: str = "angular",
         negative: str = "error") -> Measurement:
    """Read a q–E map from a file: jaxem's own ``.zspy``/``.zarr`` stores (:func:`jaxem.io.load`), or any
    format rosettasciio reads (DM3/DM4, ``.hspy``, EMD, MSA …) through :func:`jaxem.io.vendor.read_signals`
    (size checks, errors naming the file). ``signal`` picks one of several signals in the file."""
    path = validate.path(path, "path", kind="any")
    if path.suffix.lower() in _JAXEM_LAYOUT:
        from ..io import load

        m = load(path)
        return as_qe_map(m, beam=beam, q_convention=q_convention, negative=negative)
    from ..io.vendor import read_signals, resolve

    path, plugin = resolve(path, reader, _READERS, "q–E map")
    signals = read_signals(path, plugin, lazy=False)
    i = validate.integer(signal, "signal", lo=0, hi=len(signals) - 1)
    d = signals[i]
    data = np.asarray(d["data"])
    axes = list(d["axes"])
    if data.ndim not in (2, 3) or len(axes) != data.ndim:
        raise validate.FileFormatError(path, f"signal {i} has shape {data.shape} with {len(axes)} axes; a q–E map "
                                             f"is 2-D (q, E) or 3-D (qy, qx, E)")
    md = d.get("metadata", {}) or {}
    if beam is None:
        tem = md.get("Acquisition_instrument", {}).get("TEM", {})
        if "beam_energy" in tem:
            beam = Beam(float(tem["beam_energy"]) * 1e3)
    q = axes[0] if data.ndim == 2 else tuple(axes[:-1])
    return qe_map(data, q, axes[-1], beam=beam, q_convention=q_convention, negative=negative,
                  metadata={"source": str(path), "reader": plugin,
                            "title": str(md.get("General", {}).get("title", "")) or path.stem})


def _energy_units(units: str) -> bool:
    return units.strip() in _ENERGIES or units.strip() == "THz"


def from_sqw(sqw, q=None, energy=None, *, q_convention: str = "angular", beam=None, side: str = "loss") -> Measurement:
    """A q–E map from a dynamic structure factor S(q, ω) (phonon or plasmon), e.g. from a simulation.

    Accepts jaxem's TACAW spectra (:class:`jaxem.phonons.TacawSpectrum`, energy first in meV, or its
    :meth:`~jaxem.phonons.TacawSpectrum.to_measurement`), any :class:`~jaxem.measurement.Measurement` with
    q axes and one energy axis (eV, meV, keV or THz, E = h·ν; first or last), or an array with ``q`` and
    ``energy`` axes. A TACAW spectrum's q axes are pixels or points of a region: pass ``q`` (the
    coordinates along the path, with units) — its q are spatial frequencies 1/d, so
    ``q_convention="spatial"`` for them. ``side="loss"`` keeps E ≥ 0 (energy lost by the electron; TACAW's
    convention), ``"both"`` the whole axis. Negative S is an error. The result is analysed by the same
    code as measured maps (``quantity="S(q,ω)"``; no ZLP).
    """
    validate.choice(side, "side", ("loss", "both"))
    if type(sqw).__name__ == "TacawSpectrum" and hasattr(sqw, "intensity"):   # duck-typed: no simulation import
        if q is None:
            raise validate.InputError("a TacawSpectrum has no calibrated q axis: pass q= (coordinates along the "
                                      "path with units, e.g. (q, '1/Å'), with q_convention='spatial' for 1/d)")
        arr = np.moveaxis(np.asarray(sqw.intensity), 0, -1)
        energy = energy if energy is not None else (np.asarray(sqw.energy, float), "meV")
        md = {"source": "TACAW S(q,E)", "quantum_factor": bool(sqw.quantum), "temperature": sqw.temperature,
              "segments": sqw.n_segments}
    elif isinstance(sqw, Measurement):
        axes, arr, md = list(sqw.axes), np.asarray(sqw.array), dict(sqw.metadata)
        if not _energy_units(axes[-1].units) and _energy_units(axes[0].units):       # energy first (TACAW)
            arr, axes = np.moveaxis(arr, 0, -1), axes[1:] + axes[:1]
        if energy is not None:
            raise validate.InputError("sqw is a Measurement with its own energy axis: do not pass energy=")
        if q is None:
            q = axes[0] if arr.ndim == 2 else tuple(axes[:-1])
        energy = axes[-1]
        md.pop("beam", None)
        beam = beam if beam is not None else _beam_of(sqw, None)
    else:
        validate.array(sqw, "sqw", ndim=(2, 3), kind="real", finite=False)
        if q is None or energy is None:
            raise validate.InputError("sqw given as an S(q, ω) array needs its q= and energy= axes")
        arr, md = sqw, {}
    md = {k: v for k, v in md.items() if v is not None}
    md["source"] = md.get("source", "S(q,ω)")
    m = qe_map(arr, q, energy, beam=beam, q_convention=q_convention, negative="error", quantity="S(q,ω)",
               metadata=md)
    if side == "loss":
        e = m.axes[-1].values(m.shape[-1])
        keep = e >= -1e-9 * m.axes[-1].sampling
        if keep.sum() < 2:
            raise validate.InputError(f"the energy axis [{e[0]:g}, {e[-1]:g}] eV has fewer than 2 samples at E ≥ 0; "
                                      f"pass side='both' to keep the gain side")
        i = int(np.argmax(keep))
        if not keep[i:].all():
            raise validate.InputError("the energy axis is not ascending after the conversion")
        m = Measurement(np.ascontiguousarray(m.array[..., i:]), (*m.axes[:-1], Axis("E", m.axes[-1].sampling, "eV",
                        max(float(e[i]), 0.0) if abs(e[i]) < 1e-9 * m.axes[-1].sampling else float(e[i]))),
                        {**m.metadata, "side": "loss (E ≥ 0)"}, signal_ndim=1)
    return m
