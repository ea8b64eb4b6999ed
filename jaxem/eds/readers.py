"""EDS spectrum (image) readers via rosettasciio, and HyperSpy/exspy interop.

:func:`read_eds` reads Bruker ``.bcf``/``.spx``, EMSA ``.msa`` and every other format rosettasciio
knows that holds an EDS signal, and returns an :class:`EDSData`: counts (…nav, channels), the
energy axis [keV], navigation axes (:class:`jaxem.measurement.Axis`) and the acquisition
parameters in jaxem units (beam energy [eV], live time [s], beam current [nA], angles [deg]).
Every file is checked against its header before and after reading (:mod:`jaxem.io.vendor`): a
truncated Bruker ``.bcf`` or EMSA file, or one whose channel count disagrees with its header, is a
:class:`~jaxem.validate.FileFormatError` naming the file and the expected and found size.
``to_hyperspy`` / ``from_hyperspy`` convert to and from an exspy ``EDSTEMSpectrum`` (optional
dependency, imported lazily).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import pytree, validate
from ..measurement import Axis
from ..validate import FileFormatError

_READERS = {".bcf": "bruker", ".spx": "bruker", ".msa": "msa", ".ems": "msa", ".emsa": "msa",
            ".emd": "emd", ".rpl": "ripple", ".hspy": "hspy", ".h5": "hspy", ".dm3": "digitalmicrograph",
            ".dm4": "digitalmicrograph"}


@pytree.dataclass
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

    counts: np.ndarray = pytree.field(units="counts")
    energy: np.ndarray = pytree.field(units="keV")
    nav_axes: tuple = pytree.field(static=True, default=())
    metadata: dict = pytree.field(static=True, default_factory=dict)

    def __post_init__(self):
        # concrete data are checked (tracers and pytree placeholders pass)
        c, e = self.counts, self.energy
        if isinstance(c, (str, bytes, dict)) or isinstance(e, (str, bytes, dict)):
            raise validate.InputTypeError("counts and energy must be arrays")
        if isinstance(e, np.ndarray) and not validate.is_traced(e):
            validate.array(e, "energy", ndim=1, kind="real", units="keV")
            if isinstance(c, np.ndarray) and (c.ndim < 1 or c.shape[-1] != e.shape[0]):
                raise validate.InputError(f"counts must have the {e.shape[0]} energy channels on their last axis, "
                                          f"got shape {c.shape}")
            if isinstance(c, np.ndarray) and len(self.nav_axes) not in (0, c.ndim - 1):
                raise validate.InputError(f"nav_axes must hold one Axis per navigation dimension of counts "
                                          f"{c.shape} ({c.ndim - 1}), got {len(self.nav_axes)}")
        if not isinstance(self.metadata, dict):
            raise validate.InputTypeError(f"metadata must be a dict, got {type(self.metadata).__name__}")


def _to_kev(axis: dict, path) -> np.ndarray:
    n = int(axis["size"])
    e = float(axis.get("offset", 0.0)) + float(axis.get("scale", 1.0)) * np.arange(n)
    units = (axis.get("units") or "keV").strip()
    if units == "eV":
        e = e * 1e-3
    elif units != "keV":
        raise FileFormatError(path, f"energy axis units {units!r} not understood (expected eV or keV)")
    if not np.all(np.isfinite(e)):
        raise FileFormatError(path, f"energy axis is not finite (offset {axis.get('offset')!r}, scale "
                                    f"{axis.get('scale')!r})")
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


def read_eds(path, reader: str | None = None) -> EDSData:
    """Read the EDS signal of a vendor file through rosettasciio (see module docstring).

    Args:
        path: the file (``.bcf``, ``.spx``, ``.msa``/``.ems``/``.emsa``, ``.emd``, ``.rpl``, ``.hspy``,
            ``.dm3``/``.dm4`` …).
        reader: rosettasciio plugin name (default from the suffix).

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: the path cannot be read.
        FileFormatError: truncated, damaged, or holding no EDS signal (names the file).
        InputError: unknown suffix or reader.
    """
    from ..io.vendor import read_signals, resolve

    path, plugin = resolve(path, reader, _READERS, "EDS")
    signals = read_signals(path, plugin, lazy=False)
    found = [d for d in signals if str(d.get("metadata", {}).get("Signal", {}).get("signal_type", ""))
             .startswith("EDS")]
    if not found:
        kinds = [str(d.get("metadata", {}).get("Signal", {}).get("signal_type", "")) or "unknown" for d in signals]
        raise FileFormatError(path, f"holds no EDS signal (signal types {kinds})")
    d = found[0]
    axes = d["axes"]
    counts = np.asarray(d["data"])
    if counts.ndim != len(axes) or any(int(a.get("size", n)) != n for a, n in zip(axes, counts.shape)):
        raise FileFormatError(path, f"data of shape {counts.shape} disagree with the axes' sizes "
                                    f"{[a.get('size') for a in axes]}")
    sig = [i for i, a in enumerate(axes) if a.get("navigate") is False or
           str(a.get("units", "")).strip() in ("keV", "eV") and i == len(axes) - 1]
    isig = sig[-1] if sig else len(axes) - 1
    if isig != len(axes) - 1:
        raise FileFormatError(path, "the energy axis must be the last axis")
    with validate.reading(path, "EDS file"):
        nav = tuple(Axis(a.get("name") or f"axis{i}", float(a.get("scale", 1.0)), str(a.get("units") or "pixels"),
                         float(a.get("offset", 0.0))) for i, a in enumerate(axes[:-1]))
        md = _metadata(d["metadata"])
        energy = _to_kev(axes[-1], path)
    return EDSData(counts, energy, nav, md)


@validate.typed
def to_hyperspy(data: EDSData):
    """An exspy ``EDSTEMSpectrum`` with the acquisition parameters set (needs exspy)."""
    if not isinstance(data, EDSData):
        raise validate.InputTypeError(f"data must be an EDSData, got {type(data).__name__}")
    import exspy

    s = exspy.signals.EDSTEMSpectrum(np.asarray(data.counts))
    ax = s.axes_manager.signal_axes[0]
    ax.scale, ax.offset, ax.units, ax.name = float(np.diff(data.energy[:2])[0]), float(data.energy[0]), "keV", "Energy"
    # HyperSpy lists navigation axes fastest first (x, y); nav_axes follow the array order (y, x)
    for hax, axis in zip(s.axes_manager.navigation_axes[::-1], data.nav_axes):
        hax.name, hax.scale, hax.offset, hax.units = axis.name, float(axis.sampling), float(axis.offset), axis.units
    md = data.metadata
    kw = {k2: md[k1] for k1, k2 in (("elevation_deg", "elevation_angle"), ("azimuth_deg", "azimuth_angle"),
                                    ("tilt_alpha_deg", "tilt_stage"), ("live_time", "live_time"),
                                    ("real_time", "real_time"), ("fwhm_mnka_ev", "energy_resolution_MnKa"),
                                    ("beam_current", "beam_current")) if k1 in md}
    if "beam_energy" in md:
        kw["beam_energy"] = md["beam_energy"] * 1e-3
    if kw:
        s.set_microscope_parameters(**kw, display=False)
    if "tilt_beta_deg" in md:
        s.metadata.set_item("Acquisition_instrument.TEM.Stage.tilt_beta", md["tilt_beta_deg"])
    if md.get("elements"):
        s.add_elements(md["elements"])
    if md.get("xray_lines"):
        s.metadata.set_item("Sample.xray_lines", sorted(md["xray_lines"]))
    if "thickness_nm" in md:
        s.metadata.set_item("Sample.thickness", md["thickness_nm"])
    return s


def from_hyperspy(signal) -> EDSData:
    """Convert a HyperSpy/exspy EDS signal to :class:`EDSData`."""
    if not hasattr(signal, "axes_manager") or not hasattr(signal, "data"):
        raise validate.InputTypeError(f"signal must be a HyperSpy/exspy signal, got {type(signal).__name__}")
    am = signal.axes_manager
    if len(am.signal_axes) != 1:
        raise validate.InputError(f"signal must have one signal (energy) axis, got {len(am.signal_axes)}")
    sa = am.signal_axes[0]
    e = np.asarray(sa.axis, float) * (1e-3 if sa.units == "eV" else 1.0)
    def text(v, default):  # HyperSpy marks unset names/units with traits' Undefined (truthy, not a str)
        return v if isinstance(v, str) and v else default

    nav = tuple(Axis(text(a.name, f"axis{i}"), float(a.scale), text(a.units, "pixels"), float(a.offset))
                for i, a in enumerate(am.navigation_axes[::-1]))
    md = _metadata(signal.metadata.as_dictionary())
    return EDSData(np.asarray(signal.data), e, nav, md)
