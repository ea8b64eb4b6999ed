"""A resumable 4D-STEM scan of SrTiO3 on a SLURM cluster through dask-jobqueue.

Each Dask worker is one SLURM job (one GPU or a few cores); each task computes one block of scan rows
with the jitted scan and writes it into the zarr store with its completion record. If the allocation
ends or a job is killed, run the script again with --resume: only the missing blocks are computed.

    python examples/dask_slurm_stem.py --queue gpu --account my_account --jobs 4 out.zarr [--resume]
    python examples/dask_slurm_stem.py --local out.zarr        # the same on a LocalCluster
"""
import argparse

from distributed import Client, LocalCluster

from jaxem.parallel import dask_stem_scan_to_zarr
from jaxem.potential import potential
from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation
from jaxem.structure import crystals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--queue", default="gpu")
    ap.add_argument("--account", default=None)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--local", action="store_true")
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    if args.local:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    else:
        from dask_jobqueue import SLURMCluster

        cluster = SLURMCluster(queue=args.queue, account=args.account, cores=4, memory="32GB", processes=1,
                               job_extra_directives=["--gres=gpu:1"], walltime="02:00:00",
                               job_script_prologue=["export XLA_PYTHON_CLIENT_PREALLOCATE=false"])
        cluster.scale(jobs=args.jobs)
    client = Client(cluster)
    sto = crystals.SrTiO3().repeat(4, 4, 10)
    pot = potential(sto, sampling=0.05, slice_thickness=1.9525)
    sim = STEMSimulation(300e3, 20.0, (PixelatedDetector(60.0, 2), AnnularDetector(70.0, 200.0, "HAADF")))
    scan = GridScan.create((0, 0), (3.905, 3.905), gpts=(32, 32))
    out = dask_stem_scan_to_zarr(client, args.path, sim, scan, pot, resume=args.resume, block_rows=2,
                                 on_block=lambda b, rows, done: print(f"block {b} rows {rows.start}-{rows.stop - 1}: "
                                                                      f"{'computed' if done else 'already on disk'}"))
    print("HAADF mean", float(out["HAADF"].array.mean()), "→", args.path)


if __name__ == "__main__":
    main()
