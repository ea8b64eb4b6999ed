"""Dose bookkeeping for locally time-resolved STEM.

An LTR-STEM acquisition dwells ``n_frames × frame_time_s`` at each scan position with a beam current
``current_pA``. The electrons per frame are N = I·t/e. Two areas turn this into a fluence [e⁻/Å²]
(both are reported, one is chosen as the dose axis of every fit):

* **probe dose**: N / (π d50² / 4), with d50 [Å] the probe diameter containing 50 % of the current;
* **areal ("pixel") dose**: N / step², with step [Å] the scan step.

The cumulative dose at the centre of frame k (0-based) is D_k = Σ_{j<k} d_j + d_k/2, i.e.
D_k = d·(k + ½) for a constant per-frame dose d (the convention of the reference notes, §2.4).

Neighbouring positions also receive dose when the probe is larger than the step; that pre-dose is not
modelled here (state the scan order with the data if it matters).

Times are in seconds (``_s``) and currents in pA (``_pA``) because that is how instruments report
them; all fluences are e⁻/Å². Every value must be finite and > 0 (strings with units such as
``'10 pA'`` or ``'1 ms'`` are parsed).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import pytree, validate
from ..physics import ELEMENTARY_CHARGE

DOSE_AREAS = ("areal", "probe")
_UNITS = {"current_pA": "pA", "frame_time_s": "s", "scan_step": "Å", "probe_diameter": "Å"}


@pytree.dataclass
class DoseSchedule:
    """Beam and scan settings that define the dose of every frame.

    Attributes:
        current_pA: beam current [pA].
        frame_time_s: exposure time of one detector frame [s].
        scan_step: scan step [Å] (sets the areal dose).
        probe_diameter: probe d50 diameter [Å] (sets the probe dose).
        area: which fluence is the dose axis of fits: ``"areal"`` (default) or ``"probe"``.
    """

    current_pA: float = pytree.field(static=True, units="pA")
    frame_time_s: float = pytree.field(static=True, units="s")
    scan_step: float = pytree.field(static=True, units="Å")
    probe_diameter: float = pytree.field(static=True, units="Å")
    area: str = pytree.field(static=True, default="areal")

    def __post_init__(self):
        for name, units in _UNITS.items():
            object.__setattr__(self, name, validate.scalar(getattr(self, name), name, units, positive=True))
        validate.choice(self.area, "area", DOSE_AREAS)

    @classmethod
    def from_frame_dose(cls, frame_dose: float, scan_step: float = 1.0, probe_diameter: float | None = None,
                        frame_time_s: float = 1e-3, area: str = "areal") -> "DoseSchedule":
        """Schedule whose ``area`` dose per frame is ``frame_dose`` [e⁻/Å²] (current is derived [pA])."""
        frame_dose = validate.scalar(frame_dose, "frame_dose", "e⁻/Å²", positive=True)
        probe_diameter = scan_step if probe_diameter is None else probe_diameter
        s = cls(1.0, frame_time_s, scan_step, probe_diameter, area)
        return cls(frame_dose / s.frame_dose, frame_time_s, scan_step, probe_diameter, area)

    @property
    def electrons_per_frame(self) -> float:
        """Mean number of electrons per frame N = I·t/e [e⁻]."""
        return self.current_pA * 1e-12 * self.frame_time_s / ELEMENTARY_CHARGE

    @property
    def probe_dose_per_frame(self) -> float:
        """Probe fluence per frame N/(π d50²/4) [e⁻/Å²]."""
        return self.electrons_per_frame / (math.pi * self.probe_diameter ** 2 / 4)

    @property
    def areal_dose_per_frame(self) -> float:
        """Areal (pixel) fluence per frame N/step² [e⁻/Å²]."""
        return self.electrons_per_frame / self.scan_step ** 2

    @property
    def frame_dose(self) -> float:
        """Per-frame fluence [e⁻/Å²] of the chosen ``area``."""
        return self.areal_dose_per_frame if self.area == "areal" else self.probe_dose_per_frame

    @property
    def dose_rate(self) -> float:
        """Fluence rate of the chosen ``area`` [e⁻/Å²/s]."""
        return self.frame_dose / self.frame_time_s

    def frame_doses(self, n_frames: int) -> np.ndarray:
        """Per-frame fluence [e⁻/Å²], shape ``(n_frames,)`` (float64)."""
        n_frames = validate.integer(n_frames, "n_frames", lo=1)
        return np.full(n_frames, self.frame_dose, dtype=np.float64)

    def metadata(self, n_frames: int | None = None) -> dict:
        """JSON-ready description of the dose (stated in every LTR output)."""
        md = {
            **dataclasses.asdict(self),
            "electrons_per_frame": self.electrons_per_frame,
            "probe_dose_per_frame": self.probe_dose_per_frame,
            "areal_dose_per_frame": self.areal_dose_per_frame,
            "frame_dose": self.frame_dose,
            "dose_axis": f"{self.area} dose [e-/A^2]",
            "dose_convention": "cumulative dose at frame centre D_k = sum_{j<k} d_j + d_k/2",
        }
        if n_frames is not None:
            n_frames = validate.integer(n_frames, "n_frames", lo=1)
            md["n_frames"] = n_frames
            md["total_dose"] = float(self.frame_dose * n_frames)
        return md

    @classmethod
    def from_metadata(cls, md: dict) -> "DoseSchedule":
        """Inverse of :meth:`metadata`; raises ``ValueError`` naming any missing key."""
        if not isinstance(md, dict):
            raise validate.InputError(f"dose metadata must be a dict, got {type(md).__name__}")
        keys = ("current_pA", "frame_time_s", "scan_step", "probe_diameter")
        missing = [k for k in keys if k not in md]
        if missing:
            raise validate.InputError(f"dose metadata is missing {missing}; needs {list(keys)}")
        return cls(*(md[k] for k in keys), area=md.get("area", "areal"))


def cumulative_dose(frame_doses) -> np.ndarray:
    """Cumulative fluence at the centre of each frame D_k = Σ_{j<k} d_j + d_k/2 [e⁻/Å²].

    Args:
        frame_doses: per-frame fluence d_k [e⁻/Å²], shape ``(n_frames,)``, all > 0.
    """
    validate.array(frame_doses, "frame_doses", ndim=1, kind="real", units="e⁻/Å²")
    d = np.asarray(frame_doses, dtype=np.float64)
    if np.any(d <= 0):
        k = int(np.flatnonzero(d <= 0)[0])
        raise validate.InputError(f"frame_doses must be > 0 [e⁻/Å²] in every frame; {int(np.sum(d <= 0))} are not "
                                  f"(first at frame {k}: {d[k]:g})")
    return np.cumsum(d) - 0.5 * d
