"""Out-of-core WDD through the on-disk transpose: equal to the in-memory WDD, under a small budget,
with masked non-finite values reported."""
import dask.array as da
import numpy as np
import pytest

from jaxem.phase import ooc, wdd


def test_out_of_core_wdd_equals_in_memory(wpo_defocus, tmp_path):
    ds, _ = wpo_defocus
    ds32 = ds.replace(array=np.asarray(ds.array, np.float32))
    ref = np.asarray(wdd(ds32, epsilon=1e-2))
    lazy = ds32.replace(array=da.from_array(ds32.array, chunks=(5, 48, 48, 48)))
    nbytes = ds32.array.nbytes
    # a budget of a quarter of the data: several blocks in every step, uneven last blocks
    img, rep = ooc.wdd_out_of_core(lazy, epsilon=1e-2, memory_budget=nbytes // 4, tmp_dir=tmp_path)
    assert rep["scan_rows_per_block"] < 48 and rep["detector_rows_per_block"] < 48
    assert rep["frequencies_per_block"] < rep["n_frequencies"]
    np.testing.assert_allclose(np.asarray(img), ref, atol=2e-5 * np.abs(ref).max() + 1e-7)
    assert list(tmp_path.iterdir()) == []  # the temporary store is removed


def test_out_of_core_wdd_masks_and_reports_nan_frames(wpo_defocus, tmp_path):
    ds, _ = wpo_defocus
    a = np.asarray(ds.array, np.float32).copy()
    a[3, 7] = np.nan  # a dropped frame
    bad = ds.replace(array=a)
    ref = np.asarray(wdd(bad, epsilon=1e-2))
    img, rep = ooc.wdd_out_of_core(bad, epsilon=1e-2, memory_budget=a.nbytes // 3, tmp_dir=tmp_path)
    assert rep["bad_data"]["scan_positions"] == [[3, 7]] or tuple(map(tuple, rep["bad_data"]["scan_positions"])) == ((3, 7),)
    assert np.all(np.isfinite(np.asarray(img)))
    np.testing.assert_allclose(np.asarray(img), ref, atol=2e-5 * np.abs(ref).max() + 1e-7)


def test_out_of_core_arguments_checked(wpo_defocus, tmp_path):
    ds, _ = wpo_defocus
    with pytest.raises(ValueError, match="epsilon"):
        ooc.wdd_out_of_core(ds, epsilon=0.0)
    with pytest.raises(FileNotFoundError, match="tmp_dir"):
        ooc.wdd_out_of_core(ds, tmp_dir=tmp_path / "missing")
    with pytest.raises(ValueError, match="memory_budget"):
        ooc.wdd_out_of_core(ds, memory_budget="lots")
