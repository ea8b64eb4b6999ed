"""Scale-out (floor 2): several devices, clusters and multi-process gradients.

* :mod:`.mesh`: a 1-D device mesh over a batch axis with ``shard_map`` (STEM positions, frozen-phonon
  configurations, MD snapshots / TACAW frames, HRTEM ROIs, 4D-STEM scan rows).
* :mod:`.cluster`: Dask distributed (LocalCluster, dask-jobqueue) running jitted per-chunk
  functions: resumable 4D-STEM scans to zarr, frozen-phonon ensembles.
* :mod:`.distributed`: ``jax.distributed`` for multi-process gradient problems.
* :mod:`.estimate`: the memory estimate of a STEM scan (``--dry-run``).
"""
from .estimate import estimate_stem
from .mesh import AXIS, batch_mesh, shard_batch, shard_mean, sharded_stem_scan

__all__ = ["AXIS", "batch_mesh", "shard_batch", "shard_mean", "sharded_stem_scan", "estimate_stem",
           "dask_stem_scan_to_zarr", "dask_ensemble_mean", "distributed_value_and_grad"]


def __getattr__(name):  # Dask and jax.distributed load on first use
    if name in ("dask_stem_scan_to_zarr", "dask_ensemble_mean"):
        from . import cluster

        return getattr(cluster, name)
    if name == "distributed_value_and_grad":
        from . import distributed

        return distributed.distributed_value_and_grad
    raise AttributeError(name)
