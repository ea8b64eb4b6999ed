"""Multislice: transmit, then Fresnel-propagate, slice after slice (``lax.scan``).

    ψ_{n+1} = F⁻¹[ P(k) · F[ t_n(r) · ψ_n(r) ] ],
    t_n = F⁻¹[ a(k) F[exp(iσ v_n)] ],   P(k) = a(k) · exp(−iπλΔz|k|²) · exp(−2πiΔz(kx tan θx + ky tan θy))

with v_n the projected potential [V·Å] of slice n (complex v + iv′ for absorptive models, so
t = exp(iσv − σv′)), σ the interaction constant, λ the wavelength, Δz the slice thickness [Å],
a(k) the soft 2/3-Nyquist anti-alias aperture and θ the beam tilt. Transmission functions of the
distinct slices of a periodic crystal are computed once and indexed by the slice sequence.

Exit planes (thickness series) and every other in-specimen recording or reduction are *observers*
(:mod:`.observers`) run inside the same scan: there is one slice step in jaxem. Batches of waves run
through ``vmap`` in chunks (``lax.map``) whose size comes from the memory budget.

Tilt: the wave is carried in the frame that follows the beam (the carrier exp(2πi K·r),
K = tan θ/λ, factored out), so a unit plane wave stays 1 at the entrance surface and the Fresnel
propagator picks up the cross term of exp(−iπλΔz|k + K|²), i.e. exp(−2πiΔz k·tan θ). Imaging a
tilted exit wave therefore evaluates the lens at k + K (``jaxem.optics.imaging``). The tilt is the
beam's (:class:`~jaxem.beam.Beam`); :func:`multislice_tilts` runs a series of further tilts relative to
it whose values may be traced (differentiable, e.g. θ_s·u_j for the nodes u_j of a convergence average).
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..accel.cis import exp_i
from ..beam import Beam, as_beam
from ..grid import Grid
from ..potential import PotentialSlices
from .observers import ExitPlanes
from .waves import Waves, check_finite, check_waves


def _require_beam(beam) -> None:
    """Kernels take the Beam itself (a loose energy or σ would be read as the wrong quantity)."""
    if not isinstance(beam, Beam):
        raise validate.InputTypeError(f"beam must be a jaxem Beam (λ and σ come from it), got "
                                      f"{type(beam).__name__} {beam!r}; wrap an energy as jaxem.Beam(energy)")


@partial(jax.jit, static_argnames=("grid", "beam", "thickness", "dtype"))
@validate.typed
def fresnel_propagator(grid: Grid, beam: Beam, thickness: float, dtype=jnp.complex64):
    """Band-limited Fresnel propagator P(k) over ``thickness`` [Å] for ``beam`` (its energy [eV] and
    tilt (y, x) [mrad]) on ``grid``; (ny, nx) of ``dtype`` (:func:`tilted_propagator` for traced tilts)."""
    return tilted_propagator(grid, beam, thickness, (0.0, 0.0), dtype)


@validate.typed
def tilted_propagator(grid: Grid, beam: Beam, thickness: float, tilt=(0.0, 0.0), dtype=jnp.complex64):
    """Propagator(s) P(k) = exp(−iπλΔz k² − 2πiΔz k·tan θ)·a(k), θ = ``beam.tilt`` + ``tilt``.

    Args:
        grid: the :class:`~jaxem.grid.Grid`.
        beam: :class:`~jaxem.beam.Beam` (λ and the beam tilt [mrad]).
        thickness: Δz [Å].
        tilt: further tilts (…, 2) (y, x) [mrad] relative to the beam, may be traced (differentiable).
        dtype: complex dtype of the result.
    Returns:
        (…, ny, nx).
    """
    _require_beam(beam)
    if not isinstance(grid, Grid):
        raise validate.InputTypeError(f"grid must be a jaxem Grid, got {type(grid).__name__}")
    validate.scalar(thickness, "thickness", "Å", nonnegative=True)
    if not validate.is_traced(tilt):
        t = np.asarray(validate.array(tilt, "tilt", min_ndim=1, shape=(2,), kind="real", units="mrad"), float)
        worst = float(np.max(np.hypot(t[..., 0] + beam.tilt[0], t[..., 1] + beam.tilt[1]))) if t.size else 0.0
        beam.check_angle(worst, grid, "tilt (with the beam tilt)")
    rdtype, cdtype = accel.dtypes(dtype)
    lam = beam.wavelength
    ky, kx = grid.frequencies(rdtype)
    t = jnp.tan((jnp.asarray(tilt, rdtype) + jnp.asarray(beam.tilt, rdtype)) * 1e-3)
    phase = (-jnp.pi * lam * thickness * (ky[:, None] ** 2 + kx[None, :] ** 2)
             - 2 * jnp.pi * thickness * (ky[:, None] * t[..., 0, None, None] + kx[None, :] * t[..., 1, None, None]))
    return (jnp.exp(1j * phase) * grid.antialias_aperture(rdtype)).astype(cdtype)


@partial(jax.jit, static_argnames=("beam", "grid", "dtype"))
@validate.typed
def transmission_functions(potential_array, beam: Beam, grid: Grid, dtype=jnp.complex64):
    """Band-limited transmission functions t = F⁻¹[a·F[exp(iσv)]] of (…, ny, nx) projected potentials
    v [V·Å] (complex v + iv′ for absorptive models), σ the interaction constant of ``beam``."""
    _require_beam(beam)
    rdtype, cdtype = accel.dtypes(dtype)
    v = potential_array.astype(cdtype if jnp.iscomplexobj(potential_array) else rdtype)
    t = exp_i(beam.sigma * v).astype(cdtype)  # the fast exp(iφ) (accel.cis): one per pixel and slice
    return jnp.fft.ifft2(jnp.fft.fft2(t) * grid.antialias_aperture(rdtype)).astype(cdtype)


@partial(jax.jit, static_argnames=("exit_slices", "checkpoint"))
def multislice_array(psi, transmissions, sequence, propagator, *, exit_slices=None, checkpoint=False,
                     observer=None):
    """The slice step of jaxem, pure: ψ ← F⁻¹[P·F[t_{sequence[n]}·ψ]] for n = 0 … n_slices − 1, one wave
    (ny, nx) (vmap it for batches).

    Args:
        psi: incident wave (ny, nx), complex.
        transmissions: (n_unique, ny, nx) transmission functions.
        sequence: (n_slices,) int array, transmission index of each slice.
        propagator: (ny, nx) Fresnel propagator of one slice.
        exit_slices: static tuple of slice counts after which the wave is recorded (e.g. (10, 20)):
            shorthand for ``observer=ExitPlanes(exit_slices)`` returning only the recorded waves.
        checkpoint: rematerialise slice steps in reverse-mode AD (less memory, more compute).
        observer: an observer (:mod:`jaxem.propagate.observers`) updated after every slice inside the
            same scan, or None.
    Returns:
        the exit wave (ny, nx); with ``exit_slices`` the (len(exit_slices), ny, nx) waves; with an
        ``observer`` the pair (exit wave, observer state).
    """

    def step(psi, index):
        return jnp.fft.ifft2(jnp.fft.fft2(psi * transmissions[index]) * propagator)

    if checkpoint:
        step = jax.checkpoint(step)

    if exit_slices is not None:
        if observer is not None:
            raise validate.InputError("give either exit_slices or observer (use observers.Observers((ExitPlanes("
                                      "slices), other)) to combine them)")
        return multislice_array(psi, transmissions, sequence, propagator, checkpoint=checkpoint,
                                observer=ExitPlanes(tuple(exit_slices)))[1]

    if observer is None:
        out, _ = jax.lax.scan(lambda c, i: (step(c, i), None), psi, sequence)
        return out

    def body(carry, xs):
        psi, obs = carry
        index, position = xs
        psi = step(psi, index)
        return (psi, observer.update(obs, psi, position)), None

    positions = jnp.arange(sequence.shape[0], dtype=jnp.int32)
    (psi, obs), _ = jax.lax.scan(body, (psi, observer.init(psi)), (sequence, positions))
    return psi, obs


@partial(jax.jit, static_argnames=("exit_slices", "checkpoint", "batch"))
def _multislice_batched(flat, transmissions, sequence, propagator, exit_slices, checkpoint, batch):
    fn = partial(multislice_array, transmissions=transmissions, sequence=sequence, propagator=propagator,
                 exit_slices=exit_slices, checkpoint=checkpoint)
    return jax.lax.map(fn, flat, batch_size=batch)


def exit_plane_axis(exits, slice_thickness: float):
    """The :class:`~jaxem.measurement.Axis` of the exit planes ``exits`` (slice counts, from
    :func:`exit_slice_counts`) of slices ``slice_thickness`` [Å] thick: ``thickness`` [Å] (value =
    specimen thickness at each plane) when the planes are evenly spaced, else ``exit plane`` [index]
    (an Axis is uniform; e.g. every 2 of 5 slices gives planes 2, 4, 5): then record the thicknesses
    in the metadata, as ``stem_scan`` and ``jaxem simulate`` do."""
    from ..measurement import Axis

    dz = float(slice_thickness)
    steps = np.diff(exits)
    if len(exits) == 1 or np.all(steps == steps[0]):
        return Axis("thickness", float((steps[0] if len(exits) > 1 else exits[0]) * dz), "Å", float(exits[0] * dz))
    return Axis("exit plane", 1.0, "index")


def exit_slice_counts(exit_planes, n_slices: int, name: str = "exit_planes"):
    """Static tuple of slice counts from ``exit_planes``: None → None (exit wave only); an int N → every
    N slices plus the last; a sequence → those counts (sorted, unique), each in 1…``n_slices``."""
    if exit_planes is None:
        return None
    if isinstance(exit_planes, (int, np.integer)) and not isinstance(exit_planes, bool):
        step = validate.integer(exit_planes, name, lo=1)
        if step > n_slices:
            raise validate.InputError(f"{name} = {step} (a step in slices) exceeds the {n_slices} slices of the "
                                      f"potential")
        planes = list(range(step, n_slices + 1, step))
        if not planes or planes[-1] != n_slices:
            planes.append(n_slices)
    else:
        try:
            items = list(exit_planes)
        except TypeError:
            raise validate.InputTypeError(f"{name} must be None, an int step or a sequence of slice counts, "
                                          f"got {exit_planes!r}") from None
        planes = sorted({validate.integer(p, name) for p in items})
    if not planes or planes[0] < 1 or planes[-1] > n_slices:
        raise validate.InputError(f"{name} must be slice counts in 1…{n_slices} (the potential has {n_slices} "
                                  f"slices), got {exit_planes!r}")
    return tuple(planes)


def _check_potential(potential, beam: Beam, name="potential"):
    if not isinstance(potential, PotentialSlices):
        raise validate.InputTypeError(f"{name} must be PotentialSlices (jaxem.potential), got "
                                      f"{type(potential).__name__}")
    if potential.energy is not None and not np.isclose(potential.energy, beam.energy, rtol=1e-9):
        raise validate.InputError(f"{name} was built for {potential.energy} eV (its absorptive part depends on "
                                  f"the energy) but the beam has {beam.energy} eV")
    check_finite(potential.array, f"{name}.array")  # one reduction on the device; traced arrays pass


def multislice(waves: Waves, potential: PotentialSlices, exit_planes=None, checkpoint: bool = False,
               memory_budget=None) -> Waves:
    """Propagate ``waves`` through ``potential`` (their beam sets λ, σ and the tilt).

    Args:
        waves: incident :class:`Waves` (…batch, ny, nx) on the potential's grid, finite.
        potential: :class:`~jaxem.potential.PotentialSlices`.
        exit_planes: None (exit wave only), an int step N (every N slices, plus the last), or a
            sequence of slice counts; a thickness axis is then inserted before (ny, nx).
        checkpoint: rematerialise slices in reverse-mode AD.
        memory_budget: bytes (or '2G') for batching waves (default from :mod:`jaxem.accel`; on the CPU
            batches are then capped at :func:`jaxem.accel.cpu_working_set`, cache-bound FFTs).
    Returns:
        :class:`Waves` with array (…batch, [n_exit,] ny, nx).
    """
    check_waves(waves)
    _check_potential(potential, waves.beam)
    if waves.grid.gpts != potential.grid.gpts or not np.allclose(waves.grid.sampling, potential.grid.sampling):
        raise validate.InputError(f"waves.grid {waves.grid} does not match the potential's grid {potential.grid}")
    waves.beam.check_tilt(potential.grid)
    dtype = waves.array.dtype
    trans = transmission_functions(potential.array, waves.beam, potential.grid, dtype)
    prop = fresnel_propagator(potential.grid, waves.beam, float(potential.slice_thickness), dtype)
    seq = jnp.asarray(potential.sequence, jnp.int32)
    exits = exit_slice_counts(exit_planes, potential.n_slices)

    batch_shape = waves.batch_shape
    flat = waves.array.reshape((-1,) + waves.array.shape[-2:])
    n_out = 1 if exits is None else len(exits)
    item_bytes = flat[0].nbytes * (6 + n_out)
    bs = accel.batch_size(item_bytes, flat.shape[0], memory_budget, cpu_cap=accel.cpu_working_set())
    if flat.shape[0] == 1:
        out = multislice_array(flat[0], trans, seq, prop, exit_slices=exits, checkpoint=bool(checkpoint))[None]
    else:
        out = _multislice_batched(flat, trans, seq, prop, exits, bool(checkpoint), int(bs))
    out = out.reshape(batch_shape + out.shape[1:])
    return waves.replace(array=out)


@partial(jax.jit, static_argnames=("grid", "beam", "thickness", "exit_slices", "checkpoint", "batch", "dtype"))
def _tilt_series(tilts, pot_array, sequence, *, grid, beam, thickness, exit_slices, checkpoint, batch, dtype):
    trans = transmission_functions(pot_array, beam, grid, dtype)
    psi0 = jnp.ones(grid.gpts, dtype)

    def one(tilt):
        prop = tilted_propagator(grid, beam, thickness, tilt, dtype)
        return multislice_array(psi0, trans, sequence, prop, exit_slices=exit_slices, checkpoint=checkpoint)

    return jax.lax.map(one, tilts, batch_size=batch)


def multislice_tilts(potential: PotentialSlices, beam, tilts, exit_planes=None, checkpoint: bool = False,
                     precision=None, memory_budget=None):
    """Exit waves of unit plane waves incident at each of ``tilts`` (T, 2) (y, x) [mrad], relative to the
    beam's own tilt.

    The tilts may be traced (inside ``jit``/``grad``): the propagator is built per tilt
    (:func:`tilted_propagator`), so gradients flow into the tilt angles. Tilts run under ``vmap``
    in chunks (``lax.map``) sized by the memory budget. For each tilt t the result equals
    ``multislice(plane_wave(grid, beam.with_tilt(beam.tilt + t)), potential, exit_planes).array``.

    Args:
        potential: :class:`~jaxem.potential.PotentialSlices`.
        beam: :class:`~jaxem.beam.Beam` or an energy [eV] / ``"300 kV"``.
        tilts: (T, 2) beam tilts (y, x) [mrad], within the grid's anti-aliased band.
        exit_planes: as in :func:`multislice`.
        checkpoint: rematerialise slices in reverse-mode AD.
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32).
        memory_budget: bytes (or '2G') for batching tilts (default from :mod:`jaxem.accel`; on the CPU
            batches are then capped at :func:`jaxem.accel.cpu_working_set`).
    Returns:
        complex array (T, [n_exit,] ny, nx) (frame following each tilted beam).
    """
    beam = as_beam(beam)
    _check_potential(potential, beam)
    grid = potential.grid
    beam.check_tilt(grid)
    if jnp.ndim(tilts) != 2 or jnp.shape(tilts)[1] != 2:
        raise validate.InputError(f"tilts must have shape (T, 2) (y, x) [mrad], got {jnp.shape(tilts)}")
    if not validate.is_traced(tilts):
        validate.array(tilts, "tilts", kind="real", units="mrad")
        total = np.asarray(tilts, float) + np.asarray(beam.tilt)[None]
        beam.check_angle(float(np.max(np.hypot(total[:, 0], total[:, 1]))), grid, "tilts (largest, with the beam tilt)")
    _, dtype = accel.dtypes(precision)
    exits = exit_slice_counts(exit_planes, potential.n_slices)
    n_out = 1 if exits is None else len(exits)
    ny, nx = grid.gpts
    bs = accel.batch_size(ny * nx * jnp.dtype(dtype).itemsize * (6 + n_out), int(jnp.shape(tilts)[0]),
                          memory_budget, cpu_cap=accel.cpu_working_set())
    return _tilt_series(jnp.asarray(tilts), potential.array, jnp.asarray(potential.sequence, jnp.int32),
                        grid=grid, beam=beam, thickness=float(potential.slice_thickness),
                        exit_slices=exits, checkpoint=bool(checkpoint), batch=int(bs), dtype=dtype)
