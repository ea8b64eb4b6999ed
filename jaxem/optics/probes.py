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

import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..beam import as_beam
from ..grid import Grid
from ._checks import check_aberrations
from .aberrations import Aberrations
from .apertures import Aperture, check_on_grid
from .ctf import chi_gradient, transfer_function
from .shift import phase_ramp, wrap_positions


def _check_probe_args(grid, beam, semi_angle, edge_width, aberrations):
    if not isinstance(grid, Grid):
        raise validate.InputTypeError(f"grid must be a jaxem Grid, got {type(grid).__name__}")
    beam = as_beam(beam)
    a0 = validate.scalar(semi_angle, "semi_angle", "mrad", positive=True)
    w = validate.scalar(edge_width, "edge_width", "mrad", nonnegative=True)
    ab = check_aberrations(aberrations)
    from .series import refuse_series

    refuse_series(ab, "a probe")
    if not validate.is_traced((a0, w)):
        if w > 2 * a0:
            raise validate.InputError(f"edge_width must be ≤ 2·semi_angle = {2 * a0:.4g} mrad, got {edge_width!r} mrad")
        check_on_grid(Aperture(a0, w), grid, beam, "semi_angle (plus half the edge width)", limit="antialias")
        _check_probe_extent(grid, beam, a0 + 0.5 * w, ab)
    return beam, ab, a0, w


def _ray_extent(beam, semi_angle, aberrations):
    """Geometric half-extent (r_y, r_x) [Å] of a probe: the largest ray displacement
    r = (λ/2π)·∇_α χ over the aperture α ≤ ``semi_angle`` [mrad] (Δf·α₀ for pure defocus), sampled on a
    polar grid of the aperture; None when the aberrations are traced."""
    a = np.linspace(0.0, semi_angle * 1e-3, 33)[:, None]
    phi = np.linspace(0.0, 2 * np.pi, 73)[None, :]
    gy, gx = chi_gradient(aberrations, a * np.sin(phi), a * np.cos(phi), beam.wavelength)
    if validate.is_traced(gy) or validate.is_traced(gx):
        return None
    scale = beam.wavelength / (2 * np.pi)
    return float(np.max(np.abs(np.asarray(gy)))) * scale, float(np.max(np.abs(np.asarray(gx)))) * scale


def _nonzero(aberrations) -> dict:
    out = {}
    for k, v in aberrations.to_dict().items():
        v = np.asarray(v)
        if v.size == 1 and float(v) != 0:
            out[k] = float(v)
    return out


def _check_probe_extent(grid, beam, semi_angle, aberrations) -> None:
    """Warn when the probe does not fit its periodic cell: a ray displacement beyond half the extent
    means the aberration phase χ changes by more than π between neighbouring reciprocal pixels, so the
    probe is aliased (it wraps around the cell and overlaps its periodic images)."""
    airy = 0.61 * beam.wavelength / (semi_angle * 1e-3)  # radius of the first dark ring [Å]
    if airy > 0.5 * min(grid.extent):
        warnings.warn(
            f"the probe's Airy radius 0.61λ/α = {airy:.4g} Å (semi_angle {semi_angle:.4g} mrad at "
            f"{beam.energy:.4g} eV) exceeds half the cell extent {min(grid.extent):.4g} Å: the aperture holds "
            f"{semi_angle / min(beam.angular_sampling(grid)):.2g} reciprocal pixel(s) in radius, so the probe "
            f"is not resolved and wraps around the periodic cell; use a cell ≥ {2 * airy:.4g} Å", stacklevel=4)
    r = _ray_extent(beam, semi_angle, aberrations)
    if r is None:
        return
    for ry, (ax, length) in zip(r, zip("yx", grid.extent)):
        if ry > 0.5 * length:
            warnings.warn(
                f"the probe (semi_angle {semi_angle:.4g} mrad, aberrations {_nonzero(aberrations)}) reaches "
                f"±{ry:.4g} Å along {ax} (geometric ray displacement (λ/2π)|∇χ| at the aperture edge), more "
                f"than half the cell extent {length:.4g} Å: it wraps around the periodic cell and its phase is "
                f"undersampled, so the probe and everything computed with it are aliased; use a cell ≥ "
                f"{2 * ry:.4g} Å along {ax} or smaller aberrations (e.g. defocus)", stacklevel=4)
            return


@validate.typed
def probe_transfer(grid, beam, semi_angle, aberrations: Aberrations | None = None, edge_width=0.0,
                   precision=None):
    """Fourier-space probe A(λk)·exp(−iχ(k)) on the (ny, nx) grid (FFT order, not normalised).

    Args:
        grid: :class:`jaxem.grid.Grid`.
        beam: :class:`~jaxem.beam.Beam` or an energy [eV] (> 0, or e.g. ``"300 kV"``).
        semi_angle: convergence semi-angle α₀ [mrad], > 0 and within the grid's anti-aliased limit.
        aberrations: :class:`Aberrations` (None: aberration-free).
        edge_width: raised-cosine edge width of the aperture [mrad] (0: hard).
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32).

    Returns:
        (ny, nx) complex array; |values| ≤ 1.

    Raises:
        ValueError: non-positive energy/semi-angle, or a grid too coarse for ``semi_angle``.
    """
    beam, ab, a0, w = _check_probe_args(grid, beam, semi_angle, edge_width, aberrations)
    rdtype, _ = accel.dtypes(precision)
    ky, kx = grid.frequencies(rdtype)
    ap = Aperture(semi_angle=a0, edge_width=w)  # the parsed values ("20 mrad" → 20.0)
    return transfer_function(ab, ky[:, None], kx[None, :], beam.wavelength, ap)


def _positions(grid, positions, dtype):
    if positions is None:
        return jnp.asarray([0.5 * grid.extent[0], 0.5 * grid.extent[1]], dtype)
    shape = jnp.shape(positions) if validate.is_traced(positions) else np.shape(positions)
    if shape[-1:] != (2,):
        raise validate.InputError(f"positions must have shape (..., 2) as (y, x) [Å], got shape {shape}")
    validate.array(positions, "positions", kind="real", units="Å")
    return jnp.asarray(wrap_positions(positions, grid, "positions")).astype(dtype)


@validate.typed
def probe(grid, beam, semi_angle, aberrations: Aberrations | None = None, positions=None,
          edge_width=0.0, precision=None, memory_budget=None):
    """Real-space probe wave(s) ψ(r) with Σ|ψ|² = 1, focused at ``positions``.

    Args:
        grid: :class:`jaxem.grid.Grid`.
        beam: :class:`~jaxem.beam.Beam` or an energy [eV] (> 0, or e.g. ``"300 kV"``).
        semi_angle: convergence semi-angle α₀ [mrad], > 0 and within the grid's anti-aliased limit.
        aberrations: :class:`Aberrations` (None: aberration-free).
        positions: (…, 2) probe positions (y, x) [Å]; None: the centre of the cell.
        edge_width: raised-cosine edge width of the aperture [mrad] (0: hard).
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32; positions are cast to it).
        memory_budget: bytes (or '2G') for batching positions (default from ``jaxem.accel``).

    Returns:
        complex array (…, ny, nx) (the leading shape of ``positions``; (ny, nx) for one position).

    Raises:
        ValueError: bad energy, semi-angle, edge, positions (shape, NaN) or a too coarse grid.
    """
    if not isinstance(grid, Grid):
        raise validate.InputTypeError(f"grid must be a jaxem Grid, got {type(grid).__name__}")
    rdtype, cdtype = accel.dtypes(precision)
    pos = _positions(grid, positions, rdtype)
    transfer = probe_transfer(grid, beam, semi_angle, aberrations, edge_width, precision=precision)
    n = grid.gpts[0] * grid.gpts[1]
    lead = pos.shape[:-1]
    flat = pos.reshape((-1, 2))
    item_bytes = 4 * n * jnp.dtype(cdtype).itemsize
    bs = accel.batch_size(item_bytes, flat.shape[0], memory_budget, cpu_cap=accel.cpu_working_set())
    out = _probe_waves(transfer, flat, grid=grid, batch=int(bs))
    return out.reshape(lead + tuple(grid.gpts))


@partial(jax.jit, static_argnames=("grid", "batch"))
def _probe_waves(transfer, positions, *, grid, batch):
    """Normalised real-space probes for positions (P, 2) [Å] (compiled once per grid, dtype and batch)."""
    rdtype, cdtype = accel.dtypes_of(transfer)
    n = grid.gpts[0] * grid.gpts[1]
    norm = jnp.sqrt(jnp.sum(jnp.abs(transfer) ** 2) / n)
    transfer = transfer / jnp.where(norm > 0, norm, 1.0).astype(rdtype)
    ky, kx = grid.frequencies(rdtype)

    def one(p):
        return jnp.fft.ifft2(transfer * phase_ramp(ky, kx, p)).astype(cdtype)

    if positions.shape[0] == 1:
        return one(positions[0])[None]
    return jax.lax.map(one, positions, batch_size=batch)
