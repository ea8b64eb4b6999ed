"""The 4D-STEM dataset: intensities (scan_y, scan_x, ky, kx) with their calibration.

A :class:`Dataset4D` holds the array (NumPy, JAX or a lazy Dask array for data larger than memory)
and everything the direct phase-retrieval methods need:

* ``scan_sampling`` (dy, dx) [Å] — the scan step;
* ``scan_origin`` (y, x) [Å] — the position of the first probe position (scan index (0, 0)) in the
  specimen frame (default (0, 0); non-zero for a scan window over part of a cell, e.g. a
  :class:`jaxem.stem.GridScan` that does not start at 0). It is the offset of the ``scan_y, scan_x``
  axes of every conversion (Measurement, stores, HyperSpy, xarray, py4DSTEM) and of the real-space
  axes of the phase reconstructions;
* ``beam`` — the :class:`jaxem.Beam` (energy [eV]; λ and the angle ↔ frequency conversions come
  from it). ``energy=`` is accepted wherever a beam is (a number in eV, ``"300 kV"`` or a Beam);
* ``detector_sampling`` (dky, dkx) [1/Å] — the detector pixel size (:meth:`Dataset4D.from_array`
  also takes ``angular_sampling`` [mrad], converted with the beam);
* ``semiangle`` [mrad] — the probe-forming aperture;
* ``center`` (cy, cx) [px] — position of the unscattered beam (k = 0) on the detector;
* ``rotation`` θ [rad] and ``transpose`` — detector orientation relative to the scan
  (:mod:`jaxem.phase.geometry`); ``aberrations`` — known probe aberrations (C10 = −Δf [Å], …).

Calibration fields that are ``None`` are unknown; :meth:`Dataset4D.require` raises an error that
names what is missing and how to obtain it (:mod:`jaxem.phase.calibration`). The container is an
outer-layer convenience (a :func:`jaxem.pytree.dataclass` whose leaves are the array and the
aberrations): kernels take plain arrays and numbers.

Interoperability: :meth:`to_measurement`/:meth:`from_measurement` for jaxem's one 4D-STEM layout
(:mod:`jaxem.io.stem4d`: axes ``scan_y, scan_x`` [Å] and ``θy, θx`` [mrad] or ``ky, kx`` [1/Å], the
pattern centre in the axis offsets, the energy and calibration in the metadata with units; the
conversions are those of :mod:`jaxem.phase.io`), and
:meth:`to_py4dstem`/:meth:`from_py4dstem` for py4DSTEM ``DataCube`` objects (R and Q pixel sizes
and units, origin, convergence semi-angle).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import pytree, validate
from ..beam import Beam, as_beam
from ..measurement import Measurement
from ..optics.aberrations import Aberrations
from . import geometry, masking

_HOW = {
    "beam": "pass energy=… [eV] (or beam=jaxem.Beam(…))",
    "semiangle": "pass semiangle=… [mrad] or run calibration.calibrate_bright_field",
    "center": "run calibration.calibrate_bright_field (or pass center=(cy, cx) [px])",
    "detector_sampling": "pass detector_sampling [1/Å] or angular_sampling [mrad], or calibrate it "
                         "from a known semiangle with calibration.calibrate_bright_field",
}
_PLACEHOLDER = object  # jax.tree_util may rebuild pytrees with object() sentinels as leaves


def _beam(beam, energy):
    if beam is not None and energy is not None:
        raise validate.InputError(f"give energy= or beam=, not both (got energy={energy!r}, beam={beam!r})")
    value = beam if beam is not None else energy
    if value is None:
        return None
    return as_beam(value, "energy" if energy is not None else "beam")


def _optional_pair(value, name, units):
    return None if value is None else validate.pair(value, name, units, positive=True, allow_traced=False)


@pytree.dataclass(eq=False)
class Dataset4D:
    """4D-STEM intensities with calibration (see the module docstring for fields and units).

    ``Dataset4D(array, scan_sampling, beam_or_energy, detector_sampling=…, semiangle=…, center=…,
    rotation=…, transpose=…, aberrations=…, metadata=…, scan_origin=(y0, x0))``; ``energy=`` may be
    given by keyword instead of ``beam=``.
    """

    array: Any = pytree.field()
    scan_sampling: tuple = pytree.field(static=True, units="Å")
    scan_origin: tuple = pytree.field(static=True, units="Å", default=(0.0, 0.0))
    beam: Beam | None = pytree.field(static=True, default=None)
    detector_sampling: tuple | None = pytree.field(static=True, units="1/Å", default=None)
    semiangle: float | None = pytree.field(static=True, units="mrad", default=None)
    center: tuple | None = pytree.field(static=True, units="px", default=None)
    rotation: float = pytree.field(static=True, units="rad", default=0.0)
    transpose: bool = pytree.field(static=True, default=False)
    aberrations: Aberrations = pytree.field(default_factory=Aberrations)
    metadata: dict = pytree.field(static=True, default_factory=dict, compare=False)

    def __init__(self, array, scan_sampling, beam=None, detector_sampling=None, semiangle=None, center=None,
                 rotation=0.0, transpose=False, aberrations=None, metadata=None, *, energy=None,
                 scan_origin=(0.0, 0.0)):
        set_ = object.__setattr__
        set_(self, "array", array)
        set_(self, "aberrations", aberrations if aberrations is not None else Aberrations())
        if type(array) is _PLACEHOLDER or validate.is_traced(array):  # rebuilt by jax.tree_util
            for name, value in (("scan_sampling", scan_sampling), ("scan_origin", scan_origin), ("beam", beam),
                                ("detector_sampling",
                                detector_sampling), ("semiangle", semiangle), ("center", center),
                                ("rotation", rotation), ("transpose", transpose), ("metadata", metadata)):
                set_(self, name, value)
            return
        shape = tuple(np.shape(array)) if hasattr(array, "shape") else None
        if shape is None or not hasattr(array, "dtype"):
            raise validate.InputTypeError(f"array must be a 4D array (scan_y, scan_x, ky, kx), got "
                                          f"{type(array).__name__}")
        if len(shape) != 4:
            raise validate.InputError(f"array: 4D-STEM data must be 4D (scan_y, scan_x, ky, kx), got shape "
                                      f"{shape} ({len(shape)}D); reshape a flat scan with "
                                      f"array.reshape(ny, nx, *detector)")
        if min(shape) < 2:
            raise validate.InputError(f"array: every axis of the 4D data needs ≥ 2 points, got shape {shape}")
        if np.dtype(array.dtype).kind not in "iuf":
            raise validate.InputTypeError(f"array: 4D-STEM intensities must be real numbers, got dtype "
                                          f"{np.dtype(array.dtype)}")
        set_(self, "scan_sampling", validate.pair(scan_sampling, "scan_sampling", "Å", positive=True,
                                                  allow_traced=False))
        set_(self, "scan_origin", validate.pair(scan_origin, "scan_origin", "Å", allow_traced=False))
        set_(self, "beam", _beam(beam, energy))
        set_(self, "detector_sampling", _optional_pair(detector_sampling, "detector_sampling", "1/Å"))
        if semiangle is not None:
            semiangle = validate.scalar(semiangle, "semiangle", "mrad", lo=0, hi=1000, lo_open=True,
                                        allow_traced=False)
        set_(self, "semiangle", semiangle)
        if center is not None:
            c = validate.pair(center, "center", "px", allow_traced=False)
            ny, nx = shape[2:]
            if not (0 <= c[0] <= ny - 1 and 0 <= c[1] <= nx - 1):
                raise validate.InputError(f"center must be (cy, cx) inside the {ny}×{nx} detector [px], got "
                                          f"{center!r}")
            center = c
        set_(self, "center", center)
        set_(self, "rotation", geometry.check_rotation(rotation, "rotation"))
        validate.flag(transpose, "transpose")
        set_(self, "transpose", bool(transpose))
        set_(self, "aberrations", geometry.check_aberrations(self.aberrations))
        if metadata is not None and not isinstance(metadata, dict):
            raise validate.InputTypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        set_(self, "metadata", dict(metadata or {}))

    # ---- constructors -------------------------------------------------------------------------
    @classmethod
    def from_array(cls, array, scan_sampling, energy=None, detector_sampling=None, angular_sampling=None,
                   beam=None, **kwargs) -> "Dataset4D":
        """Build from an array; ``angular_sampling`` [mrad/px] is converted with the beam
        (k = α/λ)."""
        b = _beam(beam, energy)
        if angular_sampling is not None:
            if detector_sampling is not None:
                raise validate.InputError("give detector_sampling [1/Å] or angular_sampling [mrad], not both")
            if b is None:
                raise validate.InputError("angular_sampling [mrad] needs energy [eV] to convert to 1/Å")
            a = validate.pair(angular_sampling, "angular_sampling", "mrad", positive=True, allow_traced=False)
            detector_sampling = tuple(float(b.mrad_to_frequency(v)) for v in a)
        return cls(array, scan_sampling, b, detector_sampling=detector_sampling, **kwargs)

    def replace(self, **changes) -> "Dataset4D":
        """Copy with some fields changed (e.g. after calibration); ``energy=`` sets the beam."""
        if "energy" in changes:
            changes["beam"] = _beam(changes.pop("beam", None), changes.pop("energy"))
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            name = sorted(unknown)[0]
            hint = validate.closest(name, [f.name for f in dataclasses.fields(self)] + ["energy"])
            raise validate.InputTypeError(f"Dataset4D has no field {name!r}"
                                          + (f" (did you mean {hint!r}?)" if hint else ""))
        return dataclasses.replace(self, **changes)

    # ---- derived ------------------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(np.shape(self.array))

    @property
    def scan_shape(self):
        return self.shape[:2]

    @property
    def detector_shape(self):
        return self.shape[2:]

    @property
    def is_lazy(self) -> bool:
        return type(self.array).__module__.startswith("dask")

    @property
    def energy(self) -> float | None:
        """Beam energy [eV] (None if unknown)."""
        return None if self.beam is None else self.beam.energy

    @property
    def wavelength(self) -> float:
        """λ [Å] (from the beam)."""
        self.require("beam")
        return self.beam.wavelength

    @property
    def probe_cutoff(self) -> float:
        """Aperture radius k_probe = semiangle/λ [1/Å]."""
        self.require("beam", "semiangle")
        return float(self.beam.mrad_to_frequency(self.semiangle))

    @property
    def angular_sampling(self):
        """Detector pixel size (y, x) [mrad]."""
        self.require("beam", "detector_sampling")
        return tuple(float(self.beam.frequency_to_mrad(d)) for d in self.detector_sampling)

    def require(self, *names) -> None:
        """Raise an error naming every calibration field in ``names`` that is still None
        (``"energy"`` is the same as ``"beam"``)."""
        names = tuple("beam" if n == "energy" else n for n in names)
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            hints = "; ".join(f"{n}: {_HOW.get(n, 'set it')}" for n in missing)
            raise validate.InputError(f"missing calibration {['energy' if n == 'beam' else n for n in missing]} "
                                      f"for this operation ({hints})")

    def bf_limit_upsampling(self) -> float:
        """Largest useful upsampling factor u = 4·k_probe·Δr [dimensionless].

        Bright-field signal reaches at most twice the probe cutoff k_probe; an output grid of
        sampling Δr/u has its Nyquist frequency u/(2Δr) at 2·k_probe when u = 4·k_probe·Δr, so a
        larger u only interpolates.
        """
        return 4.0 * self.probe_cutoff * max(self.scan_sampling)

    def bad_data(self) -> masking.BadData:
        """The non-finite values of the data (one pass over it; see :mod:`jaxem.phase.masking`)."""
        if not masking.can_hold_bad(self.array):
            return masking.BadData()
        return masking.scan(self.array)[2]

    # ---- the calibration as a dict (jaxem's zarr attribute) ------------------------------------
    def calibration_dict(self) -> dict:
        """JSON-serialisable calibration (energy [eV], samplings, centre [px], rotation [rad], …)."""
        return {
            "energy": self.energy, "semiangle": self.semiangle,
            "scan_sampling": list(self.scan_sampling), "scan_origin": list(self.scan_origin),
            "detector_sampling": list(self.detector_sampling) if self.detector_sampling else None,
            "center": list(self.center) if self.center else None,
            "rotation": self.rotation, "transpose": self.transpose,
            "aberrations": {k: float(v) for k, v in self.aberrations.to_dict().items()},
            "metadata": self.metadata,
        }

    @classmethod
    def from_calibration_dict(cls, array, cal: dict) -> "Dataset4D":
        """Inverse of :meth:`calibration_dict`."""
        if not isinstance(cal, dict) or "scan_sampling" not in cal:
            raise validate.InputError(f"a jaxem 4D-STEM calibration dict needs 'scan_sampling', got {cal!r}")
        return cls(array, tuple(cal["scan_sampling"]), energy=cal.get("energy"),
                   scan_origin=tuple(cal.get("scan_origin", (0.0, 0.0))),
                   detector_sampling=tuple(cal["detector_sampling"]) if cal.get("detector_sampling") else None,
                   semiangle=cal.get("semiangle"),
                   center=tuple(cal["center"]) if cal.get("center") else None,
                   rotation=cal.get("rotation", 0.0), transpose=cal.get("transpose", False),
                   aberrations=Aberrations(**cal.get("aberrations", {})), metadata=cal.get("metadata", {}))

    # ---- jaxem's 4D-STEM layout (Measurement) ---------------------------------------------------
    def to_measurement(self) -> Measurement:
        """The data as a :class:`~jaxem.measurement.Measurement` in jaxem's one 4D-STEM layout
        (:mod:`jaxem.io.stem4d`, written by :func:`jaxem.phase.io.to_measurement`): axes
        ``scan_y, scan_x`` [Å] (offset = ``scan_origin``) and ``ky, kx`` [1/Å] (pixels when the detector is uncalibrated;
        k = 0 at the centre), the energy, beam, semi-angle, samplings, rotation, transpose,
        aberrations and centre in the metadata with units. :func:`jaxem.io.save` writes it."""
        from .io import to_measurement

        return to_measurement(self)

    @classmethod
    def from_measurement(cls, m: Measurement, **calibration) -> "Dataset4D":
        """A dataset from a 4D-STEM :class:`~jaxem.measurement.Measurement` in the layout of
        :mod:`jaxem.io.stem4d` (e.g. ``stem_scan(...)["pixelated"]`` or ``jaxem.io.load(path)``):
        scan axes [Å] (their offsets are the ``scan_origin``), pattern axes ``θy, θx`` [mrad] (converted with the beam) or ``ky, kx`` [1/Å],
        the centre from the pattern-axis offsets, the energy, semi-angle, rotation, transpose and
        aberrations from the metadata (:func:`jaxem.phase.read_4dstem`). ``calibration`` overrides or
        completes any field (``energy=``, ``semiangle=`` …)."""
        from .io import read_4dstem

        if not isinstance(m, Measurement):
            raise validate.InputTypeError(f"m must be a jaxem Measurement, got {type(m).__name__}")
        return read_4dstem(m, **calibration)

    # ---- py4DSTEM ---------------------------------------------------------------------------------
    def to_py4dstem(self):
        """A py4DSTEM ``DataCube`` of the data (array axes (Rx, Ry, Qx, Qy) = (scan_y, scan_x, ky, kx):
        py4DSTEM's x is the first array axis) with calibrations: R pixel size [Å] (units ``"A"``),
        Q pixel size [1/Å] (units ``"A^-1"``; pixels if uncalibrated), the origin (the pattern centre
        [px]) and the convergence semi-angle [mrad]. py4DSTEM has one pixel size per space, so
        anisotropic samplings are refused. The detector rotation and the energy are not part of a
        DataCube (pass ``energy`` to py4DSTEM's methods). py4DSTEM's calibration has no real-space
        origin (it rebuilds the R dimension vectors from 0 whenever the calibration changes, and on
        reading a file), so the ``scan_origin`` [Å] is written to the DataCube's metadata
        ``"jaxem"`` (kept by ``py4DSTEM.save``/``read``) and to its R dimension vectors."""
        import py4DSTEM

        if not np.isclose(*self.scan_sampling, rtol=1e-9, atol=0.0):  # (end − start)/n rounds in the last bit
            raise validate.InputError(f"scan_sampling {self.scan_sampling} Å is anisotropic; a py4DSTEM DataCube "
                                      f"has one R pixel size")
        if self.detector_sampling is not None and not np.isclose(*self.detector_sampling, rtol=1e-9, atol=0.0):
            raise validate.InputError(f"detector_sampling {self.detector_sampling} 1/Å is anisotropic; a py4DSTEM "
                                      f"DataCube has one Q pixel size")
        dc = py4DSTEM.DataCube(data=np.asarray(self.array))
        cal = dc.calibration
        cal.set_R_pixel_size(self.scan_sampling[0])
        cal.set_R_pixel_units("A")
        if self.detector_sampling is not None:
            cal.set_Q_pixel_size(self.detector_sampling[0])
            cal.set_Q_pixel_units("A^-1")
        if self.center is not None:
            cal.set_qx0_mean(self.center[0])
            cal.set_qy0_mean(self.center[1])
        if self.semiangle is not None:
            cal.set_convergence_semiangle_mrad(self.semiangle)
        from emdfile import Metadata

        md = Metadata(name=_PY4DSTEM_METADATA)
        md["scan_origin"] = np.asarray(self.scan_origin, np.float64)
        md["scan_origin_units"] = "A"
        dc.metadata = md
        for i, (n, d, o) in enumerate(zip(self.scan_shape, self.scan_sampling, self.scan_origin)):
            dc.set_dim(i, o + d * np.arange(n), units="A", name=("Rx", "Ry")[i])
        return dc

    @classmethod
    def from_py4dstem(cls, datacube, energy=None, beam=None, **calibration) -> "Dataset4D":
        """A dataset from a py4DSTEM ``DataCube`` (see :meth:`to_py4dstem`) and the beam energy
        [eV] (a DataCube does not record it). R pixel units ``A`` or ``nm``; Q pixel units ``A^-1``,
        ``mrad`` (converted with the beam) or ``pixels`` (uncalibrated). The scan origin [Å] comes
        from the metadata written by :meth:`to_py4dstem`, else from the first value of the R dimension
        vectors (when in A or nm), else (0, 0). ``calibration`` overrides or completes any field."""
        data = getattr(datacube, "data", None)
        if data is None or getattr(datacube, "calibration", None) is None:
            raise validate.InputTypeError(f"datacube must be a py4DSTEM DataCube, got {type(datacube).__name__}")
        cal = datacube.calibration
        b = _beam(beam, energy)
        r_units = str(cal.get_R_pixel_units())
        scale = _TO_ANGSTROM.get(r_units)
        if "scan_sampling" not in calibration:
            if scale is None:
                raise validate.InputError(f"datacube: R pixel units {r_units!r} are not a length (A or nm); "
                                          f"pass scan_sampling=… [Å]")
            calibration["scan_sampling"] = float(cal.get_R_pixel_size()) * scale
        q_units, q = str(cal.get_Q_pixel_units()), float(cal.get_Q_pixel_size())
        kwargs = {}
        if q_units in ("A^-1", "1/A", "1/Å"):
            kwargs["detector_sampling"] = q
        elif q_units == "mrad":
            kwargs["angular_sampling"] = q
        elif q_units != "pixels":
            raise validate.InputError(f"datacube: Q pixel units {q_units!r} must be A^-1, mrad or pixels")
        qx0, qy0 = _get(cal, "get_qx0_mean"), _get(cal, "get_qy0_mean")
        if qx0 is not None and qy0 is not None:
            kwargs["center"] = (float(qx0), float(qy0))
        semi = _get(cal, "get_convergence_semiangle_mrad")
        if semi is not None:
            kwargs["semiangle"] = float(semi)
        origin = _py4dstem_origin(datacube, scale)
        if origin is not None:
            kwargs["scan_origin"] = origin
        kwargs.update(calibration)
        if "detector_sampling" in calibration:
            kwargs.pop("angular_sampling", None)
        return cls.from_array(data, kwargs.pop("scan_sampling"), beam=b, **kwargs)


#: name of the py4DSTEM (emdfile) metadata dictionary to_py4dstem writes
_PY4DSTEM_METADATA = "jaxem"
#: py4DSTEM real-space length units → Å
_TO_ANGSTROM = {"A": 1.0, "Å": 1.0, "nm": 10.0}


def _py4dstem_origin(datacube, scale):
    """(y, x) scan origin [Å] of a DataCube: jaxem's metadata, else the R dimension vectors, else None."""
    try:
        md = datacube.metadata[_PY4DSTEM_METADATA]
        units = _TO_ANGSTROM[str(md["scan_origin_units"])]
        return tuple(float(v) * units for v in np.asarray(md["scan_origin"], np.float64))
    except Exception:  # noqa: BLE001 - not written by jaxem: emdfile raises various errors
        pass
    try:
        dims, dim_units = datacube.dims, datacube.dim_units
        f = [_TO_ANGSTROM.get(str(dim_units[i])) for i in range(2)]
        if scale is None or None in f:
            return None
        return tuple(float(np.asarray(dims[i])[0]) * f[i] for i in range(2))
    except Exception:  # noqa: BLE001 - no dimension vectors
        return None


def _get(cal, getter):
    try:
        return getattr(cal, getter)()
    except Exception:  # noqa: BLE001 - py4DSTEM raises various errors for unset calibrations
        return None
