"""A scan window that does not start at 0 keeps its origin (the scan axes' offset [Å]) through every
path: stem_scan's HAADF/BF/4D outputs, the streamed store, Dataset4D, zarr/zspy/hspy stores, vendor
files, HyperSpy, xarray, py4DSTEM and the phase reconstructions."""
import warnings

import numpy as np
import pytest

from jaxem import validate
from jaxem.io import SIGNAL_GROUP, load, save
from jaxem.measurement import Measurement
from jaxem.phase import Dataset4D, reconstruct
from jaxem.phase.io import read_4dstem, write_zarr

A = 3.905
ORIGIN = (0.6, 1.1)  # (y, x) [Å] of the first probe position: a window inside the cell
STEP = 0.4
GPTS = (3, 4)


def _scan():
    from jaxem.stem import GridScan

    return GridScan.create(ORIGIN, (ORIGIN[0] + GPTS[0] * STEP, ORIGIN[1] + GPTS[1] * STEP), gpts=GPTS)


@pytest.fixture(scope="module")
def setup():
    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, PixelatedDetector, STEMSimulation
    from jaxem.structure import crystals

    pot = potential(crystals.SrTiO3(), sampling=0.15, slice_thickness=A / 2)
    sim = STEMSimulation(300e3, 15.0, (PixelatedDetector(30.0, 2), AnnularDetector(0.0, 15.0, "BF"),
                                        AnnularDetector(40.0, 65.0, "HAADF")))  # (the small test grid ends at 68 mrad)
    return sim, pot


@pytest.fixture(scope="module")
def sim_result(setup):
    from jaxem.stem import stem_scan

    sim, pot = setup
    return stem_scan(sim, _scan(), pot, progress=False)


def _assert_scan_axes(axes, where):
    ay, ax = axes[0], axes[1]
    assert (ay.name, ax.name) == ("scan_y", "scan_x"), where
    assert (ay.offset, ax.offset) == pytest.approx(ORIGIN, abs=1e-12), where
    assert (ay.sampling, ax.sampling) == pytest.approx((STEP, STEP), abs=1e-12), where


def _assert_origin(ds, where):
    assert ds.scan_origin == pytest.approx(ORIGIN, abs=1e-12), where
    assert ds.scan_sampling == pytest.approx((STEP, STEP), abs=1e-12), where


def _dataset(sim_result):
    return Dataset4D.from_measurement(sim_result["pixelated"])


def test_grid_scan_positions_start_at_the_origin():
    pos = _scan().positions()
    assert pos[0, 0] == pytest.approx(ORIGIN) and pos[1, 1] == pytest.approx((ORIGIN[0] + STEP, ORIGIN[1] + STEP))
    _assert_scan_axes(_scan().axes(), "GridScan.axes")


def test_stem_scan_images_keep_the_origin(sim_result, tmp_path):
    for name in ("HAADF", "BF", "pixelated"):
        _assert_scan_axes(sim_result[name].axes, name)
    haadf = sim_result["HAADF"]
    # the HAADF image through a store, HyperSpy and xarray
    save(haadf, tmp_path / "haadf.zarr")
    back = load(tmp_path / "haadf.zarr")
    _assert_scan_axes(back.axes, "HAADF store")
    s = haadf.to_hyperspy()
    assert s.axes_manager["scan_y"].offset == pytest.approx(ORIGIN[0])
    assert s.axes_manager["scan_x"].offset == pytest.approx(ORIGIN[1])
    _assert_scan_axes(Measurement.from_hyperspy(s).axes, "HAADF HyperSpy")
    da = haadf.to_xarray()
    assert float(da["scan_x"][0]) == pytest.approx(ORIGIN[1]) and float(da["scan_y"][-1]) == pytest.approx(
        ORIGIN[0] + (GPTS[0] - 1) * STEP)
    _assert_scan_axes(Measurement.from_xarray(da).axes, "HAADF xarray")


def test_dataset4d_from_the_simulation(sim_result):
    ds = _dataset(sim_result)
    _assert_origin(ds, "from_measurement")
    _assert_scan_axes(ds.to_measurement().axes, "to_measurement")
    assert ds.to_measurement().metadata["scan_origin"] == {"value": list(ORIGIN), "units": "Å"}
    _assert_origin(Dataset4D.from_calibration_dict(ds.array, ds.calibration_dict()), "calibration dict")
    _assert_origin(ds.replace(semiangle=14.0), "replace")
    # a caller's origin overrides the file's
    assert read_4dstem(ds.to_measurement(), scan_origin=(0.0, 2.0)).scan_origin == (0.0, 2.0)


@pytest.mark.parametrize("suffix", [".zarr", ".zspy", ".hspy"])
def test_dataset4d_store_round_trip(sim_result, tmp_path, suffix):
    ds = _dataset(sim_result)
    path = tmp_path / f"ds{suffix}"
    if suffix == ".hspy":
        save(ds.to_measurement(), path)
    else:
        write_zarr(ds, path)
    _assert_scan_axes(load(path).axes, f"load {suffix}")
    back = read_4dstem(path)
    _assert_origin(back, f"read_4dstem {suffix}")
    np.testing.assert_array_equal(np.asarray(back.array), np.asarray(ds.array))


def test_dataset4d_hyperspy_and_xarray_round_trip(sim_result, tmp_path):
    ds = _dataset(sim_result)
    m = ds.to_measurement()
    s = m.to_hyperspy()
    assert (s.axes_manager["scan_y"].offset, s.axes_manager["scan_x"].offset) == pytest.approx(ORIGIN)
    _assert_origin(Dataset4D.from_measurement(Measurement.from_hyperspy(s)), "HyperSpy")
    da = m.to_xarray()
    assert (float(da["scan_y"][0]), float(da["scan_x"][0])) == pytest.approx(ORIGIN)
    _assert_origin(Dataset4D.from_measurement(Measurement.from_xarray(da)), "xarray")
    # a store opened without jaxem
    hs = pytest.importorskip("hyperspy.api")
    write_zarr(ds, tmp_path / "ds.zspy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s2 = hs.load(str(tmp_path / "ds.zspy"))
    assert (s2.axes_manager["scan_y"].offset, s2.axes_manager["scan_x"].offset) == pytest.approx(ORIGIN)
    xr = pytest.importorskip("xarray")
    z = xr.open_zarr(tmp_path / "ds.zspy", group=SIGNAL_GROUP)["data"]
    assert (float(z["scan_y"][0]), float(z["scan_x"][0])) == pytest.approx(ORIGIN)


def test_dataset4d_py4dstem_round_trip(sim_result, tmp_path):
    py4DSTEM = pytest.importorskip("py4DSTEM")
    ds = _dataset(sim_result)
    dc = ds.to_py4dstem()
    assert (dc.dims[0][0], dc.dims[1][0]) == pytest.approx(ORIGIN)
    _assert_origin(Dataset4D.from_py4dstem(dc, energy=300e3), "py4DSTEM in memory")
    py4DSTEM.save(str(tmp_path / "dc.h5"), dc, mode="o")  # py4DSTEM rebuilds R dims from 0 on reading
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = py4DSTEM.read(str(tmp_path / "dc.h5"))
    _assert_origin(Dataset4D.from_py4dstem(back, energy=300e3), "py4DSTEM file")
    # a DataCube made without jaxem: the origin from its R dimension vectors (nm → Å)
    other = py4DSTEM.DataCube(data=np.asarray(ds.array))
    other.calibration.set_R_pixel_size(STEP / 10)
    other.calibration.set_R_pixel_units("nm")
    for i in range(2):
        other.set_dim(i, ORIGIN[i] / 10 + STEP / 10 * np.arange(GPTS[i]), units="nm")
    _assert_origin(Dataset4D.from_py4dstem(other, energy=300e3), "py4DSTEM dims")


def test_vendor_file_axis_offsets(tmp_path):
    """An NCEM EMD file (rosettasciio's writer) with scan offsets in nm: the origin in Å."""
    rsciio_emd = pytest.importorskip("rsciio.emd")
    data = np.random.default_rng(0).random(GPTS + (6, 6)).astype(np.float32)
    axes = [{"name": "y", "size": GPTS[0], "scale": STEP / 10, "offset": ORIGIN[0] / 10, "units": "nm",
             "navigate": True},
            {"name": "x", "size": GPTS[1], "scale": STEP / 10, "offset": ORIGIN[1] / 10, "units": "nm",
             "navigate": True},
            {"name": "ky", "size": 6, "scale": 0.2, "offset": -0.6, "units": "1/nm", "navigate": False},
            {"name": "kx", "size": 6, "scale": 0.2, "offset": -0.6, "units": "1/nm", "navigate": False}]
    rsciio_emd.file_writer(str(tmp_path / "scan.emd"), {"data": data, "axes": axes, "metadata": {
        "General": {"title": "scan"}, "Signal": {}}, "original_metadata": {}})
    ds = read_4dstem(tmp_path / "scan.emd", energy=300e3, lazy=False)
    assert ds.scan_origin == pytest.approx(ORIGIN, rel=1e-9) and ds.scan_sampling == pytest.approx((STEP, STEP))


def test_streamed_store_keeps_the_origin(setup, sim_result, tmp_path):
    from jaxem.stem import stem_scan_to_zarr

    sim, pot = setup
    path = tmp_path / "scan.zarr"
    res = stem_scan_to_zarr(path, sim, _scan(), potential=pot, progress=False, memory_budget=2**16)
    for name in ("HAADF", "BF"):
        _assert_scan_axes(res[name].axes, f"streamed {name}")
        np.testing.assert_allclose(np.asarray(res[name].array), np.asarray(sim_result[name].array), atol=1e-6)
    _assert_scan_axes(load(path).axes, "streamed store")
    _assert_origin(read_4dstem(path), "streamed store → Dataset4D")


def test_phase_images_keep_the_origin(sim_result):
    ds = _dataset(sim_result)
    for method in ("icom", "parallax"):
        img = reconstruct(ds, method=method)
        assert (img.axes[0].offset, img.axes[1].offset) == pytest.approx(ORIGIN), method


def test_scan_origin_checks():
    arr = np.zeros((2, 2, 3, 3), np.float32)
    with pytest.raises(validate.InputError, match="scan_origin"):
        Dataset4D(arr, 0.5, energy=300e3, scan_origin=(0.0, np.inf))
    with pytest.raises(validate.InputError, match="scan_origin"):
        read_4dstem(Dataset4D(arr, 0.5, energy=300e3).to_measurement(), scan_origin=(1.0, 2.0, 3.0))
    assert Dataset4D(arr, 0.5, energy=300e3).scan_origin == (0.0, 0.0)
    assert Dataset4D(arr, 0.5, energy=300e3, scan_origin="-2 Å").scan_origin == (-2.0, -2.0)
