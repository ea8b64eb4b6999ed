"""EDS spectrum (image) readers via rosettasciio, and HyperSpy/exspy interop.

:func:`read_eds` reads Bruker ``.bcf``/``.spx``, EMSA ``.msa`` and every other format rosettasciio
knows that holds an EDS signal, and returns an :class:`EDSData`: counts (…nav, channels), the
energy axis [keV], navigation axes (:class:`jaxem.measurement.Axis`) and the acquisition
parameters in jaxem units (beam energy [eV], live time [s], beam current [nA], angles [deg]).
``to_hyperspy`` / ``from_hyperspy`` convert to and from an exspy ``EDSTEMSpectrum`` (optional
dependency, imported lazily).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..measurement import Axis

_READERS = {".bcf": "bruker", ".spx": "bruker", ".msa": "msa", ".ems": "msa", ".emsa": "msa",
            ".emd": "emd", ".rpl": "ripple", ".hspy": "hspy", ".h5": "hspy", ".dm3": "digitalmicrograph",
            ".dm4": "digitalmicrograph"}


@dataclass(frozen=True)
class EDSData:
    """An EDS spectrum or spectrum image.

    Attributes:
        counts: (…nav, n_channels) array.
        energy: (n_channels,) channel energies [keV].
        nav_axes: one :class:`Axis` per navigation dimension.
        metadata: ``beam_energy`` [eV], ``live_time`` [s], ``beam_current`` [nA],
            ``elevation_deg``, ``azimuth_deg``, ``tilt_alpha_deg``, ``tilt_beta_deg``,
            ``elements``, ``xray_lines`` (keys present only when known).
    """

    counts: np.ndarray
    energy: np.ndarray
    nav_axes: tuple = ()
    metadata: dict = field(default_factory=dict)


def _to_kev(axis: dict) -> np.ndarray:
    n = int(axis["size"])
    e = axis.get("offset", 0.0) + axis.get("scale", 1.0) * np.arange(n)
    units = (axis.get("units") or "keV").strip()
    if units == "eV":
        e = e * 1e-3
    elif units != "keV":
        raise ValueError(f"energy axis units {units!r} not understood (expected eV or keV)")
    return e


def _metadata(md: dict) -> dict:
    out = {}
    inst = md.get("Acquisition_instrument", {})
    mic = inst.get("TEM") or inst.get("SEM") or {}
    mic = {str(k).strip(): v for k, v in mic.items()}  # exspy may write 'beam_energy ' (sic)
    if "beam_energy" in mic:
        out["beam_energy"] = float(mic["beam_energy"]) * 1e3  # kV → eV
    if "beam_current" in mic:
        out["beam_current"] = float(mic["beam_current"])
    st = mic.get("Stage", {})
    if "tilt_alpha" in st:
        out["tilt_alpha_deg"] = float(st["tilt_alpha"])
    if "tilt_beta" in st:
        out["tilt_beta_deg"] = float(st["tilt_beta"])
    det = mic.get("Detector", {}).get("EDS", {})
    for k, key in (("elevation_angle", "elevation_deg"), ("azimuth_angle", "azimuth_deg"),
                   ("live_time", "live_time"), ("real_time", "real_time"),
                   ("energy_resolution_MnKa", "fwhm_mnka_ev")):
        if k in det:
            out[key] = float(det[k])
    sample = md.get("Sample", {})
    for k in ("elements", "xray_lines"):
        if k in sample:
            out[k] = list(sample[k])
    if "thickness" in sample:
        out["thickness_nm"] = float(sample["thickness"])
    return out


def read_eds(path) -> EDSData:
    """Read the EDS signal of a vendor file through rosettasciio (see module docstring)."""
    import importlib

    path = Path(path)
    if not path.exists():
        raise ValueError(f"file not found: {path}")
    plugin = _READERS.get(path.suffix.lower())
    if plugin is None:
        raise ValueError(f"unsupported EDS file type {path.suffix!r} (known: {sorted(_READERS)})")
    reader = importlib.import_module(f"rsciio.{plugin}").file_reader
    found = [d for d in reader(str(path)) if str(d["metadata"].get("Signal", {}).get("signal_type", ""))
             .startswith("EDS")]
    if not found:
        raise ValueError(f"{path.name} holds no EDS signal")
    d = found[0]
    axes = d["axes"]
    sig = [i for i, a in enumerate(axes) if a.get("navigate") is False or
           str(a.get("units", "")).strip() in ("keV", "eV") and i == len(axes) - 1]
    isig = sig[-1] if sig else len(axes) - 1
    if isig != len(axes) - 1:
        raise ValueError(f"{path.name}: the energy axis must be the last axis")
    nav = tuple(Axis(a.get("name") or f"axis{i}", float(a.get("scale", 1.0)), str(a.get("units") or "pixels"),
                     float(a.get("offset", 0.0))) for i, a in enumerate(axes[:-1]))
    md = _metadata(d["metadata"])
    return EDSData(np.asarray(d["data"]), _to_kev(axes[-1]), nav, md)


def to_hyperspy(data: EDSData):
    """An exspy ``EDSTEMSpectrum`` with the acquisition parameters set (needs exspy)."""
    import exspy

    s = exspy.signals.EDSTEMSpectrum(np.asarray(data.counts))
    ax = s.axes_manager.signal_axes[0]
    ax.scale, ax.offset, ax.units, ax.name = float(np.diff(data.energy[:2])[0]), float(data.energy[0]), "keV", "Energy"
    md = data.metadata
    kw = {k2: md[k1] for k1, k2 in (("elevation_deg", "elevation_angle"), ("azimuth_deg", "azimuth_angle"),
                                    ("tilt_alpha_deg", "tilt_stage"), ("live_time", "live_time"),
                                    ("beam_current", "beam_current")) if k1 in md}
    if "beam_energy" in md:
        kw["beam_energy"] = md["beam_energy"] * 1e-3
    if kw:
        s.set_microscope_parameters(**kw)
    if md.get("elements"):
        s.add_elements(md["elements"])
    return s


def from_hyperspy(signal) -> EDSData:
    """Convert a HyperSpy/exspy EDS signal to :class:`EDSData`."""
    am = signal.axes_manager
    sa = am.signal_axes[0]
    e = np.asarray(sa.axis, float) * (1e-3 if sa.units == "eV" else 1.0)
    nav = tuple(Axis(a.name or "nav", float(a.scale), str(a.units), float(a.offset))
                for a in am.navigation_axes[::-1])
    md = _metadata(signal.metadata.as_dictionary())
    return EDSData(np.asarray(signal.data), e, nav, md)
