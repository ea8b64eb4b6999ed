"""Differential test of the vendor readers: ``jaxem.io.vendor.read_signals`` / ``phase.read_4dstem``
against HyperSpy (``hs.load``, rosettasciio underneath) on every real instrument file in
``../shared/data/vendor`` (``JAXEM_VENDOR_DATA`` overrides): the same data (values, dtype, shape
order), the same axes (scale, offset, units) and the metadata HyperSpy builds, including what a reader
only *maps* from its original metadata (the NanoMegas blockfile's beam energy: jaxem ignored the
mapping and read no energy where HyperSpy reads 200 kV — fixed in ``io.vendor``). ``read_4dstem``
converts nm → Å and 1/nm → 1/Å; a file with a damaged header is an error naming it, never an array.
Truncated copies are covered by ``tests/test_truncation.py``."""
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from jaxem.io import vendor
from jaxem.validate import FileFormatError

hs = pytest.importorskip("hyperspy.api")
ROOT = Path(__file__).resolve().parents[2]
VENDOR = Path(os.environ.get("JAXEM_VENDOR_DATA", ROOT / ".." / "shared" / "data" / "vendor"))

FILES = [("blockfile/test1.blo", "blockfile"), ("blockfile/test2.blo", "blockfile"), ("emd/Si100_4D.emd", "emd"),
         ("emd/py4DSTEM_size2x3x4x5.h5", "emd"), ("emd/fei_example_dpc_titles.emd", "emd"),
         ("arina/test_00_data_000001.h5", "arina"), ("bruker/test_TEM.bcf", "bruker"),
         ("bruker/bruker_nano.spx", "bruker"), ("bruker/extracted_from_bcf.spx", "bruker"), ("msa/example1.msa", "msa"),
         ("msa/example2.msa", "msa"), ("Merlin_navigation4x2_ROI.zip:001_4x2_6bit.mib", "quantumdetector"),
         ("Merlin_navigation4x2_ROI.zip:002_4x2_6bit_roi128.mib", "quantumdetector"),
         ("Merlin_Single_Quad.zip:Quad_9_Frame_CounterDepth_24_Rows_256.mib", "quantumdetector"),
         ("Merlin_Single_Quad.zip:Single_9_Frame_CounterDepth_12_Rows_256.mib", "quantumdetector")]


@pytest.fixture(scope="module")
def merlin(tmp_path_factory):
    out = tmp_path_factory.mktemp("merlin")
    for z in ("Merlin_navigation4x2_ROI.zip", "Merlin_Single_Quad.zip"):
        src = VENDOR / "quantumdetector" / z
        if src.exists():
            with zipfile.ZipFile(src) as f:
                f.extractall(out)
    return out


def _path(name, merlin):
    p = merlin / name.split(":")[1] if ":" in name else VENDOR / name
    if not p.exists():
        pytest.skip(f"vendor sample {p} absent")
    return p


def _axes(axes):
    return [(int(a["size"]), float(a.get("scale", 1.0)), float(a.get("offset", 0.0)), str(a.get("units")))
            for a in axes]


def _hs_load(p, reader):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import logging

        logging.getLogger("hyperspy").setLevel(logging.ERROR)
        s = hs.load(str(p), reader=reader)
    return s if isinstance(s, list) else [s]


@pytest.mark.parametrize("name,reader", FILES, ids=[f[0].split("/")[-1].split(":")[-1] for f in FILES])
def test_signals_match_hyperspy(name, reader, merlin):
    p = _path(name, merlin)
    mine, ref = vendor.read_signals(p, reader), _hs_load(p, reader)
    assert len(mine) == len(ref)
    for a, b in zip(mine, ref):
        da, db = np.asarray(a["data"]), np.asarray(b.data)
        assert da.shape == db.shape and da.dtype == db.dtype
        assert np.array_equal(da, db, equal_nan=True)
        assert _axes(a["axes"]) == _axes([x.get_axis_dictionary() for x in b.axes_manager._axes])
        tem = b.metadata.get_item("Acquisition_instrument.TEM.beam_energy")
        if tem is not None:  # what HyperSpy reads (from metadata or through the reader's mapping)
            assert float(a["metadata"]["Acquisition_instrument"]["TEM"]["beam_energy"]) == pytest.approx(float(tem))


def test_read_4dstem_calibration_matches_hyperspy_axes(merlin):
    from jaxem.phase import read_4dstem

    blo = _path("blockfile/test1.blo", merlin)
    ds = read_4dstem(blo, lazy=False)
    (ref,) = _hs_load(blo, "blockfile")
    assert ds.beam is not None and ds.beam.energy == pytest.approx(1e3 * ref.metadata.Acquisition_instrument.TEM.beam_energy)
    assert ds.beam.energy == pytest.approx(200e3)
    ax = ref.axes_manager._axes
    assert ax[0].units == "nm" and ds.scan_sampling == pytest.approx((10 * ax[0].scale, 10 * ax[1].scale))
    assert ds.detector_sampling is None  # the blockfile's diffraction axes are in cm: uncalibrated
    assert np.array_equal(np.asarray(ds.array), ref.data)
    emd = _path("emd/Si100_4D.emd", merlin)
    ds = read_4dstem(emd, lazy=False)
    (ref,) = _hs_load(emd, "emd")
    ax = ref.axes_manager._axes  # (depth, R_x, R_y, Q_x, Q_y): R in nm, Q in 1/nm
    assert ds.scan_sampling == pytest.approx((10 * ax[1].scale, 10 * ax[2].scale))
    assert ds.detector_sampling == pytest.approx((ax[3].scale / 10, ax[4].scale / 10))
    assert np.array_equal(np.asarray(ds.array), ref.data[0])


@pytest.mark.parametrize("name,reader", [("blockfile/test1.blo", "blockfile"), ("bruker/test_TEM.bcf", "bruker"),
                                         ("Merlin_navigation4x2_ROI.zip:001_4x2_6bit.mib", "quantumdetector"),
                                         ("emd/Si100_4D.emd", "emd")], ids=["blo", "bcf", "mib", "emd"])
def test_damaged_header_is_an_error(name, reader, merlin, tmp_path):
    src = _path(name, merlin)
    for other in src.parent.glob(src.stem + ".*"):
        shutil.copy(other, tmp_path / other.name)
    bad = tmp_path / src.name
    raw = bytearray(bad.read_bytes())
    raw[:16] = b"\x00" * 16  # the magic / first frame header
    bad.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match=bad.name):
        vendor.read_signals(bad, reader)
