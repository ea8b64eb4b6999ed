"""Dask LocalCluster (2 worker processes): a resumable 4D-STEM scan and a frozen-phonon-style ensemble
equal the in-process results; a worker SIGKILLed mid-run loses nothing; an interrupted run resumes
computing only its missing blocks."""
import os
import signal
import threading
import time

import numpy as np
import pytest

from jaxem.io import load

A = 3.905


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    os.environ["JAXEM_TEST_BLOCK_PAUSE"] = "0"
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       env={"JAXEM_TEST_BLOCK_PAUSE": "1.0", "JAX_PLATFORMS": "cpu",
                                            "JAX_ENABLE_X64": "1"})
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()
    os.environ.pop("JAXEM_TEST_BLOCK_PAUSE", None)


@pytest.fixture(scope="module")
def case():
    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation
    from jaxem.structure import crystals

    pot = potential(crystals.SrTiO3(), sampling=0.3, slice_thickness=A / 2)
    sim = STEMSimulation(300e3, 12.0, (PixelatedDetector(20.0, 1), AnnularDetector(0.0, 12.0, "BF")))
    scan = GridScan.create((0, 0), (A, A), gpts=(6, 2))
    return sim, scan, pot


def test_dask_scan_kill_a_worker_and_resume(tmp_path, client, case):
    from jaxem.parallel import dask_stem_scan_to_zarr
    from jaxem.stem import stem_scan_to_zarr

    sim, scan, pot = case
    ref_bf = stem_scan_to_zarr(tmp_path / "ref.zarr", sim, scan, pot, block_rows=1, progress=False)["BF"]
    ref = load(tmp_path / "ref.zarr").numpy()

    # an in-process run interrupted after 2 blocks, resumed on the cluster: only the 4 missing blocks run
    class Stop(Exception):
        pass

    def stop_after_two(b, rows, computed):
        if b == 1:
            raise Stop

    path = tmp_path / "scan.zarr"
    with pytest.raises(Stop):
        stem_scan_to_zarr(path, sim, scan, pot, block_rows=1, progress=False, on_block=stop_after_two)
    records = tmp_path / "scan.zarr.resume" / "blocks"
    assert len(list(records.glob("*.json"))) == 2

    # while the cluster works on them, one worker is SIGKILLed: Dask reschedules its block
    pids = list(client.run(os.getpid).values())

    def kill_one():
        t0 = time.time()
        while len(list(records.glob("*.json"))) < 3 and time.time() - t0 < 120:
            time.sleep(0.05)
        os.kill(pids[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_one)
    killer.start()
    calls = []
    bf = dask_stem_scan_to_zarr(client, path, sim, scan, pot, block_rows=1, resume=True,
                                on_block=lambda b, rows, computed: calls.append((b, computed)))
    killer.join()
    assert sorted(b for b, c in calls if c) == [2, 3, 4, 5] and sorted(b for b, c in calls if not c) == [0, 1]
    assert np.array_equal(load(path).numpy(), ref)  # identical, bit for bit
    assert np.array_equal(bf["BF"].array, ref_bf.array) and bf["BF"].axes == ref_bf.axes


def test_dask_ensemble_equals_in_process(client):
    import jax.numpy as jnp

    from jaxem.parallel import dask_ensemble_mean
    from jaxem.propagate.ensembles import ensemble_mean
    from tests.parallel._dask_work import member_intensity

    members = jnp.asarray(np.random.default_rng(1).random((7, 16, 16)))  # float64 (conftest: x64)
    ref = np.asarray(ensemble_mean(member_intensity, members, 3))
    got = dask_ensemble_mean(client, member_intensity, np.asarray(members), chunk=2)
    assert got.dtype == np.float64 and np.max(np.abs(got - ref)) <= 1e-12 * np.max(ref)
