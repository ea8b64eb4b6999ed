"""Ensembles: frozen phonons (Einstein model, MD snapshots) with running reductions.

An ensemble is a function evaluated over a stack of inputs (PRNG keys for random Einstein
displacements, or MD snapshots). :func:`ensemble_mean` runs it in ``vmap`` batches inside a
``lax.scan`` and keeps only running sums, so memory does not grow with the number of
configurations. Applied to exit waves it returns the quantum-excitation-of-phonons split
(Forbes et al., PRB 82 (2010) 104103):

    total  = ⟨|Ψ|²⟩,   elastic = |⟨Ψ⟩|²,   TDS = total − elastic   (in real and reciprocal space).

Einstein model: every atom is displaced independently by a Gaussian with variance ⟨u²⟩ per Cartesian
direction (B = 8π²⟨u²⟩). Each configuration gets its own key and every atom of the (tiled)
supercell its own draw, so lateral tiles are never identical copies.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..beam import Beam
from ..grid import Grid
from ..potential import PotentialLayout, build_potential, potential_layout
from ..structure import Structure
from .multislice import exit_slice_counts, fresnel_propagator, multislice_array, transmission_functions
from .waves import Waves, check_waves


def einstein_positions(key, positions, u2):
    """Positions (N, 3) [Å] displaced by independent Gaussians of variance ``u2`` (N, 3) [Å²]."""
    if not validate.is_traced((positions, u2)):  # the public boundary; inside jit/vmap nothing is checked
        validate.array(positions, "positions", min_ndim=2, shape=(3,), kind="real", units="Å", min_size=0)
        validate.array(u2, "u2", shape=tuple(np.shape(positions)), kind="real", units="Å²", nonnegative=True,
                       min_size=0)
    return positions + jnp.sqrt(u2) * jax.random.normal(key, positions.shape, positions.dtype)


def member_transmissions(member, structure, layout, beam: Beam, dtype, einstein: bool):
    """Transmission functions of one ensemble member: ``member`` is a PRNG key (Einstein model,
    displacements from ``structure.u2``) or an (N, 3) snapshot of positions [Å]; the potential is
    built on the fixed ``layout``; σ from ``beam`` (static). Pure; used by every frozen-phonon path
    (plane wave and STEM)."""
    validate.instance(structure, "structure", Structure, "a jaxem Structure")
    validate.instance(layout, "layout", PotentialLayout, "a PotentialLayout (potential.potential_layout)")
    pos = einstein_positions(member, structure.positions, structure.u2) if einstein else member
    pot = build_potential(layout, structure.replace(positions=pos))
    return transmission_functions(pot.array, beam, layout.grid, dtype)


def ensemble_mean(fn, xs, batch: int):
    """Mean over the leading axis of ``xs`` (any pytree) of ``fn(x)`` (any pytree of arrays).

    ``fn`` is vmapped over batches of ``batch`` items; a ``lax.scan`` carries running sums only, so
    memory is independent of the ensemble size. A final partial batch is padded and masked.
    """
    validate.function(fn, "fn", "a function of one ensemble member")
    leaves = jax.tree.leaves(xs)
    if not leaves or any(jnp.ndim(x) < 1 for x in leaves):
        raise validate.InputError(f"xs must be a pytree of arrays with a leading ensemble axis, got {type(xs).__name__}")
    n = leaves[0].shape[0]
    if n < 1:
        raise validate.InputError("xs: the ensemble needs at least one member, got an empty leading axis")
    batch = min(validate.integer(batch, "batch", lo=1), n)
    n_batches = -(-n // batch)
    pad = n_batches * batch - n

    def pad_leaf(a):
        a = jnp.concatenate([a, jnp.repeat(a[:1], pad, axis=0)]) if pad else a
        return a.reshape((n_batches, batch) + a.shape[1:])

    xs_b = jax.tree.map(pad_leaf, xs)
    weights = (jnp.arange(n_batches * batch) < n).reshape(n_batches, batch)
    vfn = jax.vmap(fn)
    zero = jax.tree.map(lambda s: jnp.zeros(s.shape[1:], s.dtype), jax.eval_shape(vfn, jax.tree.map(lambda a: a[0], xs_b)))

    def body(acc, item):
        x, w = item
        out = vfn(x)
        acc = jax.tree.map(lambda a, o: a + jnp.tensordot(w.astype(o.real.dtype), o, axes=1).astype(a.dtype), acc, out)
        return acc, None

    total, _ = jax.lax.scan(body, zero, (xs_b, weights))
    return jax.tree.map(lambda t: t / n, total)


@pytree.dataclass
class EnsembleWaves:
    """Result of a frozen-phonon run: averages over configurations.

    Attributes (arrays (…, [n_exit,] ny, nx); diffraction ones unshifted, fractions of the incident beam):
        mean_wave: ⟨Ψ⟩ in real space (the elastic, coherent wave).
        total_intensity: ⟨|Ψ|²⟩ in real space.
        total_diffraction: ⟨|Ψ(k)|²⟩.
        elastic_diffraction: |⟨Ψ(k)⟩|².
        n_configs: number of configurations (static).
        grid, beam: the grid [Å] and beam of the waves (static).
    """

    mean_wave: jnp.ndarray
    total_intensity: jnp.ndarray
    total_diffraction: jnp.ndarray
    elastic_diffraction: jnp.ndarray
    n_configs: int = pytree.field(static=True)
    grid: Grid | None = pytree.field(static=True, default=None)
    beam: Beam | None = pytree.field(static=True, default=None)

    @property
    def tds_diffraction(self):
        """Thermal diffuse part ⟨|Ψ(k)|²⟩ − |⟨Ψ(k)⟩|² of the diffraction pattern."""
        return self.total_diffraction - self.elastic_diffraction

    @property
    def tds_intensity(self):
        return self.total_intensity - jnp.abs(self.mean_wave) ** 2


def frozen_phonon_multislice(key, structure: Structure, waves: Waves, n_configs: int = None, snapshots=None,
                             slice_thickness: float = 1.0, parametrization: str = "lobato", exit_planes=None,
                             memory_budget=None) -> EnsembleWaves:
    """Frozen-phonon multislice of one incident wave.

    Args:
        key: ``jax.random`` key (Einstein model); ignored when ``snapshots`` are given.
        structure: the static structure; its ``u2`` [Å²] sets the Einstein displacements.
        waves: a single incident wave (ny, nx) on the grid of the structure's cell.
        n_configs: number of Einstein configurations.
        snapshots: alternatively (n, N, 3) positions [Å] (e.g. MD snapshots, correlated motion).
        slice_thickness: [Å]; parametrization: 'lobato' or 'kirkland'.
        exit_planes: as in :func:`jaxem.propagate.multislice`.
        memory_budget: bytes for batching configurations (on the CPU, without it, batches are capped at
            :func:`jaxem.accel.cpu_working_set`).
    Returns:
        :class:`EnsembleWaves`.
    """
    check_waves(waves)
    if not isinstance(structure, Structure):
        raise validate.InputTypeError(f"structure must be a jaxem Structure, got {type(structure).__name__}")
    if waves.array.ndim != 2:
        raise validate.InputError(f"waves must be one incident wave (ny, nx), got an array of shape "
                                  f"{waves.array.shape}")
    flat = structure.replace(z_repeats=1)  # displacements break the periodicity along z
    if snapshots is None:
        n_configs = validate.integer(n_configs, "n_configs", lo=1) if n_configs is not None else None
        if n_configs is None:
            raise validate.InputError("n_configs must be given (an integer ≥ 1) for the Einstein model, or pass "
                                      "snapshots=")
        if float(jnp.max(flat.u2, initial=0.0)) <= 0:
            raise validate.InputError("structure: all Debye–Waller factors are zero; give the structure B or u2 "
                                      "[Å²] for frozen phonons")
        xs = jax.random.split(key, n_configs)
    else:
        validate.array(snapshots, "snapshots", ndim=3, shape=(len(flat), 3), kind="real", units="Å")
        xs = jnp.asarray(snapshots, flat.positions.dtype)
    grid = waves.grid
    layout = potential_layout(flat, gpts=grid.gpts, slice_thickness=slice_thickness, parametrization=parametrization,
                              precision=accel.precision_of(waves.array))
    exits = exit_slice_counts(exit_planes, len(layout.sequence))
    dtype = waves.array.dtype
    prop = fresnel_propagator(grid, waves.beam, float(layout.slice_thickness), dtype)
    npix = grid.gpts[0] * grid.gpts[1]
    n_out = 1 if exits is None else len(exits)
    per_item = 8 * npix * (3 * len(layout.sequence) + 8 + 4 * n_out)
    n = int(jax.tree.leaves(xs)[0].shape[0])
    bs = accel.batch_size(per_item, n, memory_budget, cpu_cap=accel.cpu_working_set())
    means = _frozen_phonon_means(xs, flat, layout, waves.array, prop, beam=waves.beam, einstein=snapshots is None,
                                 exits=exits, norm=float(waves.norm), batch=int(bs))
    mean_k = jnp.fft.fft2(means["psi"])
    elastic = jnp.abs(mean_k) ** 2 / (npix * waves.norm)
    return EnsembleWaves(means["psi"], means["int"], means["dp"], elastic, n, grid, waves.beam)


@partial(jax.jit, static_argnames=("beam", "einstein", "exits", "norm", "batch"))
def _frozen_phonon_means(xs, structure, layout, psi0, prop, *, beam, einstein, exits, norm, batch):
    grid = layout.grid
    npix = grid.gpts[0] * grid.gpts[1]
    seq = jnp.asarray(layout.sequence, jnp.int32)

    def one(x):
        t = member_transmissions(x, structure, layout, beam, psi0.dtype, einstein)
        psi = multislice_array(psi0, t, seq, prop, exit_slices=exits)
        fk = jnp.fft.fft2(psi)
        return {"psi": psi, "int": jnp.abs(psi) ** 2, "dp": jnp.abs(fk) ** 2 / (npix * norm)}

    return ensemble_mean(one, xs, batch)
