"""Multi-process gradient problems with ``jax.distributed`` (several hosts, or one process per GPU).

Each process holds its share of the data (e.g. its scan positions' diffraction patterns); the global
batch is one array sharded over every process's devices
(``jax.make_array_from_process_local_data``), the parameters are replicated, and the jitted
``value_and_grad`` of the mean loss runs SPMD: XLA inserts the all-reduce of the gradient. Under
SLURM (``srun``) :func:`initialize` needs no arguments; on one machine (tests, CI) pass the
coordinator address, the process count and id (CPU collectives over gloo).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate

__all__ = ["initialize", "distributed_value_and_grad"]


def initialize(coordinator_address=None, num_processes=None, process_id=None, local_devices=None) -> None:
    """``jax.distributed.initialize`` (call before any computation); on CPU, gloo collectives and
    ``local_devices`` CPU devices per process."""
    if local_devices is not None:
        jax.config.update("jax_num_cpu_devices", validate.integer(local_devices, "local_devices", lo=1))
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    kw = {k: v for k, v in (("coordinator_address", coordinator_address), ("num_processes", num_processes),
                            ("process_id", process_id)) if v is not None}
    jax.distributed.initialize(**kw)


def distributed_value_and_grad(loss, params, local_data):
    """(mean loss, gradient) over the global batch, from this process's share ``local_data``.

    Args:
        loss: ``loss(params, item) -> scalar`` for one item (vmapped over the batch).
        params: pytree of parameters (replicated on every device).
        local_data: pytree of arrays whose leading axis is this process's items (a multiple of its
            local device count; every process the same count).
    Returns:
        (value, grad) as NumPy arrays, equal on every process.
    """
    from jax.sharding import NamedSharding, PartitionSpec as P

    from .mesh import batch_mesh

    validate.function(loss, "loss")
    leaves = jax.tree.leaves(params)
    if params is None or isinstance(params, (str, bytes)) or not leaves:
        raise validate.InputTypeError(f"params must be a pytree of arrays (the parameters), got {params!r:.60}")
    for i, leaf in enumerate(leaves):
        validate.array(leaf, f"params (leaf {i})", kind="real")
    validate.batch(local_data, "local_data", multiple_of=jax.local_device_count(), finite=False)
    mesh = batch_mesh(jax.devices())
    shard = NamedSharding(mesh, P(mesh.axis_names[0]))
    data = jax.tree.map(lambda a: jax.make_array_from_process_local_data(shard, np.asarray(a)), local_data)
    rep = NamedSharding(mesh, P())
    params = jax.tree.map(lambda a: jax.device_put(jnp.asarray(a), rep), params)

    @jax.jit
    def vg(p, d):
        return jax.value_and_grad(lambda p: jnp.mean(jax.vmap(lambda x: loss(p, x))(d)))(p)

    value, grad = vg(params, data)
    # replicated results: every process reads its own copy
    to_np = lambda a: np.asarray(a.addressable_data(0))  # noqa: E731
    return to_np(value), jax.tree.map(to_np, grad)
