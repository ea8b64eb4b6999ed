"""The one Fourier shift of jaxem.

Moving a periodic function f(r) on a grid to f(r − r₀) multiplies its Fourier transform by the phase
ramp

    R(k; r₀) = exp(−2πi (k_y y₀ + k_x x₀)),        r₀ = (y₀, x₀) [Å], k [1/Å],

which is exact for band-limited periodic functions and works for sub-pixel shifts. Probes are moved
to their scan positions with it (:func:`jaxem.optics.probe`), STEM scans use it per position and
HRTEM fits align images with it (:func:`fourier_shift`).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..grid import Grid


def phase_ramp(ky, kx, position):
    """R(k; r₀) = exp(−2πi (k_y y₀ + k_x x₀)) on the grid spanned by ``ky`` (ny,) and ``kx`` (nx,) [1/Å].

    Args:
        ky, kx: 1D spatial frequencies [1/Å] (e.g. ``grid.frequencies(dtype)``); their dtype sets the
            precision (float32 → complex64).
        position: (…, 2) shifts (y₀, x₀) [Å] (may be traced; differentiable).
    Returns:
        complex (…, ny, nx). Computed as the outer product of the two 1D ramps (ny + nx exponentials).
    """
    _, cdtype = accel.dtypes_of(ky)
    ky = jnp.asarray(ky)
    kx = jnp.asarray(kx).astype(ky.dtype)
    position = jnp.asarray(position).astype(ky.dtype)
    if ky.ndim != 1 or kx.ndim != 1 or position.ndim < 1 or position.shape[-1] != 2:
        raise validate.InputError(f"phase_ramp needs 1-D ky, kx [1/Å] and a (…, 2) position (y, x) [Å], got shapes "
                                  f"{ky.shape}, {kx.shape}, {position.shape}")
    ry = jnp.exp(-2j * jnp.pi * ky * position[..., 0, None]).astype(cdtype)
    rx = jnp.exp(-2j * jnp.pi * kx * position[..., 1, None]).astype(cdtype)
    return ry[..., :, None] * rx[..., None, :]


#: largest shift or position accepted, in cell lengths (beyond it nothing is left of the sub-pixel part)
MAX_CELLS = 1e6


def wrap_positions(position, grid, name: str = "shift"):
    """A concrete ``position`` (…, 2) (y, x) [Å] folded into the periodic cell [0, extent) in float64
    before it is cast to the working precision (the Fourier shift is periodic, so the result is the
    same, without the precision lost on a large phase); traced positions pass unchanged. A position
    beyond ±MAX_CELLS cell lengths is an error naming ``name``."""
    if validate.is_traced(position):
        return position
    p = np.asarray(position, np.float64)
    ext = np.asarray(grid.extent, np.float64)
    far = np.abs(p) > MAX_CELLS * ext
    if np.any(far):
        raise validate.InputError(f"{name} reaches {float(np.max(np.abs(p))):.4g} Å, more than {MAX_CELLS:g} cells "
                                  f"({ext.tolist()} Å) away: give it within the periodic cell")
    return np.mod(p, ext)


@validate.typed
def fourier_shift(array, shift, grid: Grid):
    """Shift the periodic array(s) ``array`` (…, ny, nx) on ``grid`` by ``shift`` (…, 2) (y, x) [Å]:
    out(r) = array(r − shift) (sub-pixel, by :func:`phase_ramp`; batch axes broadcast).

    A real array gives a real result (the real part of the shifted transform). Pure and jit-able; a
    concrete ``array``/``shift`` is checked (shape, finite).
    """
    validate.array(array, "array", min_ndim=2, shape=tuple(grid.gpts))
    validate.array(shift, "shift", min_ndim=1, shape=(2,), kind="real", units="Å")
    shift = wrap_positions(shift, grid, "shift")
    array = jnp.asarray(array)
    real = not jnp.iscomplexobj(array)
    rdtype, _ = accel.dtypes_of(array)
    ky, kx = grid.frequencies(rdtype)
    out = jnp.fft.ifft2(jnp.fft.fft2(array) * phase_ramp(ky, kx, shift))
    return out.real.astype(rdtype) if real else out
