"""The 4D-STEM dataset: intensities (scan_y, scan_x, ky, kx) with their calibration.

A :class:`Dataset4D` holds the array (NumPy, JAX or a lazy Dask array for data larger than memory)
and everything the direct phase-retrieval methods need:

* ``scan_sampling`` (dy, dx) [Å] — the scan step;
* ``detector_sampling`` (dky, dkx) [1/Å] — the detector pixel size (use
  :meth:`Dataset4D.from_array` with ``angular_sampling`` [mrad] to give it as an angle);
* ``energy`` [eV]; ``semiangle`` [mrad] — the probe-forming aperture;
* ``center`` (cy, cx) [px] — position of the unscattered beam (k = 0) on the detector;
* ``rotation`` θ [rad] and ``transpose`` — detector orientation relative to the scan
  (:mod:`jaxem.phase.geometry`); ``aberrations`` — known probe aberrations.

Calibration fields that are ``None`` are unknown; :meth:`Dataset4D.require` raises a
``ValueError`` that names what is missing and how to obtain it (:mod:`jaxem.phase.calibration`).
The container is an outer-layer convenience: kernels take plain arrays and numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import physics
from ..measurement import Axis, Measurement
from ..optics.aberrations import Aberrations

_HOW = {
    "energy": "pass energy=… [eV]",
    "semiangle": "pass semiangle=… [mrad] or run calibration.calibrate_bright_field",
    "center": "run calibration.calibrate_bright_field (or pass center=(cy, cx) [px])",
    "detector_sampling": "pass detector_sampling [1/Å] or angular_sampling [mrad], or calibrate it "
                         "from a known semiangle with calibration.calibrate_bright_field",
}


def _pair(value, name):
    if value is None:
        return None
    if np.ndim(value) == 0:
        value = (value, value)
    value = tuple(float(v) for v in value)
    if len(value) != 2 or not all(math.isfinite(v) and v > 0 for v in value):
        raise ValueError(f"{name} must be a positive finite scalar or (y, x) pair, got {value!r}")
    return value


@dataclass(frozen=True)
class Dataset4D:
    """4D-STEM intensities with calibration (see module docstring for fields and units)."""

    array: Any
    scan_sampling: tuple
    energy: float | None = None
    detector_sampling: tuple | None = None
    semiangle: float | None = None
    center: tuple | None = None
    rotation: float = 0.0
    transpose: bool = False
    aberrations: Aberrations = field(default_factory=Aberrations)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        if np.ndim(self.array) != 4:
            raise ValueError(f"4D-STEM data must be 4D (scan_y, scan_x, ky, kx), got an array of "
                             f"shape {np.shape(self.array)} ({np.ndim(self.array)}D); reshape a "
                             f"flat scan with array.reshape(ny, nx, *detector)")
        if min(np.shape(self.array)) < 2:
            raise ValueError(f"every axis of the 4D data needs ≥ 2 points, got shape {np.shape(self.array)}")
        object.__setattr__(self, "scan_sampling", _pair(self.scan_sampling, "scan_sampling [Å]"))
        object.__setattr__(self, "detector_sampling",
                           _pair(self.detector_sampling, "detector_sampling [1/Å]"))
        if self.energy is not None:
            physics.wavelength(self.energy)  # validates energy > 0
            object.__setattr__(self, "energy", float(self.energy))
        if self.semiangle is not None and not (0 < float(self.semiangle) < 1000):
            raise ValueError(f"semiangle must be in (0, 1000) mrad, got {self.semiangle!r}")
        if self.center is not None:
            c = tuple(float(v) for v in self.center)
            ny, nx = self.detector_shape
            if len(c) != 2 or not (0 <= c[0] <= ny - 1 and 0 <= c[1] <= nx - 1):
                raise ValueError(f"center must be (cy, cx) inside the {ny}×{nx} detector [px], got {self.center!r}")
            object.__setattr__(self, "center", c)
        if not math.isfinite(float(self.rotation)):
            raise ValueError(f"rotation must be finite [rad], got {self.rotation!r}")
        object.__setattr__(self, "rotation", float(self.rotation))
        object.__setattr__(self, "transpose", bool(self.transpose))

    # ---- constructors -------------------------------------------------------------------------
    @classmethod
    def from_array(cls, array, scan_sampling, energy=None, detector_sampling=None, angular_sampling=None,
                   **kwargs) -> "Dataset4D":
        """Build from an array; ``angular_sampling`` [mrad/px] is converted with λ(energy)."""
        if angular_sampling is not None:
            if detector_sampling is not None:
                raise ValueError("give detector_sampling [1/Å] or angular_sampling [mrad], not both")
            if energy is None:
                raise ValueError("angular_sampling [mrad] needs energy [eV] to convert to 1/Å")
            a = _pair(angular_sampling, "angular_sampling [mrad]")
            detector_sampling = tuple(physics.mrad_to_frequency(v, energy) for v in a)
        return cls(array, scan_sampling, energy=energy, detector_sampling=detector_sampling, **kwargs)

    def replace(self, **changes) -> "Dataset4D":
        """Copy with some fields changed (e.g. after calibration)."""
        return replace(self, **changes)

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
    def wavelength(self) -> float:
        """λ [Å]."""
        self.require("energy")
        return physics.wavelength(self.energy)

    @property
    def probe_cutoff(self) -> float:
        """Aperture radius k_probe = semiangle/λ [1/Å]."""
        self.require("energy", "semiangle")
        return self.semiangle * 1e-3 / self.wavelength

    @property
    def angular_sampling(self):
        """Detector pixel size (y, x) [mrad]."""
        self.require("energy", "detector_sampling")
        return tuple(d * self.wavelength * 1e3 for d in self.detector_sampling)

    def require(self, *names) -> None:
        """Raise ``ValueError`` naming every calibration field in ``names`` that is still None."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            hints = "; ".join(f"{n}: {_HOW.get(n, 'set it')}" for n in missing)
            raise ValueError(f"missing calibration {missing} for this operation ({hints})")

    def bf_limit_upsampling(self) -> float:
        """Largest useful upsampling factor u = 4·k_probe·Δr [dimensionless].

        Bright-field signal reaches at most twice the probe cutoff k_probe; an output grid of
        sampling Δr/u has its Nyquist frequency u/(2Δr) at 2·k_probe when u = 4·k_probe·Δr, so a
        larger u only interpolates.
        """
        return 4.0 * self.probe_cutoff * max(self.scan_sampling)

    def to_measurement(self) -> Measurement:
        """A :class:`Measurement` with Å/1/Å axes and the calibration as metadata."""
        ds = self.detector_sampling or (1.0, 1.0)
        units = "1/Å" if self.detector_sampling else "pixels"
        c = self.center or (0.0, 0.0)
        axes = (Axis("scan_y", self.scan_sampling[0], "Å"), Axis("scan_x", self.scan_sampling[1], "Å"),
                Axis("ky", ds[0], units, -c[0] * ds[0]), Axis("kx", ds[1], units, -c[1] * ds[1]))
        return Measurement(self.array, axes, self.calibration_dict())

    def calibration_dict(self) -> dict:
        """JSON-serialisable calibration (used by the zarr layout)."""
        return {
            "energy": self.energy, "semiangle": self.semiangle,
            "scan_sampling": list(self.scan_sampling),
            "detector_sampling": list(self.detector_sampling) if self.detector_sampling else None,
            "center": list(self.center) if self.center else None,
            "rotation": self.rotation, "transpose": self.transpose,
            "aberrations": {k: float(v) for k, v in self.aberrations.to_dict().items()},
            "metadata": self.metadata,
        }

    @classmethod
    def from_calibration_dict(cls, array, cal: dict) -> "Dataset4D":
        return cls(array, tuple(cal["scan_sampling"]), energy=cal.get("energy"),
                   detector_sampling=tuple(cal["detector_sampling"]) if cal.get("detector_sampling") else None,
                   semiangle=cal.get("semiangle"),
                   center=tuple(cal["center"]) if cal.get("center") else None,
                   rotation=cal.get("rotation", 0.0), transpose=cal.get("transpose", False),
                   aberrations=Aberrations(**cal.get("aberrations", {})), metadata=cal.get("metadata", {}))
