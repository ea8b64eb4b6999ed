"""Multislice: transmit, then Fresnel-propagate, slice after slice (``lax.scan``).

    ψ_{n+1} = F⁻¹[ P(k) · F[ t_n(r) · ψ_n(r) ] ],
    t_n = F⁻¹[ a(k) F[exp(iσ v_n)] ],   P(k) = a(k) · exp(−iπλΔz|k|²) · exp(−2πiΔz(kx tan θx + ky tan θy))

with v_n the projected potential [V·Å] of slice n (complex v + iv′ for absorptive models, so
t = exp(iσv − σv′)), σ the interaction constant, λ the wavelength, Δz the slice thickness [Å],
a(k) the soft 2/3-Nyquist anti-alias aperture and θ the beam tilt. Transmission functions of the
distinct slices of a periodic crystal are computed once and indexed by the slice sequence.

Exit planes (thickness series) are recorded inside the same scan. Batches of waves run through
``vmap`` in chunks (``lax.map``) whose size comes from the memory budget.

Tilt: the wave is carried in the frame that follows the beam (the carrier exp(2πi K·r),
K = tan θ/λ, factored out), so a unit plane wave stays 1 at the entrance surface and the Fresnel
propagator picks up the cross term of exp(−iπλΔz|k + K|²), i.e. exp(−2πiΔz k·tan θ). Imaging a
tilted exit wave therefore evaluates the lens at k + K (``jaxem.optics.imaging``, ``"explicit"``).
:func:`multislice_tilts` runs a tilt series whose tilts are traced arrays (differentiable, e.g.
θ_s·u_j for the nodes u_j of a convergence average).
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import physics
from ..accel import batch_size, complex_dtype, resolve_precision
from ..grid import Grid
from ..potential import PotentialSlices
from .waves import Waves


@partial(jax.jit, static_argnames=("grid", "energy", "thickness", "tilt", "dtype"))
def fresnel_propagator(grid: Grid, energy: float, thickness: float, tilt=(0.0, 0.0), dtype=jnp.complex64):
    """Band-limited Fresnel propagator P(k) over ``thickness`` [Å] at ``energy`` [eV], tilt (y, x) [mrad]
    (static tilt; :func:`tilted_propagator` for traced tilts)."""
    return tilted_propagator(grid, energy, thickness, tilt, dtype)


def tilted_propagator(grid: Grid, energy: float, thickness: float, tilt, dtype=jnp.complex64):
    """Propagator(s) P(k) = exp(−iπλΔz k² − 2πiΔz k·tan θ)·a(k) for tilts ``tilt`` (…, 2) (y, x) [mrad],
    which may be traced (differentiable in the tilt); returns (…, ny, nx)."""
    rdtype = jnp.float64 if dtype == jnp.complex128 else jnp.float32
    lam = physics.wavelength(energy)
    ky, kx = grid.frequencies(rdtype)
    t = jnp.tan(jnp.asarray(tilt, rdtype) * 1e-3)
    phase = (-jnp.pi * lam * thickness * (ky[:, None] ** 2 + kx[None, :] ** 2)
             - 2 * jnp.pi * thickness * (ky[:, None] * t[..., 0, None, None] + kx[None, :] * t[..., 1, None, None]))
    return (jnp.exp(1j * phase) * grid.antialias_aperture(rdtype)).astype(dtype)


@partial(jax.jit, static_argnames=("grid", "dtype"))
def transmission_functions(potential_array, sigma: float, grid: Grid, dtype=jnp.complex64):
    """Band-limited transmission functions t = F⁻¹[a·F[exp(iσv)]] of (…, ny, nx) potentials [V·Å]."""
    t = jnp.exp(1j * sigma * potential_array.astype(dtype))
    aa = grid.antialias_aperture(jnp.float64 if dtype == jnp.complex128 else jnp.float32)
    return jnp.fft.ifft2(jnp.fft.fft2(t) * aa).astype(dtype)


@partial(jax.jit, static_argnames=("exit_slices", "checkpoint"))
def multislice_array(psi, transmissions, sequence, propagator, exit_slices=None, checkpoint=False):
    """Pure multislice of one wave (ny, nx) (vmap it for batches).

    Args:
        psi: incident wave (ny, nx), complex.
        transmissions: (n_unique, ny, nx) transmission functions.
        sequence: (n_slices,) int array, transmission index of each slice.
        propagator: (ny, nx) Fresnel propagator of one slice.
        exit_slices: static tuple of slice counts after which the wave is recorded (e.g. (10, 20));
            None records only the exit wave.
        checkpoint: rematerialise slice steps in reverse-mode AD (less memory, more compute).
    Returns:
        exit wave (ny, nx), or (len(exit_slices), ny, nx) for a thickness series.
    """

    def step(psi, index):
        psi = jnp.fft.ifft2(jnp.fft.fft2(psi * transmissions[index]) * propagator)
        return psi

    if checkpoint:
        step = jax.checkpoint(step)

    if exit_slices is None:
        out, _ = jax.lax.scan(lambda c, i: (step(c, i), None), psi, sequence)
        return out

    n = sequence.shape[0]
    record = np.full(n, -1, dtype=np.int32)
    for j, s in enumerate(exit_slices):
        record[s - 1] = j
    buffer = jnp.zeros((len(exit_slices),) + psi.shape, psi.dtype)

    def body(carry, xs):
        psi, buf = carry
        index, slot = xs
        psi = step(psi, index)
        buf = jax.lax.cond(slot >= 0, lambda b: b.at[slot].set(psi), lambda b: b, buf)
        return (psi, buf), None

    (_, buffer), _ = jax.lax.scan(body, (psi, buffer), (sequence, jnp.asarray(record)))
    return buffer


@partial(jax.jit, static_argnames=("exit_slices", "checkpoint", "batch"))
def _multislice_batched(flat, transmissions, sequence, propagator, exit_slices, checkpoint, batch):
    fn = partial(multislice_array, transmissions=transmissions, sequence=sequence, propagator=propagator,
                 exit_slices=exit_slices, checkpoint=checkpoint)
    return jax.lax.map(fn, flat, batch_size=batch)


def _exit_slices(exit_planes, n_slices):
    if exit_planes is None:
        return None
    if isinstance(exit_planes, (int, np.integer)):
        if exit_planes < 1:
            raise ValueError(f"exit_planes as an int is a step in slices and must be ≥ 1, got {exit_planes}")
        planes = list(range(exit_planes, n_slices + 1, exit_planes))
        if not planes or planes[-1] != n_slices:
            planes.append(n_slices)
    else:
        planes = sorted({int(p) for p in exit_planes})
    if not planes or planes[0] < 1 or planes[-1] > n_slices:
        raise ValueError(f"exit planes must be slice counts in 1…{n_slices}, got {exit_planes!r}")
    return tuple(planes)


def multislice(waves: Waves, potential: PotentialSlices, exit_planes=None, checkpoint: bool = False,
               memory_budget=None) -> Waves:
    """Propagate ``waves`` through ``potential``.

    Args:
        waves: incident :class:`Waves` (…batch, ny, nx) on the potential's grid.
        potential: :class:`~jaxem.potential.PotentialSlices`.
        exit_planes: None (exit wave only), an int step N (every N slices, plus the last), or a
            sequence of slice counts; a thickness axis is then inserted before (ny, nx).
        checkpoint: rematerialise slices in reverse-mode AD.
        memory_budget: bytes for batching waves (default from :mod:`jaxem.accel`).
    Returns:
        :class:`Waves` with array (…batch, [n_exit,] ny, nx).
    """
    if not isinstance(waves, Waves):
        raise TypeError(f"waves must be jaxem Waves, got {type(waves).__name__}")
    if not isinstance(potential, PotentialSlices):
        raise TypeError(f"potential must be PotentialSlices, got {type(potential).__name__}")
    if waves.grid.gpts != potential.grid.gpts or not np.allclose(waves.grid.sampling, potential.grid.sampling):
        raise ValueError(f"wave grid {waves.grid} does not match potential grid {potential.grid}")
    if potential.energy is not None and not np.isclose(potential.energy, waves.energy, rtol=1e-9):
        raise ValueError(f"potential was built for {potential.energy} eV (absorptive part depends on the "
                         f"energy) but the waves have {waves.energy} eV")
    dtype = waves.array.dtype
    sigma = physics.interaction_constant(waves.energy)
    trans = transmission_functions(potential.array, sigma, potential.grid, dtype)
    prop = fresnel_propagator(potential.grid, waves.energy, potential.slice_thickness, waves.tilt, dtype)
    seq = jnp.asarray(potential.sequence, jnp.int32)
    exits = _exit_slices(exit_planes, potential.n_slices)

    batch_shape = waves.batch_shape
    flat = waves.array.reshape((-1,) + waves.array.shape[-2:])
    n_out = 1 if exits is None else len(exits)
    item_bytes = flat[0].nbytes * (6 + n_out)
    bs = batch_size(item_bytes, flat.shape[0], memory_budget)
    if flat.shape[0] == 1:
        out = multislice_array(flat[0], trans, seq, prop, exit_slices=exits, checkpoint=checkpoint)[None]
    else:
        out = _multislice_batched(flat, trans, seq, prop, exits, checkpoint, int(bs))
    out = out.reshape(batch_shape + out.shape[1:])
    return waves.replace(array=out)


@partial(jax.jit, static_argnames=("grid", "energy", "thickness", "exit_slices", "checkpoint", "batch", "dtype"))
def _tilt_series(tilts, pot_array, sequence, *, grid, energy, thickness, exit_slices, checkpoint, batch, dtype):
    trans = transmission_functions(pot_array, physics.interaction_constant(energy), grid, dtype)
    psi0 = jnp.ones(grid.gpts, dtype)

    def one(tilt):
        prop = tilted_propagator(grid, energy, thickness, tilt, dtype)
        return multislice_array(psi0, trans, sequence, prop, exit_slices=exit_slices, checkpoint=checkpoint)

    return jax.lax.map(one, tilts, batch_size=batch)


def multislice_tilts(potential: PotentialSlices, energy: float, tilts, exit_planes=None, checkpoint: bool = False,
                     precision=None, memory_budget=None):
    """Exit waves of unit plane waves incident at each of ``tilts`` (T, 2) (y, x) [mrad].

    The tilts may be traced (inside ``jit``/``grad``): the propagator is built per tilt
    (:func:`tilted_propagator`), so gradients flow into the tilt angles. Tilts run under ``vmap``
    in chunks (``lax.map``) sized by the memory budget. For each tilt the result equals
    ``multislice(plane_wave(grid, energy, tilt), potential, exit_planes).array``.

    Args:
        potential: :class:`~jaxem.potential.PotentialSlices`.
        energy: beam energy [eV].
        tilts: (T, 2) beam tilts (y, x) [mrad].
        exit_planes: as in :func:`multislice`.
        checkpoint: rematerialise slices in reverse-mode AD.
        precision: ``"float32"`` (default) or ``"float64"``.
        memory_budget: bytes for batching tilts (default from :mod:`jaxem.accel`).
    Returns:
        complex array (T, [n_exit,] ny, nx) (frame following each tilted beam).
    """
    if not isinstance(potential, PotentialSlices):
        raise TypeError(f"potential must be PotentialSlices, got {type(potential).__name__}")
    physics.wavelength(energy)  # validates
    if potential.energy is not None and not np.isclose(potential.energy, energy, rtol=1e-9):
        raise ValueError(f"potential was built for {potential.energy} eV but energy is {energy} eV")
    if jnp.ndim(tilts) != 2 or jnp.shape(tilts)[1] != 2:
        raise ValueError(f"tilts must have shape (T, 2) (y, x) [mrad], got {jnp.shape(tilts)}")
    if not isinstance(tilts, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(tilts))):
        raise ValueError("tilts must be finite [mrad]")
    dtype = complex_dtype(resolve_precision(precision))
    exits = _exit_slices(exit_planes, potential.n_slices)
    n_out = 1 if exits is None else len(exits)
    ny, nx = potential.grid.gpts
    bs = batch_size(ny * nx * jnp.dtype(dtype).itemsize * (6 + n_out), int(jnp.shape(tilts)[0]), memory_budget)
    return _tilt_series(jnp.asarray(tilts), potential.array, jnp.asarray(potential.sequence, jnp.int32),
                        grid=potential.grid, energy=float(energy), thickness=float(potential.slice_thickness),
                        exit_slices=exits, checkpoint=bool(checkpoint), batch=int(bs), dtype=dtype)
