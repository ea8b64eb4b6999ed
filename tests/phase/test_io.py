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
    with pytest.raises(ValueError, match="unknown 4D-STEM file type"):
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
