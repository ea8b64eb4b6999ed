"""Convergent-beam probe waves.

A probe focused at position r₀ = (y₀, x₀) [Å] is, in Fourier space,

    Ψ(k) = N · A(λk) · exp(−iχ(k)) · exp(−2πi k·r₀)

with A the condenser aperture of convergence semi-angle α₀ [mrad] (:mod:`.apertures`), χ the
aberration function (:mod:`.aberrations`; C10 = −Δf, so Δf > 0 focuses the probe *below* the
entrance surface: underfocus in Kirkland's sign) and the phase ramp moving the probe to r₀. The
real-space probe ψ(r) = IFFT[Ψ](r) is periodic in the cell of the grid and normalised so that
Σ_r |ψ(r)|² = 1 (intensity fractions per pixel). The normalisation N is computed in Fourier space
by Parseval's theorem, so it is the same for every position.

An aberration-free probe with a hard aperture is the Airy pattern
|ψ(r)|² ∝ (2 J₁(v)/v)², v = 2π α₀ |r| / λ (tested in ``tests/optics/test_probes.py``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, physics
from ._checks import (check_aberrations, check_energy, check_finite_array, check_scalar, complex_of,
                      is_traced, resolve_real_dtype)
from .aberrations import Aberrations
from .apertures import Aperture
from .ctf import transfer_function


def _check_probe_args(grid, energy, semi_angle, edge_width, aberrations):
    e = check_energy(energy)
    check_scalar("semi_angle", semi_angle, "mrad", positive=True)
    check_scalar("edge_width", edge_width, "mrad", nonnegative=True)
    ab = check_aberrations(aberrations)
    if not is_traced((semi_angle, edge_width)):
        if float(edge_width) > 2 * float(semi_angle):
            raise ValueError(f"edge_width must be ≤ 2·semi_angle = {2 * float(semi_angle):.4g} mrad, got "
                             f"{edge_width!r} mrad")
        grid.check_angle(float(semi_angle) + 0.5 * float(edge_width), e,
                         "convergence semi-angle (plus half the edge width)")
    return e, ab


def probe_transfer(grid, energy, semi_angle, aberrations: Aberrations | None = None, edge_width=0.0,
                   precision=None):
    """Fourier-space probe A(λk)·exp(−iχ(k)) on the (ny, nx) grid (FFT order, not normalised).

    Args:
        grid: :class:`jaxem.grid.Grid`.
        energy: beam energy [eV], > 0.
        semi_angle: convergence semi-angle α₀ [mrad], > 0 and within the grid's anti-aliased limit.
        aberrations: :class:`Aberrations` (None: aberration-free).
        edge_width: raised-cosine edge width of the aperture [mrad] (0: hard).
        precision: ``"float32"`` (default) or ``"float64"``.

    Returns:
        (ny, nx) complex array; |values| ≤ 1.

    Raises:
        ValueError: non-positive energy/semi-angle, or a grid too coarse for ``semi_angle``.
    """
    e, ab = _check_probe_args(grid, energy, semi_angle, edge_width, aberrations)
    dtype = resolve_real_dtype(precision)
    ky, kx = grid.frequencies(dtype)
    ap = Aperture(semi_angle=semi_angle, edge_width=edge_width)
    return transfer_function(ab, ky[:, None], kx[None, :], physics.wavelength(e), ap)


def _positions(grid, positions, dtype):
    if positions is None:
        return jnp.asarray([0.5 * grid.extent[0], 0.5 * grid.extent[1]], dtype)
    if not is_traced(positions):
        arr = np.asarray(positions)
        if arr.ndim < 1 or arr.shape[-1] != 2:
            raise ValueError(f"positions must have shape (..., 2) as (y, x) [Å], got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"positions must be numbers [Å], got dtype {arr.dtype}")
        check_finite_array("positions", arr, "Å")
    elif jnp.shape(positions)[-1:] != (2,):
        raise ValueError(f"positions must have shape (..., 2) as (y, x) [Å], got {jnp.shape(positions)}")
    return jnp.asarray(positions).astype(dtype)


def shift_phase(ky, kx, position):
    """Phase ramp exp(−2πi (k_y y₀ + k_x x₀)) that moves a wave to ``position`` (y₀, x₀) [Å]."""
    return jnp.exp(-2j * jnp.pi * (ky[:, None] * position[0] + kx[None, :] * position[1]))


def probe(grid, energy, semi_angle, aberrations: Aberrations | None = None, positions=None,
          edge_width=0.0, precision=None, budget=None):
    """Real-space probe wave(s) ψ(r) with Σ|ψ|² = 1, focused at ``positions``.

    Args:
        grid: :class:`jaxem.grid.Grid`.
        energy: beam energy [eV], > 0.
        semi_angle: convergence semi-angle α₀ [mrad], > 0 and within the grid's anti-aliased limit.
        aberrations: :class:`Aberrations` (None: aberration-free).
        positions: (…, 2) probe positions (y, x) [Å]; None: the centre of the cell.
        edge_width: raised-cosine edge width of the aperture [mrad] (0: hard).
        precision: ``"float32"`` (default) or ``"float64"`` (positions are cast to it).
        budget: memory budget for batching positions (bytes or '2G'; default from ``jaxem.accel``).

    Returns:
        complex array (…, ny, nx) (the leading shape of ``positions``; (ny, nx) for one position).

    Raises:
        ValueError: bad energy, semi-angle, edge, positions (shape, NaN) or a too coarse grid.
    """
    dtype = resolve_real_dtype(precision)
    pos = _positions(grid, positions, dtype)
    transfer = probe_transfer(grid, energy, semi_angle, aberrations, edge_width,
                              precision="float64" if dtype == jnp.float64 else "float32")
    n = grid.gpts[0] * grid.gpts[1]
    norm = jnp.sqrt(jnp.sum(jnp.abs(transfer) ** 2) / n)
    transfer = transfer / jnp.where(norm > 0, norm, 1.0).astype(dtype)
    ky, kx = grid.frequencies(dtype)
    cdtype = complex_of(dtype)

    def one(p):
        return jnp.fft.ifft2(transfer * shift_phase(ky, kx, p)).astype(cdtype)

    lead = pos.shape[:-1]
    flat = pos.reshape((-1, 2))
    item_bytes = 4 * n * jnp.dtype(cdtype).itemsize
    bs = accel.batch_size(item_bytes, flat.shape[0], budget)
    out = jax.lax.map(one, flat, batch_size=bs) if flat.shape[0] > 1 else one(flat[0])[None]
    return out.reshape(lead + tuple(grid.gpts))
