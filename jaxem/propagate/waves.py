"""Electron waves on a grid.

:class:`Waves` is a pytree holding a complex array (…batch, ny, nx) and, as static metadata, the
grid, the electron energy [eV], the beam tilt (y, x) [mrad] and the incident intensity ``norm``
(Σ|ψ_in|² over the grid: N for a unit plane wave, 1 for a normalised probe) so detectors can report
fractions of the incident beam.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from flax import struct

from .. import physics
from ..accel import complex_dtype, resolve_precision
from ..grid import Grid


@struct.dataclass
class Waves:
    """Complex waves (…batch, ny, nx) with their grid [Å], energy [eV], tilt [mrad] and incident norm."""

    array: jnp.ndarray
    grid: Grid = struct.field(pytree_node=False)
    energy: float = struct.field(pytree_node=False)
    tilt: tuple = struct.field(pytree_node=False, default=(0.0, 0.0))
    norm: float = struct.field(pytree_node=False, default=1.0)

    @property
    def wavelength(self) -> float:
        """λ [Å]."""
        return physics.wavelength(self.energy)

    @property
    def batch_shape(self) -> tuple:
        return tuple(self.array.shape[:-2])

    def replace(self, **kw) -> "Waves":
        return struct.dataclasses.replace(self, **kw)


def _check_energy_tilt(energy, tilt):
    physics.wavelength(energy)  # validates
    tilt = tuple(float(t) for t in np.broadcast_to(np.asarray(tilt, float), (2,)))
    if not all(math.isfinite(t) for t in tilt):
        raise ValueError(f"tilt must be finite (y, x) [mrad], got {tilt}")
    return float(energy), tilt


def plane_wave(grid: Grid, energy: float, tilt=(0.0, 0.0), precision=None) -> Waves:
    """Unit-amplitude plane wave (|ψ|² = 1 per pixel) at ``energy`` [eV].

    ``tilt`` (y, x) [mrad] tilts the beam relative to the specimen; it is applied in the propagator
    (the frame follows the beam), as in the usual multislice treatment of beam tilt.
    """
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a jaxem Grid, got {type(grid).__name__}")
    energy, tilt = _check_energy_tilt(energy, tilt)
    arr = jnp.ones(grid.gpts, complex_dtype(resolve_precision(precision)))
    return Waves(arr, grid, energy, tilt, float(grid.gpts[0] * grid.gpts[1]))


def waves_from_array(array, grid: Grid, energy: float, tilt=(0.0, 0.0), norm=None) -> Waves:
    """Wrap a complex array (…, ny, nx) as :class:`Waves`; ``norm`` defaults to Σ|ψ|² of the first wave."""
    array = jnp.asarray(array)
    if array.shape[-2:] != tuple(grid.gpts):
        raise ValueError(f"wave array shape {array.shape[-2:]} does not match grid gpts {grid.gpts}")
    if not jnp.iscomplexobj(array):
        array = array.astype(jnp.complex64 if array.dtype != jnp.float64 else jnp.complex128)
    energy, tilt = _check_energy_tilt(energy, tilt)
    if norm is None:
        first = array.reshape((-1,) + array.shape[-2:])[0]
        norm = float(jnp.sum(jnp.abs(first) ** 2))
    return Waves(array, grid, energy, tilt, float(norm))
