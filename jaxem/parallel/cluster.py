"""Clusters on Dask distributed: jitted per-chunk functions as tasks, results in zarr or reduced.

* :func:`dask_stem_scan_to_zarr`: the blocks of a resumable 4D-STEM scan
  (:class:`jaxem.stem.store.ScanPlan`) as tasks; each worker computes its blocks with the jitted
  scan and writes them (blocks align with zarr chunks, so writers never share a chunk) with their
  completion records. A killed worker's block is rescheduled by Dask; an interrupted run (client
  gone, cluster stopped) continues with ``resume=True``. The result is identical to the in-process
  :func:`jaxem.stem.stem_scan_to_zarr`.
* :func:`dask_ensemble_mean`: the mean of ``fn(member)`` over an ensemble (frozen-phonon
  configurations, MD snapshots), one task per chunk of members (a jitted ``vmap``), per-chunk sums
  added on the client in a fixed order.

Any Dask client works: ``LocalCluster`` on one machine, ``dask_jobqueue.SLURMCluster`` on a cluster
(``examples/dask_slurm_stem.py``). Workers should be processes (JAX is not fork-safe; Dask spawns).
"""
from __future__ import annotations

import numpy as np

from .. import validate

__all__ = ["dask_stem_scan_to_zarr", "dask_ensemble_mean"]


def _client(client):
    from distributed import Client

    if not isinstance(client, Client):
        raise validate.InputTypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    return client


def _run_block(plan, block):
    return plan.run(block)


def dask_stem_scan_to_zarr(client, path, sim, scan, potential, *, resume: bool = False, block_rows=None,
                           retries: int = 2, on_block=None, **kwargs) -> dict:
    """:func:`jaxem.stem.stem_scan_to_zarr` with the blocks computed on the workers of ``client``.

    The first missing block runs here (it fixes the array shapes); the others are Dask tasks
    (``retries`` each, on top of Dask's rescheduling of blocks lost with a worker). Returns the other
    detectors' outputs; ``on_block(block, rows, computed)`` as in the in-process function.
    """
    from distributed import as_completed

    from ..stem.store import ScanPlan

    client = _client(client)
    kwargs.pop("progress", None)
    plan = ScanPlan(path, sim, scan, potential, block_rows=block_rows, resume=resume, **kwargs)
    before = set(plan.store.done())
    todo = plan.prepare()
    if on_block is not None:
        for b in range(plan.store.n_blocks):
            if b not in todo:
                on_block(b, plan.store.rows(b), b not in before)
    futures = client.map(_run_block, [plan] * len(todo), todo, pure=False, retries=int(retries))
    for fut in as_completed(futures):
        b = fut.result()
        if on_block is not None:
            on_block(b, plan.store.rows(b), True)
    return plan.finish()


def _chunk_sum(fn, chunk):
    import jax

    out = jax.jit(jax.vmap(fn))(chunk)
    return jax.tree.map(lambda a: np.asarray(a).sum(axis=0), out)


def dask_ensemble_mean(client, fn, members, chunk: int = 1):
    """Mean over the leading axis of ``members`` (a pytree of arrays) of ``fn(member)``.

    Args:
        client: a ``dask.distributed.Client``.
        fn: pure, jit-able function of one member (must pickle: a module-level function).
        members: pytree with a leading ensemble axis (configurations' keys or positions, snapshots).
        chunk: members per task.
    """
    import jax

    client = _client(client)
    chunk = validate.integer(chunk, "chunk", lo=1)
    leaves = jax.tree.leaves(members)
    if not leaves:
        raise validate.InputError("members is empty")
    n = int(np.shape(leaves[0])[0])
    if n < 1:
        raise validate.InputError("members: the ensemble needs at least one member")
    parts = [jax.tree.map(lambda a: np.asarray(a)[s:s + chunk], members) for s in range(0, n, chunk)]
    futures = client.map(_chunk_sum, [fn] * len(parts), parts, pure=False)
    sums = client.gather(futures)  # in submission order: the sum is deterministic
    total = sums[0]
    for s in sums[1:]:
        total = jax.tree.map(np.add, total, s)
    return jax.tree.map(lambda a: a / n, total)
