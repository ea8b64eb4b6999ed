import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from jaxem.phase.dataset import Dataset4D
from jaxem.phase.io import read_4dstem, read_zarr, write_zarr

# the real instrument files (CI: ../shared/data/vendor beside the repository; JAXEM_VENDOR_DATA overrides)
VENDOR = Path(os.environ.get("JAXEM_VENDOR_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "vendor"))
pytest.importorskip("rsciio")


def _need(p):
    if not p.exists():
        pytest.skip(f"vendor file {p} absent")
    return p


def test_merlin_mib(tmp_path):
    z = _need(VENDOR / "quantumdetector" / "Merlin_navigation4x2_ROI.zip")
    with zipfile.ZipFile(z) as f:
        f.extractall(tmp_path)
    ds = read_4dstem(tmp_path / "001_4x2_6bit.mib", energy=300e3)
    assert ds.shape == (2, 4, 256, 256) and ds.is_lazy and ds.energy == 300e3
    assert ds.metadata["reader"] == "quantumdetector"
    frame = np.asarray(ds.array[1, 2])
    assert frame.dtype == np.uint8 and frame.max() <= 63  # 6-bit counter depth


def test_emd_blockfile_arina():
    ds = read_4dstem(_need(VENDOR / "emd" / "Si100_4D.emd"))
    assert ds.shape == (11, 11, 8, 8)
    assert ds.scan_sampling == pytest.approx((5.0, 5.0))  # 0.5 nm → Å
    assert ds.detector_sampling == pytest.approx((0.018416205, 0.018416205))  # 1/nm → 1/Å
    blo = read_4dstem(_need(VENDOR / "blockfile" / "test2.blo"))
    assert blo.shape[:2] == (2, 3)
    assert blo.detector_sampling is None  # detector in cm: not a reciprocal calibration
    ar = read_4dstem(_need(VENDOR / "arina" / "test_00_data_000001.h5"))
    assert ar.shape == (4, 4, 192, 192) and not ar.is_lazy


def test_unknown_suffix_and_missing(tmp_path):
    p = tmp_path / "x.foo"
    p.write_text("")
    with pytest.raises(ValueError, match=r"no 4D-STEM reader known for the suffix '\.foo'"):
        read_4dstem(p)
    with pytest.raises(FileNotFoundError):
        read_4dstem(tmp_path / "missing.mib")


def test_zarr_roundtrip_lazy_whole_patterns(tmp_path, rng):
    a = rng.random((6, 5, 8, 7)).astype(np.float32)
    ds = Dataset4D(a, (0.5, 0.6), energy=200e3, semiangle=10.0, detector_sampling=(0.02, 0.03),
                   center=(3.5, 3.0), rotation=0.1, transpose=True)
    p = write_zarr(ds, tmp_path / "d.zarr", scan_chunks=(2, 5))
    back = read_zarr(p)
    assert back.is_lazy and back.array.chunks[2:] == ((8,), (7,))
    assert back.array.chunks[0] == (2, 2, 2)
    np.testing.assert_array_equal(np.asarray(back.array), a)
    assert back.calibration_dict() == ds.calibration_dict()
    # a lazy dataset is written chunk by chunk and read through read_4dstem
    p2 = write_zarr(back, tmp_path / "e.zarr")
    np.testing.assert_array_equal(np.asarray(read_4dstem(p2).array), a)
    with pytest.raises(ValueError, match=".zarr"):
        write_zarr(ds, tmp_path / "x.h5")


# ---- jaxem stores and Measurements ----------------------------------------------------------------
def _measurement(rng, det_units="mrad", energy_meta=None, lazy=False):
    from jaxem.measurement import Axis, Measurement

    a = rng.random((5, 4, 16, 12)).astype(np.float32)
    if lazy:
        import dask.array as da

        a = da.from_array(a, chunks=(1, 4, 16, 12))
    if det_units == "mrad":
        det = (Axis("θy", 0.8, "mrad", -8 * 0.8), Axis("θx", 0.9, "mrad", -6 * 0.9))
    else:
        det = (Axis("ky", 0.02, det_units, -8 * 0.02), Axis("kx", 0.03, det_units, -6 * 0.03))
    axes = (Axis("scan_y", 0.5, "Å"), Axis("scan_x", 0.6, "Å")) + det
    md = {"semi_angle": {"value": 20.0, "units": "mrad"}}
    if energy_meta is not None:
        md.update(energy_meta)
    return Measurement(a, axes, md), a


def test_measurement_branch_builds_dataset_from_axes(rng):
    """A Measurement in the one 4D-STEM layout (as jaxem.io.load returns it) becomes a Dataset4D:
    scan axes [Å], detector axes in mrad → 1/Å through the beam, zero angle → centre."""
    from jaxem.beam import Beam

    m, a = _measurement(rng, "mrad", {"beam": Beam(300e3).to_dict()})
    ds = read_4dstem(m)
    beam = Beam(300e3)
    assert ds.energy == 300e3 and ds.semiangle == 20.0
    assert ds.scan_sampling == pytest.approx((0.5, 0.6))
    assert ds.detector_sampling == pytest.approx((beam.mrad_to_frequency(0.8), beam.mrad_to_frequency(0.9)))
    assert ds.center == pytest.approx((8.0, 6.0))
    np.testing.assert_array_equal(np.asarray(ds.array), a)
    # 1/Å axes; the energy as a string with units; the caller's calibration wins
    m2, _ = _measurement(rng, "1/Å", {"energy": {"value": 200, "units": "keV"}})
    ds2 = read_4dstem(m2, rotation=0.25)
    assert ds2.energy == 200e3 and ds2.detector_sampling == pytest.approx((0.02, 0.03)) and ds2.rotation == 0.25
    # a lazy Measurement stays lazy; the energy can come from the caller
    m3, _ = _measurement(rng, "1/Å", lazy=True)
    ds3 = read_4dstem(m3, energy="80 kV")
    assert ds3.is_lazy and ds3.energy == 80e3 and ds3.detector_sampling == pytest.approx((0.02, 0.03))


def test_measurement_branch_errors_name_the_problem(rng):
    from jaxem.measurement import Axis, Measurement

    m, _ = _measurement(rng, "mrad")
    with pytest.raises(ValueError, match="beam energy"):
        read_4dstem(m)
    assert read_4dstem(m, energy="300 kV").energy == 300e3
    swapped = Measurement(m.array, m.axes[2:] + m.axes[:2], {})
    with pytest.raises(ValueError, match=r"scan axes must be scan_y, scan_x in Å, got θy \[mrad\]"):
        read_4dstem(swapped, energy=3e5)
    with pytest.raises(ValueError, match="4 axes"):
        read_4dstem(Measurement(np.zeros((3, 4)), (Axis("y"), Axis("x"))))
    bad = Measurement(m.array, m.axes[:3] + (Axis("θx", 1.0, "kelvin"),), {"energy": 1e5})
    with pytest.raises(ValueError, match=r"pattern axes must be θy, θx \[mrad\] or ky, kx \[1/Å\]"):
        read_4dstem(bad)
    with pytest.raises(ValueError, match=r"unknown calibration argument 'semi_angle'.*did you mean 'semiangle'"):
        read_4dstem(m, semi_angle=20.0)
    with pytest.raises(ValueError, match="not both"):
        read_4dstem(m, energy=3e5, detector_sampling=0.1, angular_sampling=1.0)
    with pytest.raises(TypeError, match="path must be a file path or a jaxem Measurement"):
        read_4dstem(42)


def test_store_is_the_io_layout(tmp_path, rng):
    """write_zarr writes jaxem.io's one layout: io.load opens it as a Measurement with named
    dimensions and units, and read_4dstem reads it back to the same dataset (also uncalibrated)."""
    import zarr

    from jaxem import io

    a = rng.random((4, 5, 8, 7)).astype(np.float32)
    ds = Dataset4D(a, (0.5, 0.6), energy=200e3, semiangle=20.0, detector_sampling=(0.02, 0.03),
                   center=(3.5, 3.0), rotation=0.1)
    p = write_zarr(ds, tmp_path / "s.zarr")
    arr = zarr.open_array(str(p / io.SIGNAL_GROUP / "data"), mode="r")
    assert arr.metadata.dimension_names == ("scan_y", "scan_x", "ky", "kx")
    m = io.load(p)
    assert [(ax.name, ax.units) for ax in m.axes] == [("scan_y", "Å"), ("scan_x", "Å"), ("ky", "1/Å"), ("kx", "1/Å")]
    assert m.value("energy", "eV") == 200e3 and m.value("semi_angle", "mrad") == 20.0
    assert read_4dstem(m).calibration_dict() == ds.calibration_dict()
    raw = Dataset4D(a, (0.5, 0.6))  # nothing calibrated but the scan
    back = read_4dstem(write_zarr(raw, tmp_path / "raw.zspy"))
    assert back.calibration_dict() == raw.calibration_dict()


def test_simulated_store_reads(tmp_path, monkeypatch):
    """stem_scan_to_zarr's output (its writer driven by a stand-in scan) reads into a calibrated
    Dataset4D: the simulation → file → reconstruction path."""
    import importlib

    from jaxem.beam import Beam

    helpers = importlib.import_module("tests.stem.test_store")
    data = helpers.patterns()
    monkeypatch.setattr(helpers.store, "PixelatedDetector", helpers.FakePixelated)

    def fake_scan(sim, scan, potential, **kwargs):  # the row compute contract: a block of rows → Measurements
        from jaxem.measurement import Measurement

        r0 = int(round((scan.start[0] - 1.0) / 0.5))
        block = data[r0:r0 + scan.gpts[0]]
        return {"pixelated": Measurement(block, scan.axes() + helpers.FakePixelated().signal_axes(None, None), {})}

    monkeypatch.setattr(helpers.store, "stem_scan", fake_scan)
    p = tmp_path / "sim.zspy"
    helpers.store.stem_scan_to_zarr(p, helpers.FakeSim(), helpers.FakeScan(), helpers.FakePotential())
    ds = read_4dstem(p)
    assert ds.shape == data.shape and ds.is_lazy and ds.energy == 300e3 and ds.semiangle == 20.0
    assert ds.scan_sampling == (0.5, 0.25) and ds.center == (2.0, 3.0)
    assert ds.detector_sampling == pytest.approx((Beam(300e3).mrad_to_frequency(2.0),) * 2)
    assert ds.aberrations.C10 == -50.0
    np.testing.assert_array_equal(np.asarray(ds.array), data)


def test_store_that_is_not_4dstem_is_refused(tmp_path):
    from jaxem import io
    from jaxem.measurement import Axis, Measurement

    p = io.save(Measurement(np.zeros((4, 5), np.float32), (Axis("y", 0.5, "Å"), Axis("x", 0.5, "Å"))),
                tmp_path / "image.zarr")
    with pytest.raises(ValueError, match=r"image\.zarr: is not a 4D-STEM data set in the jaxem layout.*4 axes"):
        read_4dstem(p)


def test_vendor_calibration_overrides_and_reader_errors(tmp_path):
    z = _need(VENDOR / "quantumdetector" / "Merlin_navigation4x2_ROI.zip")
    with zipfile.ZipFile(z) as f:
        f.extractall(tmp_path)
    from jaxem.beam import Beam

    ds = read_4dstem(tmp_path / "001_4x2_6bit.hdr", energy="300 kV", angular_sampling=0.5)
    assert ds.shape == (2, 4, 256, 256)
    assert ds.detector_sampling == pytest.approx((Beam(300e3).mrad_to_frequency(0.5),) * 2)
    with pytest.raises(ValueError, match=r"reader 'quantumdetecter' is not a rosettasciio plugin.*'quantumdetector'"):
        read_4dstem(tmp_path / "001_4x2_6bit.mib", reader="quantumdetecter")
    with pytest.raises(ValueError, match="needs the beam energy"):
        read_4dstem(tmp_path / "001_4x2_6bit.mib", angular_sampling=0.5)


def test_jaxem_hdf5_measurement_reads(tmp_path, rng):
    from jaxem import io
    from jaxem.phase.io import to_measurement

    a = rng.random((3, 4, 6, 6)).astype(np.float32)
    ds = Dataset4D(a, (0.5, 0.5), energy=200e3, semiangle=12.0, detector_sampling=(0.02, 0.02), center=(3.0, 3.0))
    p = io.save(to_measurement(ds), tmp_path / "d.h5")
    back = read_4dstem(p)
    assert back.calibration_dict() == ds.calibration_dict()
    np.testing.assert_array_equal(np.asarray(back.array), a)
