"""The general calibrated-image reader (rosettasciio formats + .npy): calibration in Å, strict errors."""
import os
from pathlib import Path

import numpy as np
import pytest

from jaxem.io.images import read_image
from jaxem.measurement import Measurement
from jaxem.validate import FileFormatError, InputError, InputTypeError

# JAXEM_VENDOR_DATA, else ../shared/data/vendor beside the project root (also found from a git worktree further down)
VENDOR = Path(os.environ["JAXEM_VENDOR_DATA"]) if os.environ.get("JAXEM_VENDOR_DATA") else next(
    (p / "shared" / "data" / "vendor" for p in Path(__file__).resolve().parents[3:]
     if (p / "shared" / "data" / "vendor").is_dir()), Path("/nonexistent"))
VELOX = VENDOR / "emd" / "fei_example_dpc_titles.emd"


def write_hspy(path, data, scale_yx=(0.025, 0.025), units="nm"):
    """A calibrated .hspy written by HyperSpy (axes in its own (x, y) order)."""
    hs = pytest.importorskip("hyperspy.api")
    s = hs.signals.Signal2D(np.asarray(data))
    sig = s.axes_manager.signal_axes  # (x, y)
    sig[0].scale, sig[1].scale = scale_yx[1], scale_yx[0]
    sig[0].units = sig[1].units = units
    s.save(str(path), overwrite=True)
    return path


def test_hspy_calibration_in_nm_becomes_angstrom_per_axis(tmp_path):
    data = np.random.default_rng(0).normal(1.0, 0.1, (20, 16))
    m = read_image(write_hspy(tmp_path / "a.hspy", data, (0.02, 0.025)))
    assert isinstance(m, Measurement) and m.shape == (20, 16)
    assert (m.axes[0].name, m.axes[0].units) == ("y", "Å") and m.axes[0].sampling == pytest.approx(0.2)
    assert m.axes[1].sampling == pytest.approx(0.25)
    np.testing.assert_allclose(m.array, data)
    assert m.metadata["calibration"] == "file" and m.metadata["reader"] == "HSPY"


def test_tiff_written_by_rosettasciio(tmp_path):
    pytest.importorskip("tifffile")
    from rsciio.tiff import file_writer

    data = np.random.default_rng(1).random((12, 10)).astype(np.float32)
    axes = [{"name": n, "scale": 25.0, "units": "pm", "offset": 0.0, "size": k, "navigate": False}
            for n, k in (("y", 12), ("x", 10))]
    file_writer(str(tmp_path / "a.tif"), {"data": data, "axes": axes, "metadata": {}, "original_metadata": {}})
    m = read_image(tmp_path / "a.tif")
    assert m.shape == (12, 10) and m.axes[0].sampling == pytest.approx(0.25) and m.axes[1].sampling == pytest.approx(0.25)


@pytest.mark.skipif(not VELOX.exists(), reason="vendor samples (../shared/data/vendor) not present")
def test_real_velox_file_several_signals():
    with pytest.raises(InputError, match="holds 9 signals .*'iDPC'.*choose one with signal="):
        read_image(VELOX)
    m = read_image(VELOX, signal="iDPC")
    assert m.shape == (2, 2) and m.axes[0].sampling == pytest.approx(0.9962, rel=1e-3)  # 99.6 pm in the file
    assert read_image(VELOX, signal=2).metadata["title"] == "iDPC"
    with pytest.raises(InputTypeError, match="must be real, got dtype complex64"):
        read_image(VELOX, signal="DPC")
    with pytest.raises(InputError, match="signal must be one of.*did you mean 'iDPC'"):
        read_image(VELOX, signal="iDCP")
    with pytest.raises(InputError, match="sampling=.* contradicts the calibration"):
        read_image(VELOX, signal="iDPC", sampling=0.5)


def test_damaged_and_wrong_files_name_the_path(tmp_path):
    good = write_hspy(tmp_path / "a.hspy", np.ones((16, 16)))
    bad = tmp_path / "cut.hspy"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FileFormatError, match=f"{bad}: cannot read this image"):
        read_image(bad)
    junk = tmp_path / "junk.dm4"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(FileFormatError, match="junk.dm4: cannot read this image"):
        read_image(junk)
    (tmp_path / "a.xyz").write_text("1")
    with pytest.raises(InputError, match="suffix '.xyz' is not a format rosettasciio reads"):
        read_image(tmp_path / "a.xyz")
    with pytest.raises(FileNotFoundError, match="image: no such file"):
        read_image(tmp_path / "missing.hspy")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_image(tmp_path)
    stack = write_hspy(tmp_path / "stack.hspy", np.ones((3, 16, 16)))
    with pytest.raises(InputError, match=r"stack.hspy.* must be a 2-D image \(y, x\), got shape \(3, 16, 16\)"):
        read_image(stack)
    nan = np.ones((16, 16))
    nan[2, 3] = np.nan
    with pytest.raises(InputError, match=r"nan.hspy' holds 1 NaN/inf value\(s\) \(first at index \(2, 3\)\)"):
        read_image(write_hspy(tmp_path / "nan.hspy", nan))
    recip = write_hspy(tmp_path / "fft.hspy", np.ones((16, 16)), units="1/nm")
    with pytest.raises(InputError, match="reciprocal space"):
        read_image(recip)


def test_npy_needs_a_sampling(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((16, 16)))
    with pytest.raises(InputError, match="sampling: image .* carries no pixel calibration"):
        read_image(tmp_path / "a.npy")
    m = read_image(tmp_path / "a.npy", sampling="0.025 nm")
    assert m.axes[1].sampling == pytest.approx(0.25) and m.metadata["calibration"] == "sampling"
    (tmp_path / "b.npy").write_bytes(b"not numpy")
    with pytest.raises(FileFormatError, match="b.npy: cannot read this NumPy image"):
        read_image(tmp_path / "b.npy", sampling=0.25)
    with pytest.raises(InputError, match="sampling must be > 0"):
        read_image(tmp_path / "a.npy", sampling=-1.0)


def test_colour_and_uncalibrated_images_when_calibration_is_optional(tmp_path):
    """PNG colour images are read as grey levels; without a calibration and with
    ``require_calibration=False`` the axes are in pixels (FFT detection), otherwise it is an error."""
    from PIL import Image

    rgb = (np.random.default_rng(4).random((20, 24, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    m = read_image(tmp_path / "c.png", require_calibration=False)
    assert m.shape == (20, 24) and m.axes[0].units == "pixels" and m.metadata["calibration"] == "none"
    np.testing.assert_allclose(m.array, rgb.mean(-1))
    with pytest.raises(InputError, match="sampling: image .* carries no pixel calibration"):
        read_image(tmp_path / "c.png")
    assert read_image(tmp_path / "c.png", sampling=0.5).axes[1].sampling == 0.5


# ---- one route: every rosettasciio format goes through jaxem.io.vendor.read_signals (header checks) ----
def write_mib(path, pixels, frames=1):
    """A Merlin .mib written here from the format's description (Quantum Detectors): per frame a
    384-byte text header ``MQ1,<seq>,00384,01,<width>,<height>,U16,…`` then big-endian uint16 pixels."""
    ny, nx = pixels.shape
    out = b""
    for k in range(frames):
        head = (f"MQ1,{k + 1:06d},00384,01,{nx:04d},{ny:04d},U16,   1x1,01,2021-04-15 14:43:47.008505,0.001000,"
                "0,0,0,2.000000E+0,5.110000E+2,0.000000E+0,0.000000E+0,0.000000E+0,0.000000E+0,0.000000E+0,"
                "0.000000E+0,3RX,011,511,000,000,000,000,000,000,175,010,200,125,100,100,093,100,099,030,128,"
                "004,255,140,128,191,179,511,511,MQ1A,2021-04-15T13:43:47.008505401Z,1000000ns,12,").encode()
        out += head.ljust(384, b"\0") + np.asarray(pixels, ">u2").tobytes()
    path.write_bytes(out)
    return path


def _cut(path, fraction, name=None):
    dst = path.with_name(name or f"cut_{path.name}")
    raw = path.read_bytes()
    dst.write_bytes(raw[: int(len(raw) * fraction)])
    return dst


def test_instrument_files_go_through_the_checked_vendor_route(tmp_path, monkeypatch):
    """read_image opens rosettasciio formats only through ``io.vendor.read_signals`` (the one route)."""
    from jaxem.io import vendor

    calls = []
    real = vendor.read_signals
    monkeypatch.setattr(vendor, "read_signals", lambda path, plugin, **kw: calls.append(plugin) or real(path, plugin, **kw))
    pixels = np.arange(20 * 16).reshape(20, 16) % 7
    m = read_image(write_mib(tmp_path / "a.mib", pixels), require_calibration=False)
    np.testing.assert_array_equal(m.array, pixels[::-1])  # rosettasciio stores Merlin rows bottom-up
    read_image(write_hspy(tmp_path / "a.hspy", np.ones((8, 8))))
    from PIL import Image

    Image.fromarray(np.full((6, 5), 7, np.uint8)).save(tmp_path / "g.png")
    assert read_image(tmp_path / "g.png", sampling=1.0).array.tolist() == np.full((6, 5), 7.0).tolist()
    assert calls == ["rsciio.quantumdetector", "rsciio.hspy", "rsciio.image"]


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.99])
def test_truncated_self_written_files_are_file_format_errors(tmp_path, fraction):
    """A Merlin frame cut short was read before as an empty (0, 16, 16) stack (an InputError about
    the shape); the header check now names the file and the missing bytes. TIFF too (runs in CI)."""
    good = write_mib(tmp_path / "a.mib", np.ones((16, 16)))
    bad = _cut(good, fraction)
    found = int(good.stat().st_size * fraction)
    msg = (f"{bad}: cannot read this image .*QuantumDetector: truncated or incomplete: expected 896 bytes, found "
           f"{found}" if fraction else f"{bad}: cannot read this image .*QuantumDetector: no complete Merlin frame header")
    with pytest.raises(FileFormatError, match=msg) as info:
        read_image(bad, require_calibration=False)
    assert info.value.path == str(bad)
    pytest.importorskip("tifffile")
    from rsciio.tiff import file_writer

    axes = [{"name": n, "scale": 25.0, "units": "pm", "offset": 0.0, "size": 32, "navigate": False} for n in "yx"]
    file_writer(str(tmp_path / "a.tif"), {"data": np.ones((32, 32), np.float32), "axes": axes, "metadata": {},
                                          "original_metadata": {}})
    with pytest.raises(FileFormatError, match=f"{_cut(tmp_path / 'a.tif', fraction)}: cannot read this image"):
        read_image(tmp_path / f"cut_a.tif")


BCF = VENDOR / "bruker" / "test_TEM.bcf"


@pytest.mark.skipif(not BCF.exists(), reason="vendor samples (JAXEM_VENDOR_DATA or ../shared/data/vendor) absent")
@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.75, 0.999])
def test_truncated_vendor_files_are_file_format_errors(tmp_path, fraction):
    """The Bruker .bcf survey image: a copy cut at half was read before as a valid 64×64 image and
    one cut at 75 % crashed the process (rosettasciio's SFS reader); the SFS header check refuses both.
    A cut Velox .emd is refused by HDF5 and named."""
    full = read_image(BCF, signal=0, require_calibration=False)
    assert full.shape == (64, 64) and full.metadata["reader"] == "Bruker"
    copy = tmp_path / BCF.name
    copy.write_bytes(BCF.read_bytes())
    bad = _cut(copy, fraction)
    with pytest.raises(FileFormatError, match=f"{bad}: cannot read this image .*Bruker: truncated or incomplete: "
                                              "expected 332056 bytes"):
        read_image(bad, signal=0, require_calibration=False)
    if VELOX.exists():
        copy = tmp_path / VELOX.name
        copy.write_bytes(VELOX.read_bytes())
        with pytest.raises(FileFormatError, match=f"{_cut(copy, fraction)}: cannot read this image .*EMD"):
            read_image(tmp_path / f"cut_{VELOX.name}", signal="iDPC")


def test_a_reader_whose_dependency_is_missing_is_named(tmp_path, monkeypatch):
    """A plugin that exists but cannot be imported is reported as unavailable (not as 'no such plugin')."""
    import importlib

    from jaxem.io import vendor

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "rsciio.digitalmicrograph":
            raise ModuleNotFoundError("No module named 'somedep'", name="somedep")
        return real(name, *a, **k)

    monkeypatch.setattr(vendor.importlib, "import_module", fake)
    (tmp_path / "a.dm4").write_bytes(b"\0" * 64)
    with pytest.raises(FileFormatError, match="a.dm4: cannot read this image .*DigitalMicrograph reader unavailable "
                                              ".*'digitalmicrograph' reader cannot be imported .*somedep"):
        read_image(tmp_path / "a.dm4")
    with pytest.raises(InputError, match="reader 'nonsense' is not a rosettasciio plugin"):
        vendor.read_signals(tmp_path / "a.dm4", "nonsense")
