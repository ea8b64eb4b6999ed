"""Experimental images: calibrated reading through rosettasciio, field-of-view check, resampling."""
from pathlib import Path

import numpy as np
import pytest

from jaxem.hrtem.data import image_on_model_grid, read_image, resample_image
from jaxem.hrtem.synthetic import batio3_model
from jaxem.measurement import Measurement
from jaxem.validate import FileFormatError, InputError, InputTypeError

# ../shared/data/vendor beside the project root (also found from a git worktree further down)
VENDOR = next((p / "shared" / "data" / "vendor" for p in Path(__file__).resolve().parents[3:]
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


@pytest.fixture(scope="module")
def model():
    return batio3_model(cells=1, repeats=2, sampling=0.25)  # 4.0 Å supercell, 16 × 16 px


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


@pytest.mark.skipif(not VELOX.exists(), reason="vendor samples (../shared/data/vendor) not present")
def test_real_velox_field_of_view_refused(model):
    with pytest.raises(InputError, match=r"image field of view 1.992 × 1.992 Å .* differs from the model supercell 4 × 4 Å"):
        image_on_model_grid(model, read_image(VELOX, signal="iDPC"))


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


def test_resample_is_exact_for_band_limited_images():
    y, x = np.meshgrid(np.arange(32) / 32, np.arange(24) / 24, indexing="ij")
    f = lambda y, x: 1.0 + 0.3 * np.cos(2 * np.pi * (2 * y + x)) + 0.1 * np.sin(2 * np.pi * 3 * x)  # noqa: E731
    for shape in ((48, 40), (20, 16), (32, 24)):
        yy, xx = np.meshgrid(np.arange(shape[0]) / shape[0], np.arange(shape[1]) / shape[1], indexing="ij")
        np.testing.assert_allclose(resample_image(f(y, x), shape), f(yy, xx), atol=1e-12)
    with pytest.raises(InputError, match="gpts must be ≥ 1"):
        resample_image(f(y, x), (0, 4))


def test_image_on_model_grid(model):
    data = resample_image(np.random.default_rng(2).random((16, 16)), (16, 16))  # band-limited (no Nyquist bin)
    m = image_on_model_grid(model, data, sampling=0.25)
    assert m.shape == tuple(model.gpts) and m.metadata["resampled_from"] is None
    assert m.metadata["calibration_scale"] == pytest.approx([1.0, 1.0], abs=1e-4)
    r = image_on_model_grid(model, resample_image(data, (32, 32)), sampling=0.125)
    assert r.metadata["resampled_from"] == [32, 32]
    np.testing.assert_allclose(r.array, data, atol=1e-12)  # band-limited: round trip exact
    model.check_data(r)  # calibrated Measurement on the model grid passes
    with pytest.raises(InputError, match=r"differs from the model supercell .* by 25 %, more than tolerance=2 %"):
        image_on_model_grid(model, data, sampling=0.3125)
    image_on_model_grid(model, data, sampling=0.255, tolerance=0.03)
    with pytest.raises(InputError, match="sampling: give the pixel size"):
        image_on_model_grid(model, data)
    with pytest.raises(InputError, match="tolerance must be in"):
        image_on_model_grid(model, data, sampling=0.25, tolerance=1.0)
