"""Several devices in one process: a 1-D mesh over a batch axis, ``shard_map`` over it.

Every batch axis of jaxem (STEM probe positions, frozen-phonon configurations, MD snapshots / TACAW
frames, HRTEM regions of interest, 4D-STEM scan rows) is embarrassingly parallel: each device takes
a contiguous share of the batch and runs the same jitted per-item function on it; a mean over the
ensemble is a ``psum`` of per-device sums. The batch is padded to a multiple of the device count
(padding items are copies of the last one, cropped or given weight 0), so any batch size works and
results equal one device's (the same per-item arithmetic; only the order of an ensemble sum changes).

* :func:`batch_mesh`: the 1-D mesh (``jax.make_mesh`` with an ``Auto`` axis, so ``jax.grad`` works
  through it outside a mesh context).
* :func:`shard_batch`: ``f(batched…, replicated…) → per-item outputs``, split over the mesh.
* :func:`shard_mean`: the mean over the batch of ``f(item, replicated…)`` (``psum``; differentiable).
* :func:`sharded_stem_scan`: detector signals of a STEM scan with the probe positions sharded.

Tests run on CPU with fake devices: ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` set
before JAX is imported.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate

__all__ = ["batch_mesh", "shard_batch", "shard_mean", "sharded_stem_scan", "AXIS"]

#: the name of the mesh axis
AXIS = "batch"


def batch_mesh(devices=None, axis_name: str = AXIS):
    """A 1-D :class:`jax.sharding.Mesh` over ``devices`` (default: all of this process's devices)."""
    from jax.sharding import AxisType, Mesh

    if devices is not None and (isinstance(devices, (str, bytes, dict)) or not hasattr(devices, "__iter__")):
        raise validate.InputTypeError(f"devices must be a sequence of jax devices (e.g. jax.devices()), got "
                                      f"{type(devices).__name__}")
    devices = list(jax.devices() if devices is None else devices)
    bad = [d for d in devices if not isinstance(d, jax.Device)]
    if bad:
        raise validate.InputTypeError(f"devices must be jax devices (e.g. jax.devices()), got {bad[0]!r}")
    if not isinstance(axis_name, str) or not axis_name:
        raise validate.InputTypeError(f"axis_name must be a non-empty string, got {axis_name!r}")
    if not devices:
        raise validate.InputError("devices is empty: a mesh needs at least one device")
    return Mesh(np.asarray(devices), (axis_name,), axis_types=(AxisType.Auto,))


def _check_mesh(mesh):
    from jax.sharding import Mesh

    mesh = batch_mesh() if mesh is None else mesh
    if not isinstance(mesh, Mesh) or len(mesh.axis_names) != 1:
        raise validate.InputTypeError(f"mesh must be a 1-D jax.sharding.Mesh (see batch_mesh()), got {mesh!r}")
    return mesh


def _pad(tree, n_dev):
    n = jax.tree.leaves(tree)[0].shape[0]
    pad = (-n) % n_dev

    def one(a):
        a = jnp.asarray(a)
        if a.shape[0] != n:
            raise validate.InputError(f"batched arguments must share their leading (batch) length {n}, got {a.shape}")
        return jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]) if pad else a

    return jax.tree.map(one, tree), n, pad


def shard_batch(fn, batched, replicated=(), mesh=None):
    """``fn(batched_share, *replicated)`` on each device's share of the batch, outputs concatenated.

    Args:
        fn: pure function of a batch (leading axis of every leaf of ``batched``) and the replicated
            arguments, returning arrays with the same leading batch axis (e.g. a ``vmap``).
        batched: a pytree of arrays with a common leading batch axis (any length).
        replicated: a tuple of pytrees every device gets whole (potential, probe, detector states).
        mesh: a 1-D mesh (default :func:`batch_mesh`).
    """
    from jax.sharding import PartitionSpec as P

    validate.function(fn, "fn")
    validate.batch(batched, "batched", finite=False)
    mesh = _check_mesh(mesh)
    ax = mesh.axis_names[0]
    xs, n, _ = _pad(batched, mesh.size)
    rep = tuple(replicated)
    f = jax.shard_map(lambda x, r: fn(x, *r), mesh=mesh, in_specs=(P(ax), P()), out_specs=P(ax), check_vma=False)
    out = f(xs, rep)
    return jax.tree.map(lambda a: a[:n], out)


def shard_mean(fn, batched, replicated=(), mesh=None):
    """Mean over the batch of ``fn(item, *replicated)`` (vmapped per device, summed by ``psum``).

    Padding items get weight 0; differentiable with respect to ``replicated`` and ``batched``.
    """
    from jax.sharding import PartitionSpec as P

    validate.function(fn, "fn")
    validate.batch(batched, "batched", finite=False)
    mesh = _check_mesh(mesh)
    ax = mesh.axis_names[0]
    xs, n, pad = _pad(batched, mesh.size)
    weights = (jnp.arange(n + pad) < n).astype(jnp.float32)
    rep = tuple(replicated)

    def local(x, w, r):
        out = jax.vmap(lambda item: fn(item, *r))(x)
        s = jax.tree.map(lambda o: jnp.tensordot(w.astype(jnp.real(o).dtype), o, axes=1), out)
        return jax.lax.psum(s, ax)

    f = jax.shard_map(local, mesh=mesh, in_specs=(P(ax), P(ax), P()), out_specs=P(), check_vma=False)
    return jax.tree.map(lambda a: a / n, f(xs, weights, rep))


@partial(jax.jit, static_argnames=("detectors", "beam", "mesh"))
def _stem_sharded(positions, probe_k, freqs, trans, seq, prop, states, *, detectors, beam, mesh):
    from ..stem.scanning import _one_position

    def per_device(pos, probe_k, freqs, trans, seq, prop, states):
        one = partial(_one_position, probe_k=probe_k, freqs=freqs, trans=trans, seq=seq, prop=prop, states=states,
                      absorptive=None, detectors=detectors, beam=beam, exits=None)
        return jax.vmap(lambda r0: one(r0)[0])(pos)

    return shard_batch(per_device, positions, (probe_k, freqs, trans, seq, prop, states), mesh)


def sharded_stem_scan(sim, scan, potential, *, precision=None, mesh=None) -> dict:
    """Detector signals {name: (scan_y, scan_x, *signal) array} of a STEM scan (static potential), the
    probe positions sharded over ``mesh``; equal to :func:`jaxem.stem.stem_scan` on one device.

    The probe, transmission functions and detector states are those :func:`~jaxem.stem.stem_scan`
    builds (its own helpers); use this for scans that fit in device memory at once (each device
    holds its share of the positions' waves).
    """
    from .. import accel
    from ..optics.probes import probe_transfer
    from ..propagate.multislice import fresnel_propagator, transmission_functions
    from ..stem.scanning import STEMSimulation, _cast_state

    if not isinstance(sim, STEMSimulation):
        raise validate.InputTypeError(f"sim must be a jaxem.stem.STEMSimulation, got {type(sim).__name__}")
    mesh = _check_mesh(mesh)
    beam, grid = sim.beam, potential.grid
    scan.check_inside(grid.extent)
    beam.check_angle(sim.semi_angle, grid, "sim.semi_angle")
    rdtype, cdtype = accel.dtypes(precision)
    pk = probe_transfer(grid, beam, sim.semi_angle, sim.aberrations, sim.edge_width, precision=precision)
    npix = grid.gpts[0] * grid.gpts[1]
    pk = (pk * jnp.sqrt(npix / jnp.sum(jnp.abs(pk) ** 2))).astype(cdtype)
    states = tuple(_cast_state(d.prepare(beam, grid), rdtype) for d in sim.detectors)
    trans = transmission_functions(potential.array, beam, grid, cdtype)
    prop = fresnel_propagator(grid, beam, float(potential.slice_thickness), cdtype)
    pos = jnp.asarray(scan.positions().reshape(-1, 2), rdtype)
    out = _stem_sharded(pos, pk, grid.frequencies(rdtype), trans, jnp.asarray(potential.sequence, jnp.int32), prop,
                        states, detectors=sim.detectors, beam=beam, mesh=mesh)
    return {d.name: np.asarray(s).reshape(tuple(scan.gpts) + s.shape[1:]) for d, s in zip(sim.detectors, out)}
