"""stem_scan_to_zarr: the one 4D-STEM layout written scan row by scan row (moved from test_scanning.py)."""
import dataclasses
import warnings

import numpy as np
import pytest

import jaxem.stem.store as store
from jaxem import Axis, Grid, Measurement
from jaxem.beam import Beam
from jaxem.io import SIGNAL_GROUP, load
from jaxem.io.stem4d import calibration
from jaxem.stem import STEMSimulation
from jaxem.validate import FileFormatError, InputError

A = 3.905


# ---- the writer on its own (a stand-in for stem_scan that calls chunk_callback row by row) --------
@dataclasses.dataclass(frozen=True)
class FakePixelated:
    name: str = "pixelated"

    def signal_axes(self, beam, grid):
        return (Axis("θy", 2.0, "mrad", -4.0), Axis("θx", 2.0, "mrad", -6.0))

    def to_dict(self):
        return {"type": "FakePixelated", "name": self.name}


@dataclasses.dataclass(frozen=True)
class FakeSim:
    beam: Beam = Beam(300e3)
    semi_angle: float = 20.0
    detectors: tuple = (FakePixelated(),)

    def to_dict(self):
        return {"beam": self.beam.to_dict(), "semi_angle": {"value": 20.0, "units": "mrad"},
                "aberrations": {"C10": {"value": -50.0, "units": "Å"}}, "detectors": []}


def FakeScan():
    from jaxem.stem import GridScan

    return GridScan((1.0, 2.0), (2.5, 2.5), (3, 2))  # sampling (0.5, 0.25) Å


class FakePotential:
    grid = Grid((16, 16), (0.2, 0.2))


def patterns(shape=(3, 2, 4, 7)):
    return np.random.default_rng(0).random(shape).astype(np.float32)


@pytest.fixture
def fake(monkeypatch):
    """A stand-in for stem_scan on a block of rows (the row compute contract)."""
    class Seen(list):
        fail_at = None  # row at which the fake "crashes" (not an argument: it is not part of the run)

    seen = Seen()

    def fake_scan(sim, scan, potential, progress=False, **kwargs):
        fail_at = seen.fail_at
        data = patterns()
        r0 = int(round((scan.start[0] - 1.0) / 0.5))
        rows = range(r0, r0 + scan.gpts[0])
        if fail_at in rows:
            raise RuntimeError("killed mid-scan")
        seen.extend(rows)
        ax = scan.axes()
        return {"pixelated": Measurement(data[r0:r0 + scan.gpts[0]], ax + FakePixelated().signal_axes(None, None), {}),
                "BF": Measurement(data[r0:r0 + scan.gpts[0], :, 0, 0], ax, {"scan": scan.to_dict()})}

    monkeypatch.setattr(store, "stem_scan", fake_scan)
    monkeypatch.setattr(store, "PixelatedDetector", FakePixelated)
    return seen


@pytest.mark.parametrize("suffix", [".zspy", ".zarr", ".hspy"])
def test_layout_row_chunks_and_metadata(tmp_path, fake, suffix):
    path = tmp_path / f"scan{suffix}"
    res = store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential(), block_rows=1)
    assert set(res) == {"BF"} and np.array_equal(res["BF"].array, patterns()[..., 0, 0])
    assert res["BF"].axes == FakeScan().axes()
    assert fake == [0, 1, 2]
    m = load(path, lazy=True)
    assert np.array_equal(m.array.compute(), patterns())
    assert m.dims == ("scan_y", "scan_x", "θy", "θx") and m.n_signal == 2
    assert m.array.chunks == ((1, 1, 1), (2,), (4,), (7,))  # one scan row per chunk
    cal = calibration(m)
    assert cal["energy"] == 300e3 and cal["scan_sampling"] == (0.5, 0.25) and cal["scan_origin"] == (1.0, 2.0)
    assert cal["detector_sampling_mrad"] == (2.0, 2.0) and cal["center"] == (2.0, 3.0) and cal["semi_angle"] == 20.0
    md = m.metadata
    assert md["detector_sampling"] == {"value": [2.0, 2.0], "units": "mrad"}
    assert md["scan_sampling"] == {"value": [0.5, 0.25], "units": "Å"}
    assert md["aberrations"]["C10"] == {"value": -50.0, "units": "Å"} and md["thermal"] == "static"
    assert md["n_configurations"] == 1 and md["quantity"] == "fraction of probe intensity"


def test_interrupted_scan_leaves_the_previous_store(tmp_path, fake):
    path = tmp_path / "scan.zspy"
    store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential())
    before = load(path).numpy()
    fake.fail_at = 2
    with pytest.raises(RuntimeError, match="killed"):
        store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential(), block_rows=1)
    assert np.array_equal(load(path).numpy(), before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.zspy", "scan.zspy.resume"]


def test_bad_arguments(tmp_path, fake):
    with pytest.raises(InputError, match="exactly one PixelatedDetector .* got 2"):
        store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(detectors=(FakePixelated(), FakePixelated("p2"))),
                                FakeScan(), FakePotential())
    with pytest.raises(InputError, match="chunk_callback= is not supported"):
        store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(), FakeScan(), FakePotential(), chunk_callback=print)
    with pytest.raises(InputError, match="exit_planes= is not supported"):
        store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(), FakeScan(), FakePotential(), exit_planes=2)
    with pytest.raises(TypeError, match="potential must be PotentialSlices"):
        store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(), FakeScan(), None)
    with pytest.raises(InputError, match="path .*EMD"):
        store.stem_scan_to_zarr(tmp_path / "s.emd", FakeSim(), FakeScan(), FakePotential())
    assert list(tmp_path.iterdir()) == []


# ---- the real simulation ---------------------------------------------------------------------------
needs_beam_api = pytest.mark.skipif("beam" not in getattr(STEMSimulation, "__dataclass_fields__", {}),
                                    reason="needs STEMSimulation(beam, ...) and detector.signal_axes (fd-stem)")


@needs_beam_api
def test_zarr_streaming_equals_in_memory_and_opens_everywhere(tmp_path):
    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, stem_scan, stem_scan_to_zarr
    from jaxem.structure import crystals

    pot = potential(crystals.SrTiO3().repeat(1, 1, 2), sampling=0.12, slice_thickness=A / 2)
    sim = STEMSimulation(300e3, 15.0, (PixelatedDetector(25.0, 2), AnnularDetector(0.0, 15.0, "BF")))
    scan = GridScan.create((0, 0), (A, A), gpts=(3, 2))
    mem = stem_scan(sim, scan, pot, progress=False)
    path = tmp_path / "scan.zspy"
    res = stem_scan_to_zarr(path, sim, scan, potential=pot, progress=False, memory_budget=2**16)
    assert set(res) == {"BF"} and np.allclose(res["BF"].array, mem["BF"].array)
    m = load(path, lazy=True)
    ref = mem["pixelated"]
    assert m.axes == ref.axes and m.array.chunks[0] == (1, 1, 1)
    assert np.allclose(m.array.compute(), ref.array, atol=1e-7)
    cal = calibration(m)
    assert cal["energy"] == 300e3 and cal["semi_angle"] == 15.0
    assert cal["detector_sampling_mrad"][0] == pytest.approx(ref.axes[2].sampling)
    # without jaxem: HyperSpy (navigation = scan, signal = pattern, all calibrated) and xarray
    hs = pytest.importorskip("hyperspy.api")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = hs.load(str(path))
    assert s.axes_manager.navigation_shape == (2, 3) and s.axes_manager.signal_shape == ref.shape[:1:-1]
    assert s.axes_manager["θx"].scale == pytest.approx(ref.axes[3].sampling) and s.axes_manager["θx"].units == "mrad"
    assert s.axes_manager["scan_y"].scale == pytest.approx(A / 3) and s.axes_manager["scan_y"].units == "Å"
    xr = pytest.importorskip("xarray")
    da = xr.open_zarr(path, group=SIGNAL_GROUP)["data"]
    assert da.dims == ("scan_y", "scan_x", "θy", "θx") and np.allclose(da["θy"], ref.axes[2].values(ref.shape[2]))


# ---- resume: completion records, interrupted runs, identical results -------------------------------
def test_resume_computes_only_the_missing_blocks(tmp_path, fake):
    path = tmp_path / "scan.zarr"
    fake.fail_at = 2
    with pytest.raises(RuntimeError, match="killed"):
        store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential(), block_rows=1)
    assert fake == [0, 1] and not path.exists()
    partial = store.ResumableStore  # the unfinished store is never mistaken for a complete one
    with pytest.raises(FileFormatError, match="incomplete"):
        load(tmp_path / "scan.zarr.resume" / "data.zarr")
    assert partial is not None
    with pytest.raises(InputError, match="resume=True"):
        store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential(), block_rows=1)
    with pytest.raises(InputError, match="another computation .*block_rows"):
        store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential(), block_rows=2, resume=True)
    calls, fake.fail_at = [], None
    res = store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential(), block_rows=1, resume=True,
                                  on_block=lambda b, rows, computed: calls.append((b, computed)))
    assert fake == [0, 1, 2] and sorted(calls) == [(0, False), (1, False), (2, True)]
    assert np.array_equal(load(path).numpy(), patterns()) and np.array_equal(res["BF"].array, patterns()[..., 0, 0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.zarr"]


def test_a_damaged_block_is_recomputed(tmp_path, fake):
    import json

    path = tmp_path / "scan.zspy"
    fake.fail_at = 2
    with pytest.raises(RuntimeError, match="killed"):
        store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential(), block_rows=1)
    rec = tmp_path / "scan.zspy.resume" / "blocks" / "000001.json"
    r = json.loads(rec.read_text())
    r["sha256"]["pixelated"] = "0" * 64
    rec.write_text(json.dumps(r))
    fake.fail_at = None
    store.stem_scan_to_zarr(path, FakeSim(), FakeScan(), FakePotential(), block_rows=1, resume=True)
    assert fake == [0, 1, 1, 2] and np.array_equal(load(path).numpy(), patterns())


def test_block_rows_and_resume_arguments(tmp_path, fake):
    with pytest.raises(InputError, match="block_rows"):
        store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(), FakeScan(), FakePotential(), block_rows=4)
    with pytest.raises(TypeError, match="resume"):
        store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(), FakeScan(), FakePotential(), resume="yes")
    with pytest.raises(TypeError, match="compute_rows"):
        store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(), FakeScan(), FakePotential(), compute_rows=3)
    with pytest.raises(TypeError, match="on_block"):
        store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(), FakeScan(), FakePotential(), on_block=3)
    assert list(tmp_path.iterdir()) == []


def test_compute_rows_is_pluggable(tmp_path, fake):
    """Any scan method with the row contract (sub-scan → {name: Measurement}) streams through the store."""
    def doubled(sub):
        out = store.stem_scan(None, sub, None)
        return {k: Measurement(2 * m.array, m.axes, m.metadata) for k, m in out.items()}

    store.stem_scan_to_zarr(tmp_path / "s.zarr", FakeSim(), FakeScan(), FakePotential(), compute_rows=doubled,
                            block_rows=2)
    assert np.array_equal(load(tmp_path / "s.zarr").numpy(), 2 * patterns())
