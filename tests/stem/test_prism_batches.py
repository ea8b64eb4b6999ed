"""PRISM's batches on the CPU (issue 19): tiles per batch, rows per chunk and frozen-phonon batches come
from accel.batch_size under a working-set cap, so they do not follow the free memory (2, 16, 128 GiB)
and a warm repeated prism_scan / stem_scan(method="prism") compiles nothing; an explicit budget lifts
the caps; results do not depend on the chunking."""
import jax
import numpy as np
import pytest

import jaxem.stem.prism_memory as prism_memory
import jaxem.stem.prism_run as prism_run
from jaxem import accel
from jaxem.accel import memory as accel_memory
from jaxem.potential import potential
from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, prism_scan, stem_scan
from jaxem.structure import crystals

cpu = pytest.mark.skipif(jax.default_backend() != "cpu", reason="the caps apply on the CPU backend")
A = 3.905
FREE = (2 * 2**30, 16 * 2**30, 128 * 2**30)
SIM = STEMSimulation(300e3, 15.0, (AnnularDetector(25.0, 55.0, "HAADF"), PixelatedDetector(40.0, name="dp")))


def _free(monkeypatch, free):
    monkeypatch.setattr(accel_memory, "available_memory", lambda device=None, f=free: f)


@cpu
def test_batches_do_not_follow_free_memory_at_benchmark_sizes(monkeypatch):
    """A 256 × 256 4D-STEM scan (128² patterns, 8 positions per tile row, 64 tile rows) with a 170 MB
    S-matrix: the rows per chunk followed a quarter of the free memory before (1, 7 and 59 rows at 2, 16
    and 128 GiB); now one shape, the tile batch under TILE_CAP_FACTOR × the working set, the chunk under CHUNK_CAP."""
    monkeypatch.delenv("JAXEM_CPU_WORKING_SET", raising=False)
    monkeypatch.delenv("JAXEM_MEMORY_BUDGET", raising=False)
    per_tile, tiles, row_bytes, s_bytes = 9 * 2**20, (64, 32), 4 * 256 * 8 * 128 * 128 * 4, 170 * 10**6
    seen, before = set(), set()
    for free in FREE:
        _free(monkeypatch, free)
        seen.add(prism_run.prism_batches(per_tile, tiles, row_bytes, s_bytes))
        before.add(accel.batch_size(row_bytes, tiles[0], free // 4 - s_bytes))  # what the rows followed before
    assert len(before) == 3 and len(seen) == 1
    tile_batch, rows = seen.pop()
    assert tile_batch == prism_memory.TILE_CAP_FACTOR * accel.CPU_WORKING_SET // per_tile
    assert rows == max(1, prism_memory.CHUNK_CAP // row_bytes, -(-tile_batch // tiles[1]))
    # frozen phonons: plane waves per batch and configurations per batch likewise
    from jaxem import Grid
    grid = Grid((400, 400), (0.078, 0.078))
    member = {prism_memory.member_batches(grid, (268, 268), None, np.complex64, 300, 52, 16, s_bytes)
              for free in FREE if not _free(monkeypatch, free)}
    assert member == {(1, 1)}
    # an explicit budget lifts the caps
    assert prism_run.prism_batches(per_tile, tiles, row_bytes, s_bytes, memory_budget="64G")[1] == 64


@pytest.fixture(scope="module")
def sto():
    return potential(crystals.SrTiO3().repeat(2, 2, 1), gpts=(48, 48), slice_thickness=A / 2)


@cpu
def test_prism_scan_chunks_fixed_no_recompile_and_chunking_free(monkeypatch, sto):
    """Several chunks (CHUNK_CAP lowered to a few tile rows): identical chunk shapes at 2, 16 and
    128 GiB free, a warm repeated prism_scan and stem_scan(method='prism') compile nothing, and the
    chunked result equals one chunk (an explicit budget) to rounding."""
    monkeypatch.delenv("JAXEM_CPU_WORKING_SET", raising=False)
    scan = GridScan.create((0.0, 0.0), (2 * A, 2 * A), gpts=(12, 5))
    shapes = []
    real = prism_run._reduce

    def spy(tiles, *a, **k):
        shapes.append((tuple(tiles.shape), k["batch"]))
        return real(tiles, *a, **k)

    monkeypatch.setattr(prism_run, "_reduce", spy)
    row_bytes = {}
    real_batches = prism_run.prism_batches

    def spy_batches(per_tile, tiles_shape, rb, s_bytes, memory_budget=None):
        row_bytes.update(rows=tiles_shape[0], per_row=tiles_shape[1], bytes=rb, per_tile=per_tile)
        return real_batches(per_tile, tiles_shape, rb, s_bytes, memory_budget)

    monkeypatch.setattr(prism_run, "prism_batches", spy_batches)
    prism_scan(SIM, scan, sto, interpolation=2, progress=False)
    monkeypatch.setattr(prism_memory, "CHUNK_CAP", 2 * row_bytes["bytes"])  # two tile rows per chunk
    monkeypatch.setattr(prism_memory, "TILE_CAP_FACTOR",  # a batch of one tile row
                        row_bytes["per_row"] * row_bytes["per_tile"] / accel.cpu_working_set())
    assert row_bytes["rows"] >= 4
    out = {}
    for free in FREE:
        _free(monkeypatch, free)
        shapes.clear()
        out[free] = prism_scan(SIM, scan, sto, interpolation=2, progress=False)
        assert len(shapes) == -(-row_bytes["rows"] // 2) and len(set(shapes)) == 1
        if free == FREE[0]:
            first = shapes[0]
        assert shapes[0] == first
    n_compiled = real._cache_size()
    again = prism_scan(SIM, scan, sto, interpolation=2, progress=False)
    via_stem = stem_scan(SIM, scan, sto, method="prism", interpolation=2, progress=False)
    assert real._cache_size() == n_compiled  # warm: nothing compiled
    shapes.clear()
    whole = prism_scan(SIM, scan, sto, interpolation=2, progress=False, memory_budget="8G")
    assert len(shapes) == 1 and shapes[0][0][0] == row_bytes["rows"]  # one chunk of every row
    for name in ("HAADF", "dp"):
        ref = np.asarray(out[FREE[0]][name].array)
        assert ref.shape[:2] == (12, 5) and ref.max() > 1e-3
        for other in (out[FREE[1]], out[FREE[2]], again, via_stem):
            np.testing.assert_array_equal(np.asarray(other[name].array), ref)
        np.testing.assert_allclose(np.asarray(whole[name].array), ref, rtol=1e-5, atol=1e-6 * ref.max())


@cpu
def test_frozen_phonon_prism_scan_compiles_once_whatever_the_free_memory(monkeypatch, sto):
    monkeypatch.delenv("JAXEM_CPU_WORKING_SET", raising=False)
    s = crystals.SrTiO3(B={"Sr": 0.62, "Ti": 0.44, "O": 0.73}).repeat(2, 2, 1)
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(2, 3))
    th = dict(structure=s, thermal="einstein", n_configs=3, key=jax.random.key(2), interpolation=2, progress=False)
    sim = STEMSimulation(300e3, 15.0, (AnnularDetector(25.0, 55.0, "HAADF"),))
    out = []
    for i, free in enumerate(FREE):
        _free(monkeypatch, free)
        out.append(np.asarray(prism_scan(sim, scan, sto, **th)["HAADF"].array))
        if i == 0:
            n_compiled = prism_run._thermal._cache_size()
    assert prism_run._thermal._cache_size() == n_compiled
    assert out[0].max() > 1e-3 and all(np.array_equal(o, out[0]) for o in out)
