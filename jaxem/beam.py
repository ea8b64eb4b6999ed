"""The electron beam: one object for the energy and everything that follows from it (floor 0).

A :class:`Beam` is frozen and hashable (static under ``jit``). It is the only place that derives
the wavelength λ, the interaction constant σ and the Lorentz factor γ from the energy
(:mod:`jaxem.physics` holds the formulas), and the only place that converts between scattering
angles [mrad] and spatial frequencies [1/Å] on a grid: its angular sampling, the anti-alias cut-off
angle and the Nyquist angle of a :class:`~jaxem.grid.Grid`, and the range checks
(:meth:`Beam.check_angle`) used wherever an angle, tilt or aperture meets a grid.

:class:`~jaxem.propagate.Waves` carry their beam; optics, detectors, propagation, STEM and HRTEM take
waves or a beam, never a loose ``(grid, energy)`` pair::

    beam = jx.Beam(300e3)            # eV; or jx.Beam("300 kV")
    beam.wavelength                  # 0.019687 Å
    beam.cutoff_angle(grid)          # mrad kept by the 2/3-Nyquist anti-alias aperture

Beam tilt (y, x) [mrad] is a property of the illumination and travels with the beam.
"""
from __future__ import annotations

import functools

import numpy as np

from . import physics, pytree, validate


#: largest accepted beam energy [eV] (100 MeV: far above any electron microscope or MeV diffraction source)
MAX_ENERGY = 1e8


#: smallest accepted beam energy [eV] (1 keV). Everything downstream of a Beam (multislice, the projected
#: potential, the CTF) rests on the fast-electron approximations: forward scattering only (no backscattering),
#: the paraxial (Fresnel) propagator and a projected potential small against the kinetic energy. At 1 keV the
#: mean inner potential of a solid (10–30 V) is already 1–3 % of the energy; below it these approximations fail
#: and the answer would be silently wrong. A bare number below 1 keV is also the usual slip for kV (``Beam(300)``).
MIN_ENERGY = 1e3


#: largest accepted beam tilt component [mrad] (a grid limits it further: :meth:`Beam.check_tilt`)
MAX_TILT = 1000.0


def _energy(value) -> float:
    e = validate.scalar(value, "energy", "eV", positive=True, allow_traced=False)
    if e > MAX_ENERGY:
        raise validate.InputError(f"energy must be ≤ {MAX_ENERGY:g} eV (100 MeV), got {value!r}")
    if e < MIN_ENERGY:
        raise validate.InputError(
            f"energy must be ≥ {MIN_ENERGY:g} eV (1 keV: below it the fast-electron approximations of multislice "
            f"— forward scattering, paraxial propagation — do not hold), got {value!r} eV; energies are in eV "
            f"(did you mean {e:g} kV = {e * 1e3:g} eV, written \"{e:g} kV\"?)")
    return e


def _grid(grid, name: str = "grid"):
    if not (hasattr(grid, "gpts") and hasattr(grid, "sampling") and hasattr(grid, "extent")):
        raise validate.InputTypeError(f"{name} must be a jaxem Grid, got {type(grid).__name__}")
    return grid


@pytree.dataclass
class Beam:
    """Electron beam of kinetic energy ``energy`` [eV] (a number or e.g. ``"300 kV"``), tilted by
    ``tilt`` (y, x) [mrad] with respect to the optic axis.

    ``energy`` must lie in [1 keV, 100 MeV] (:data:`MIN_ENERGY`, :data:`MAX_ENERGY`): the wavelength,
    σ and γ are relativistically exact over the whole range, but below 1 keV the fast-electron
    approximations every propagation rests on fail (and ``Beam(300)`` is 300 eV, not 300 kV)."""

    energy: float = pytree.field(static=True, units="eV")
    tilt: tuple = pytree.field(static=True, units="mrad", default=(0.0, 0.0))

    def __post_init__(self):
        if isinstance(self.energy, Beam):
            raise validate.InputTypeError("energy must be a number [eV], got a Beam (pass the Beam itself)")
        object.__setattr__(self, "energy", _energy(self.energy))
        if isinstance(self.tilt, str) or np.ndim(self.tilt) == 0:  # a scalar tilt would be read as (t, t)
            raise validate.InputTypeError(f"tilt must be a (y, x) pair [mrad], got {self.tilt!r}")
        object.__setattr__(self, "tilt", validate.pair(self.tilt, "tilt", "mrad", lo=-MAX_TILT, hi=MAX_TILT,
                                                       allow_traced=False))

    # ---- derived scalars (cached: a Beam is immutable) ----------------------------------------
    @functools.cached_property
    def wavelength(self) -> float:
        """Relativistic wavelength λ [Å]."""
        return float(physics.wavelength(self.energy))

    @functools.cached_property
    def sigma(self) -> float:
        """Interaction constant σ [rad/(V·Å)]."""
        return float(physics.interaction_constant(self.energy, wavelength=self.wavelength))

    @functools.cached_property
    def gamma(self) -> float:
        """Lorentz factor γ."""
        return float(physics.relativistic_gamma(self.energy))

    @property
    def k0(self) -> float:
        """Wave number 1/λ [1/Å]."""
        return 1.0 / self.wavelength

    # ---- angles ↔ frequencies -----------------------------------------------------------------
    def mrad_to_frequency(self, angle):
        """Spatial frequency k = α/λ [1/Å] of a scattering angle ``angle`` [mrad]."""
        return np.asarray(angle) * 1e-3 / self.wavelength if np.ndim(angle) else float(angle) * 1e-3 / self.wavelength

    def frequency_to_mrad(self, k):
        """Scattering angle α = λk [mrad] of a spatial frequency ``k`` [1/Å] (works on JAX arrays)."""
        return k * (self.wavelength * 1e3)

    def angular_sampling(self, grid) -> tuple:
        """Reciprocal pixel size of ``grid`` as angles (dθy, dθx) [mrad] = λ·10³/(n·d)."""
        return tuple(self.wavelength * 1e3 / e for e in _grid(grid).extent)

    def cutoff_angle(self, grid) -> float:
        """Largest angle [mrad] fully kept by the soft 2/3-Nyquist anti-alias aperture of ``grid``."""
        grid = _grid(grid)
        return float(self.frequency_to_mrad(grid.antialias_cutoff - grid.antialias_taper))

    def nyquist_angle(self, grid) -> float:
        """Angle [mrad] of the Nyquist frequency of the coarsest axis of ``grid``."""
        return float(self.frequency_to_mrad(_grid(grid).nyquist))

    def check_angle(self, angle, grid, name: str = "angle", limit: str = "antialias", allow_inf: bool = False):
        """Return ``angle`` [mrad] as a float if ``grid`` can represent it at this beam, else raise
        an error naming ``name``, the value, the grid's limit and a sampling that would work.

        ``limit``: ``"antialias"`` (2/3 Nyquist, for anything that scatters through the
        transmission function) or ``"nyquist"`` (the edge of the grid, for detectors and display).
        ``allow_inf``: accept ``inf`` meaning "to the grid's limit".
        """
        validate.choice(limit, "limit", ("antialias", "nyquist"))
        value = validate.scalar(angle, name, "mrad", nonnegative=True, finite=not allow_inf)
        if allow_inf and value == float("inf"):
            return value
        lim = self.cutoff_angle(grid) if limit == "antialias" else self.nyquist_angle(grid)
        if value > lim * (1 + 1e-9):
            need = max(grid.sampling) * lim / value
            raise validate.InputError(
                f"{name} of {value:.4g} mrad exceeds the {'anti-aliased ' if limit == 'antialias' else ''}"
                f"limit {lim:.4g} mrad of a grid with sampling {max(grid.sampling):.4g} Å at "
                f"{self.energy:.4g} eV; use a sampling ≤ {need:.3g} Å or a smaller {name}")
        return value

    def check_tilt(self, grid) -> None:
        """Raise unless the beam tilt is well inside the anti-aliased band of ``grid``."""
        t = float(np.hypot(*self.tilt))
        if t:
            self.check_angle(t, grid, "beam tilt")

    # ---- conveniences -------------------------------------------------------------------------
    def with_tilt(self, tilt) -> "Beam":
        return Beam(self.energy, tilt)

    def to_dict(self) -> dict:
        """JSON-ready description with units (written into file metadata)."""
        return {"energy": {"value": self.energy, "units": "eV"},
                "tilt": {"value": list(self.tilt), "units": "mrad"},
                "wavelength": {"value": self.wavelength, "units": "Å"}}


def as_beam(beam_or_energy, name: str = "beam") -> Beam:
    """A :class:`Beam` from a Beam, an energy [eV] or a string with units (``"300 kV"``)."""
    if isinstance(beam_or_energy, Beam):
        return beam_or_energy
    if beam_or_energy is None:
        raise validate.InputTypeError(f"{name} must be a jaxem Beam or an energy [eV], got None")
    try:
        return Beam(beam_or_energy)
    except validate.InputTypeError:
        raise validate.InputTypeError(f"{name} must be a jaxem Beam or an energy [eV], got "
                                      f"{type(beam_or_energy).__name__} {beam_or_energy!r}") from None
    except validate.InputError as e:  # a bad energy value: name the caller's argument too
        raise validate.InputError(f"{name} = {beam_or_energy!r} is not a usable beam energy: {e}") from None
