"""PRISM streamed to zarr (stem_scan_to_zarr): the S-matrix is built once per run (not per block of rows),
for a static specimen and for every frozen-phonon configuration; the streamed result equals the
unstreamed prism_scan, and a resumed run equals the uninterrupted one bit for bit."""
import pickle

import jax
import numpy as np
import pytest

import jaxem.stem.prism_run as prism_run
from jaxem.io import load
from jaxem.potential import potential
from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, prism_scan, stem_scan_to_zarr
from jaxem.stem.prism_run import MultisliceRows, PrismRows, prism_rows
from jaxem.structure import crystals
from jaxem.validate import InputError, InputTypeError

A = 3.905
SIM = STEMSimulation(300e3, 15.0, (AnnularDetector(25.0, 55.0, "HAADF"), PixelatedDetector(30.0, name="dp")))
SCAN = GridScan.create((0.0, 0.0), (A, A), gpts=(4, 3))


@pytest.fixture(scope="module")
def sto():
    s = crystals.SrTiO3(B={"Sr": 0.62, "Ti": 0.44, "O": 0.73}).repeat(2, 2, 1)
    return s, potential(s, gpts=(48, 48), slice_thickness=A / 2, precision="float64")


@pytest.fixture
def counts(monkeypatch):
    """Calls of the static S-matrix builder and of the per-configuration builder."""
    n = {"static": 0, "member": 0}
    build, member = prism_run._build, prism_run._member_smatrix

    def counted_build(*a, **k):
        n["static"] += 1
        return build(*a, **k)

    def counted_member(*a, **k):
        n["member"] += 1
        return member(*a, **k)

    monkeypatch.setattr(prism_run, "_build", counted_build)
    monkeypatch.setattr(prism_run, "_member_smatrix", counted_member)
    return n


def test_static_smatrix_built_once_equal_to_prism_scan_and_resumed_bit_identical(sto, counts, tmp_path):
    _, pot = sto
    kw = dict(method="prism", precision="float64", block_rows=1, progress=False)
    whole = stem_scan_to_zarr(tmp_path / "whole.zarr", SIM, SCAN, pot, **kw)
    assert counts["static"] == 1  # 4 blocks, one S-matrix
    ref = prism_scan(SIM, SCAN, pot, precision="float64", progress=False)
    np.testing.assert_allclose(whole["HAADF"].array, ref["HAADF"].array, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.asarray(load(tmp_path / "whole.zarr").array), ref["dp"].array, rtol=1e-12,
                               atol=1e-15)

    class Stop(Exception):
        pass

    def stop_after_two(block, rows, computed):
        if block == 1:
            raise Stop

    with pytest.raises(Stop):
        stem_scan_to_zarr(tmp_path / "cut.zarr", SIM, SCAN, pot, on_block=stop_after_two, **kw)
    counts["static"] = 0
    done = []
    part = stem_scan_to_zarr(tmp_path / "cut.zarr", SIM, SCAN, pot, resume=True,
                             on_block=lambda b, r, c: done.append((b, c)), **kw)
    assert counts["static"] == 1 and sorted(done) == [(0, False), (1, False), (2, True), (3, True)]
    np.testing.assert_array_equal(part["HAADF"].array, whole["HAADF"].array)
    np.testing.assert_array_equal(np.asarray(load(tmp_path / "cut.zarr").array),
                                  np.asarray(load(tmp_path / "whole.zarr").array))


def test_frozen_phonon_smatrices_built_once_per_configuration(sto, counts, tmp_path):
    s, pot = sto
    th = dict(structure=s, thermal="einstein", n_configs=2, key=jax.random.key(1), precision="float64")
    res = stem_scan_to_zarr(tmp_path / "t.zarr", SIM, SCAN, pot, method="prism", block_rows=1, progress=False, **th)
    assert counts["member"] == 2 and counts["static"] == 0  # 4 blocks × 2 configurations, 2 S-matrices
    ref = prism_scan(SIM, SCAN, pot, progress=False, **th)
    np.testing.assert_allclose(res["HAADF"].array, ref["HAADF"].array, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(load(tmp_path / "t.zarr").array), ref["dp"].array, rtol=1e-10, atol=1e-15)


def test_prism_rows_choice_cache_and_pickle(sto):
    _, pot = sto
    assert prism_rows(SIM, SCAN, pot, method="multislice") is None
    auto = prism_rows(SIM, SCAN, pot)  # auto on 12 positions of a thin cell: multislice, decided once
    assert isinstance(auto, MultisliceRows) and auto.choice == ("multislice", None)
    rows = prism_rows(SIM, SCAN, pot, method="prism", interpolation=1, precision="float64")
    assert isinstance(rows, PrismRows) and rows.interpolation == 1
    rows(GridScan.create((0.0, 0.0), (A, A), gpts=(1, 3)))
    assert "S" in rows.cache
    assert pickle.loads(pickle.dumps(rows)).cache == {}  # workers build their own
    with pytest.raises(InputError, match="smatrix_cache holds"):
        prism_scan(SIM, SCAN, pot, precision="float32", smatrix_cache=rows.cache, progress=False)
    with pytest.raises(InputTypeError, match="smatrix_cache must be a dict"):
        prism_scan(SIM, SCAN, pot, smatrix_cache=[], progress=False)


def test_streamed_prism_patterns_carry_their_own_axes_at_f2(sto, tmp_path):
    # PRISM at f = 2 samples the patterns on its window grid (n/f per axis): the store's θ axes must be
    # those of the computed patterns, not the potential grid's (a silent 2× calibration error before)
    _, pot = sto
    kw = dict(method="prism", interpolation=2, precision="float64", progress=False)
    ref = prism_scan(SIM, SCAN, pot, interpolation=2, precision="float64", progress=False)["dp"]
    stem_scan_to_zarr(tmp_path / "f2.zarr", SIM, SCAN, pot, block_rows=2, **kw)
    got = load(tmp_path / "f2.zarr")
    assert got.shape == ref.shape
    for a, b in zip(got.axes[2:], ref.axes[2:]):
        assert (a.name, a.units) == (b.name, b.units)
        assert a.sampling == pytest.approx(b.sampling, rel=1e-12) and a.origin == pytest.approx(b.origin, rel=1e-12)
    np.testing.assert_allclose(np.asarray(got.array), np.asarray(ref.array), rtol=1e-12, atol=1e-15)
    assert got.metadata["detector_sampling"]["value"] == pytest.approx([ref.axes[2].sampling] * 2, rel=1e-12)
