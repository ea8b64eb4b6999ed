import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from jaxem import Axis, Measurement
from jaxem.io import SIGNAL_GROUP, atomic_path, load, save, writer
from jaxem.measurement import quantity
from jaxem.validate import FileFormatError, InputError, InputTypeError

SUFFIXES = [".zarr", ".zspy", ".hspy", ".h5", ".hdf5"]


def four_d(dtype=np.float32):
    data = np.random.default_rng(0).random((4, 3, 5, 6)).astype(dtype)
    axes = (Axis("scan_y", 0.5, "Å"), Axis("scan_x", 0.25, "Å", 1.0), Axis("θy", 1.2, "mrad", -2.4),
            Axis("θx", 1.1, "mrad", -3.3))
    md = {"energy": 300e3, "semi_angle": quantity(20.0, "mrad"), "quantity": "fraction of probe intensity",
          "title": "scan", "names": ["a", "b"], "counts": [1, 2, 3], "nothing": None,
          "aberrations": {"C10": -50.0, "phi12": 0.1}, "mixed": [1, "a", {"x": 1}], "flag": True}
    return Measurement(data, axes, md)


def hs_load(path):
    hs = pytest.importorskip("hyperspy.api")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.suffix == ".zarr":  # hs.load opens zarr directories only when named .zspy
            from hyperspy.io import dict2signal
            from rsciio.zspy import file_reader

            return dict2signal(file_reader(str(path))[0])
        kw = {"file_format": "hspy"} if path.suffix in (".h5", ".hdf5") else {}
        return hs.load(str(path), **kw)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_values_axes_units_metadata(tmp_path, suffix):
    m = four_d()
    path = save(m, tmp_path / f"m{suffix}")
    for back in (load(path), load(path, lazy=True)):
        assert np.array_equal(np.asarray(back.array), m.numpy())
        assert back.axes == m.axes and back.signal_ndim is None and back.n_signal == 2
        md = back.metadata
        assert md["energy"] == {"value": 300e3, "units": "eV"}  # plain numbers with documented units get them
        assert back.value("energy", "keV") == pytest.approx(300.0)
        assert md["semi_angle"] == {"value": 20.0, "units": "mrad"}
        assert md["aberrations"] == {"C10": {"value": -50.0, "units": "Å"}, "phi12": {"value": 0.1, "units": "rad"}}
        assert md["names"] == ["a", "b"] and md["counts"] == [1, 2, 3] and md["nothing"] is None
        assert md["mixed"] == [1, "a", {"x": 1}] and md["flag"] is True
    assert type(load(path, lazy=True).array).__module__.startswith("dask")
    # overwriting in place is atomic and leaves no temporary behind
    save(m.with_array(m.numpy() * 2), path)
    assert np.array_equal(load(path).numpy(), m.numpy() * 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_hyperspy_opens_every_format_calibrated(tmp_path, suffix):
    path = save(four_d(), tmp_path / f"m{suffix}")
    s = hs_load(path)
    assert s.axes_manager.navigation_dimension == 2 and s.axes_manager.signal_dimension == 2
    got = {a.name: (a.scale, a.offset, a.units, a.navigate) for a in s.axes_manager._axes}
    assert got == {"scan_y": (0.5, 0.0, "Å", True), "scan_x": (0.25, 1.0, "Å", True),
                   "θy": (1.2, -2.4, "mrad", False), "θx": (1.1, -3.3, "mrad", False)}
    assert np.array_equal(s.data, four_d().numpy())
    assert s.metadata.General.title == "scan"
    assert float(s.metadata.Acquisition_instrument.TEM.beam_energy) == pytest.approx(300.0)
    assert float(s.metadata.Acquisition_instrument.TEM.convergence_angle) == pytest.approx(20.0)
    assert float(s.original_metadata.energy.value) == 300e3 and s.original_metadata.energy.units == "eV"


@pytest.mark.parametrize("suffix", [".zarr", ".zspy"])
def test_xarray_opens_zarr_with_dimension_names_and_coordinates(tmp_path, suffix):
    xr = pytest.importorskip("xarray")
    m = four_d()
    path = save(m, tmp_path / f"m{suffix}")
    ds = xr.open_zarr(path, group=SIGNAL_GROUP)
    da = ds["data"]
    assert da.dims == ("scan_y", "scan_x", "θy", "θx")
    assert np.allclose(da["scan_x"].values, [1.0, 1.25, 1.5]) and da["θy"].attrs["units"] == "mrad"
    assert np.array_equal(da.values, m.numpy())
    import zarr

    arr = zarr.open_group(path, mode="r")[SIGNAL_GROUP]["data"]
    if suffix == ".zarr":
        assert arr.metadata.zarr_format == 3 and arr.metadata.dimension_names == m.dims
    else:
        assert arr.metadata.zarr_format == 2 and arr.attrs["_ARRAY_DIMENSIONS"] == list(m.dims)
    # and back: the xarray Dataset converts to the same Measurement
    back = Measurement.from_xarray(ds)
    assert back.axes == m.axes


def test_hyperspy_written_file_loads(tmp_path):
    hs = pytest.importorskip("hyperspy.api")
    s = hs.signals.Signal1D(np.arange(12.0).reshape(3, 4))
    s.axes_manager[-1].name, s.axes_manager[-1].units, s.axes_manager[-1].scale = "E", "eV", 0.5
    s.metadata.General.title = "spectra"
    s.save(tmp_path / "s.hspy")
    m = load(tmp_path / "s.hspy")
    assert m.shape == (3, 4) and m.signal_ndim == 1 and m.axes[1] == Axis("E", 0.5, "eV")
    assert m.metadata["title"] == "spectra"


def test_default_chunks_whole_frames_and_dask_streaming(tmp_path):
    da = pytest.importorskip("dask.array")
    import zarr

    m = four_d()
    lazy = Measurement(da.from_array(m.numpy(), chunks=(1, 3, 5, 6)), m.axes, m.metadata)
    path = save(lazy, tmp_path / "m.zarr", chunks=(1, 3, 5, 6))
    arr = zarr.open_group(path, mode="r")[SIGNAL_GROUP]["data"]
    assert arr.chunks == (1, 3, 5, 6)
    assert np.array_equal(load(path).numpy(), m.numpy())
    from jaxem.io import default_chunks

    assert default_chunks((256, 256, 128, 128), 4) == (1, 128, 128, 128)
    assert default_chunks((4096, 4096), 4) == (512, 4096)


def test_bad_suffixes_and_arguments(tmp_path):
    m = Measurement(np.zeros(2), (Axis("x"),))
    with pytest.raises(InputError, match=r"path .*'\.txt'.*\.zarr, \.zspy, \.hspy, \.h5, \.hdf5"):
        save(m, tmp_path / "x.txt")
    with pytest.raises(InputError, match="path .*does not write EMD"):
        save(m, tmp_path / "x.emd")
    with pytest.raises(InputError, match=r"did you mean '\.zarr'"):
        save(m, tmp_path / "x.zar")
    with pytest.raises(InputError, match="path .*EMD"):
        load(tmp_path / "x.emd")
    with pytest.raises(InputTypeError, match="measurement must be a Measurement"):
        save(np.zeros(2), tmp_path / "x.zarr")
    with pytest.raises(InputError, match=r"chunks must have one entry per axis"):
        save(m, tmp_path / "x.zarr", chunks=(1, 1))
    with pytest.raises(InputError, match=r"chunks\[0\] must be ≥ 1"):
        save(m, tmp_path / "x.zarr", chunks=(0,))
    with pytest.raises(InputTypeError, match="metadata .*object"):
        save(Measurement(np.zeros(2), (Axis("x"),), {"thing": object()}), tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()
    with pytest.raises(FileNotFoundError, match="path: no such directory"):
        load(tmp_path / "missing.zarr")
    (tmp_path / "f.zarr").write_text("not a directory")
    with pytest.raises(NotADirectoryError, match="path"):
        load(tmp_path / "f.zarr")


def test_atomic_write_leaves_nothing_on_crash(tmp_path):
    target = tmp_path / "result.h5"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("crash")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    # a writer that is never finished writes nothing either
    with pytest.raises(RuntimeError, match="without finish"):
        with writer(tmp_path / "w.zarr") as w:
            w.create((2,), "f4", ("x",))[...] = 1
    assert list(tmp_path.iterdir()) == []


# ---- strict reading: incomplete, truncated and damaged stores ----------------------------------
def _chunk_files(store: Path):
    data = store / "Experiments" / "__unnamed__" / "data"
    return sorted(p for p in data.rglob("*") if p.is_file() and p.name not in ("zarr.json", ".zarray", ".zattrs"))


@pytest.mark.parametrize("suffix", [".zarr", ".zspy"])
def test_missing_zarr_chunks_are_an_error_unless_partial_allowed(tmp_path, suffix):
    m = four_d()
    path = save(m, tmp_path / f"m{suffix}", chunks=(1, 3, 5, 6))
    chunks = _chunk_files(path)
    assert len(chunks) == 4
    for c in chunks[1:3]:
        c.unlink()
    for lazy in (False, True):
        with pytest.raises(FileFormatError, match=rf"m{suffix}.*2 of its 4 chunks are missing"):
            load(path, lazy=lazy)
    part = load(path, allow_partial=True).numpy()
    assert np.array_equal(part[0], m.numpy()[0]) and np.all(part[1:3] == 0)


@pytest.mark.parametrize("suffix", [".zarr", ".zspy"])
def test_truncated_zarr_chunk_is_an_error_naming_the_store(tmp_path, suffix):
    path = save(four_d(), tmp_path / f"m{suffix}", chunks=(1, 3, 5, 6))
    c = _chunk_files(path)[2]
    c.write_bytes(c.read_bytes()[: c.stat().st_size // 2])
    with pytest.raises(FileFormatError, match=rf"m{suffix}"):
        load(path)
    lazy = load(path, lazy=True)  # the chunk is only read on demand: the error still names the store
    with pytest.raises(FileFormatError, match=rf"m{suffix}"):
        lazy.array.compute()


@pytest.mark.parametrize("suffix", [".zarr", ".zspy"])
def test_corrupt_zarr_json_is_an_error_naming_the_store(tmp_path, suffix):
    name = "zarr.json" if suffix == ".zarr" else ".zattrs"
    for where in (Path("."), Path("Experiments/__unnamed__")):
        path = save(four_d(), tmp_path / f"m{suffix}")
        f = path / where / name
        f.write_text(f.read_text()[:-20] + "garbage")
        with pytest.raises(FileFormatError, match=rf"m{suffix}"):
            load(path)


def test_incomplete_or_inconsistent_store_is_refused(tmp_path):
    import zarr

    m = four_d()
    path = save(m, tmp_path / "m.zarr")
    root = zarr.open_group(path, mode="r+", use_consolidated=False)
    marker = dict(root.attrs["jaxem"])
    root.attrs["jaxem"] = {**marker, "complete": False}
    with pytest.raises(FileFormatError, match="m.zarr: incomplete"):
        load(path)
    root.attrs["jaxem"] = {**marker, "layout": 99}
    with pytest.raises(FileFormatError, match="layout version 99"):
        load(path)
    root.attrs["jaxem"] = marker
    g = root[SIGNAL_GROUP]
    g["axis-1"].attrs["size"] = 7
    with pytest.raises(FileFormatError, match=r"axis 1 \('scan_x'\) records 7 samples .* has 3"):
        load(path)
    # a complete-marked store whose writer skipped chunks (a bug) is still caught
    with writer(tmp_path / "w.hspy") as w:
        data = w.create((4, 3), "f8", ("y", "x"), chunks=(1, 3))
        data[:2] = 1.0
        w.finish((Axis("y"), Axis("x")), {})
    with pytest.raises(FileFormatError, match=r"w.hspy: dataset 'data' is incomplete: 2 of its 4 chunks"):
        load(tmp_path / "w.hspy")
    assert np.array_equal(load(tmp_path / "w.hspy", allow_partial=True).numpy()[:2], np.ones((2, 3)))


@pytest.mark.parametrize("suffix", [".h5", ".hspy"])
def test_truncated_hdf5_is_an_error_at_every_offset(tmp_path, suffix):
    path = save(four_d(np.float64), tmp_path / f"m{suffix}")
    blob = path.read_bytes()
    n = len(blob)
    for cut in sorted({0, 8, 100, n // 4, n // 2, 3 * n // 4, n - 1}):
        bad = tmp_path / f"cut{cut}{suffix}"
        bad.write_bytes(blob[:cut])
        with pytest.raises(FileFormatError, match=rf"cut{cut}{suffix}"):
            load(bad)


def test_garbage_hdf5_and_damaged_jaxem_record(tmp_path):
    (tmp_path / "g.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))
    with pytest.raises(FileFormatError, match="g.h5"):
        load(tmp_path / "g.h5")
    import h5py

    path = save(four_d(), tmp_path / "m.h5")
    with h5py.File(path, "r+") as f:
        del f[SIGNAL_GROUP]["jaxem.json"]
        f[SIGNAL_GROUP].create_dataset("jaxem.json", data=json.dumps({"axes": 1}))
    with pytest.raises(FileFormatError, match="m.h5: the jaxem record of the signal is damaged"):
        load(path)


def test_several_signals_need_a_choice(tmp_path):
    hs = pytest.importorskip("hyperspy.api")
    import h5py

    path = save(Measurement(np.zeros((2, 2)), (Axis("y"), Axis("x"))), tmp_path / "m.hspy")
    with h5py.File(path, "r+") as f:
        f.copy(f[SIGNAL_GROUP], "Experiments/second")
    with pytest.raises(InputError, match=r"holds 2 signals \['__unnamed__', 'second'\]; choose one with signal="):
        load(path)
    assert load(path, signal="second").shape == (2, 2)
    with pytest.raises(InputError, match="signal 'third' is not in"):
        load(path, signal="third")
    assert len(hs.load(str(path))) == 2


def test_zarr_store_replaced_during_lazy_read_is_detected(tmp_path):
    path = save(four_d(), tmp_path / "m.zarr", chunks=(1, 3, 5, 6))
    lazy = load(path, lazy=True)
    save(four_d().with_array(four_d().numpy() + 1), path, chunks=(1, 3, 5, 6))
    with pytest.raises(FileFormatError, match="replaced by another write"):
        lazy.array.compute()


_WRITER = """
import sys, numpy as np
from jaxem import Axis, Measurement
from jaxem.io import save
value, n, path = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
m = Measurement(np.full((4, 8, 8), value, np.float32), (Axis("t"), Axis("y"), Axis("x")), {"writer": value})
for _ in range(n):
    save(m, path, chunks=(1, 8, 8))
"""


def test_concurrent_writers_and_reader_see_one_complete_store(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "c.zarr"
    save(Measurement(np.zeros((4, 8, 8), np.float32), (Axis("t"), Axis("y"), Axis("x")), {"writer": 0.0}), path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(v), "15", str(path)], env=env,
                              stderr=subprocess.PIPE) for v in (1.0, 2.0)]
    reads = 0
    while any(p.poll() is None for p in procs):
        m = load(path)  # never a missing path, a partial store or a mix of two writes
        values = np.unique(m.numpy())
        assert len(values) == 1 and values[0] == m.metadata["writer"]
        reads += 1
    for p in procs:
        assert p.wait() == 0, p.stderr.read().decode()
    assert load(path).metadata["writer"] in (1.0, 2.0) and reads > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.zarr"]
