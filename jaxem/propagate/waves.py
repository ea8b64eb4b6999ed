"""Electron waves on a grid, carrying their beam.

:class:`Waves` is a pytree holding a complex array (…batch, ny, nx) as its only leaf and, as static
metadata, the :class:`~jaxem.grid.Grid` [Å], the :class:`~jaxem.beam.Beam` (energy [eV] and tilt
(y, x) [mrad]) and the incident intensity ``norm`` (Σ|ψ_in|² over the grid: N = ny·nx for a unit
plane wave, 1 for a normalised probe) so detectors can report fractions of the incident beam.

Tilt: a tilted beam's wave is carried in the frame that follows the beam (the carrier exp(2πi K·r),
K = tan θ/λ, factored out); the tilt enters the propagator (:mod:`.multislice`) and the lens
(:mod:`jaxem.optics.imaging`). It must lie inside the grid's anti-aliased band
(:meth:`jaxem.beam.Beam.check_tilt`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import accel, pytree, validate
from ..beam import Beam, as_beam
from ..grid import Grid


@pytree.dataclass
class Waves:
    """Complex waves (…batch, ny, nx) with their grid [Å], beam (energy [eV], tilt [mrad]) and
    incident intensity ``norm`` (Σ|ψ_in|², dimensionless). Only ``array`` is traced; build with
    :func:`plane_wave` or :func:`waves_from_array` (which validate), or directly inside ``jit``."""

    array: jnp.ndarray
    grid: Grid = pytree.field(static=True)
    beam: Beam = pytree.field(static=True)
    norm: float = pytree.field(static=True, default=1.0)

    def __post_init__(self):
        # static fields are always concrete: check them (an energy becomes a Beam)
        check_grid(self.grid)
        if not isinstance(self.beam, Beam):
            object.__setattr__(self, "beam", as_beam(self.beam))
        object.__setattr__(self, "norm", validate.scalar(self.norm, "norm", positive=True, allow_traced=False))
        if isinstance(self.array, (str, bytes, dict)):
            raise validate.InputTypeError(f"array must be a complex array (…, ny, nx), got {type(self.array).__name__}")

    @property
    def energy(self) -> float:
        """Beam energy [eV]."""
        return self.beam.energy

    @property
    def tilt(self) -> tuple:
        """Beam tilt (y, x) [mrad]."""
        return self.beam.tilt

    @property
    def wavelength(self) -> float:
        """λ [Å]."""
        return self.beam.wavelength

    @property
    def batch_shape(self) -> tuple:
        return tuple(self.array.shape[:-2])


def check_grid(grid, name: str = "grid") -> Grid:
    if not isinstance(grid, Grid):
        raise validate.InputTypeError(f"{name} must be a jaxem Grid, got {type(grid).__name__}")
    return grid


def check_finite(array, name: str) -> None:
    """Reject a concrete array holding NaN/inf (count + first index); one reduction on the device,
    the full report only on failure. Traced arrays pass."""
    if validate.is_traced(array):
        return
    with jax.ensure_compile_time_eval():  # concrete data inside someone's jit trace: evaluate now
        ok = bool(jnp.all(jnp.isfinite(array)))
    if not ok:
        validate.array(array, name)


def check_waves(waves, name: str = "waves") -> Waves:
    """``waves`` must be :class:`Waves` with a finite array."""
    if not isinstance(waves, Waves):
        raise validate.InputTypeError(f"{name} must be jaxem Waves (see jaxem.plane_wave / waves_from_array), "
                                      f"got {type(waves).__name__}")
    check_finite(waves.array, f"{name}.array")
    return waves


def plane_wave(grid: Grid, beam, precision=None) -> Waves:
    """Unit-amplitude plane wave (|ψ|² = 1 per pixel, ``norm`` = ny·nx).

    Args:
        grid: :class:`~jaxem.grid.Grid` [Å].
        beam: :class:`~jaxem.beam.Beam` (energy [eV], tilt (y, x) [mrad]) or an energy [eV] / ``"300 kV"``.
            A tilt is applied in the propagator (the frame follows the beam) and must lie inside the
            grid's anti-aliased band.
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32 → complex64).
    """
    check_grid(grid)
    beam = as_beam(beam)
    beam.check_tilt(grid)
    _, cdtype = accel.dtypes(precision)
    return Waves(jnp.ones(grid.gpts, cdtype), grid, beam, float(grid.gpts[0] * grid.gpts[1]))


def waves_from_array(array, grid: Grid, beam, norm=None) -> Waves:
    """Wrap an array (…, ny, nx) as :class:`Waves`.

    Args:
        array: complex (or real, promoted to the matching complex dtype) waves, finite.
        grid: :class:`~jaxem.grid.Grid` whose gpts match the last two axes.
        beam: :class:`~jaxem.beam.Beam` or an energy [eV] / ``"300 kV"``.
        norm: incident intensity Σ|ψ_in|² (> 0); default Σ|ψ|² of the first wave.
    """
    check_grid(grid)
    beam = as_beam(beam)
    beam.check_tilt(grid)
    validate.array(array, "array", min_ndim=2, shape=tuple(grid.gpts), finite=False)
    traced = validate.is_traced(array)
    if traced and norm is None:
        raise validate.InputError("norm must be given for a traced array (inside jit/grad Σ|ψ|² has no value); "
                                  "pass the incident intensity, e.g. ny·nx for a plane wave, 1 for a probe")
    if norm is not None:
        norm = validate.scalar(norm, "norm", positive=True, allow_traced=False)
    with jax.ensure_compile_time_eval():  # concrete data inside someone's jit trace: evaluate now
        array = jnp.asarray(array)
        check_finite(array, "array")
        if not jnp.iscomplexobj(array):
            array = array.astype(accel.dtypes_of(array)[1])
        if norm is None:
            first = array.reshape((-1,) + array.shape[-2:])[0]
            norm = float(jnp.sum(jnp.abs(first) ** 2))
            if not norm > 0:
                raise validate.InputError("array: the first wave is zero everywhere, so norm cannot default to "
                                          "Σ|ψ|²; pass norm= (the incident intensity, > 0)")
    return Waves(array, grid, beam, float(norm))
