import dask.array as da
import numpy as np
import pytest

from jaxem.phase.dataset import Dataset4D
from jaxem.phase.stack import bright_field_stack


def test_stack_normalisation_and_lazy_equality(wpo_focus):
    ds, _ = wpo_focus
    st = bright_field_stack(ds, precision="float64")
    assert st.vbf.dtype == np.float64 and st.n_bf == len(st.k_det)
    # I/I0 summed over the BF and the DF equals 1 on average; the BF holds almost all of it
    assert 0.97 < float(np.asarray(st.vbf).sum(0).mean()) <= 1.0 + 1e-9
    idx = np.asarray(st.indices)
    np.testing.assert_allclose(np.asarray(st.vbf)[:, 3, 5], ds.array[3, 5][idx[:, 0], idx[:, 1]] / st.i0)
    lazy = ds.replace(array=da.from_array(ds.array, chunks=(8, 48, -1, -1)))
    st2 = bright_field_stack(lazy, precision="float64")
    np.testing.assert_allclose(np.asarray(st2.vbf), np.asarray(st.vbf), rtol=1e-12)
    G = np.asarray(st.spectrum())
    assert np.abs(G[:, 0, 0]).max() < 1e-10  # DC removed per image
    assert bright_field_stack(ds.replace(array=ds.array.astype(np.float32))).vbf.dtype == np.float32


def test_stack_errors(wpo_focus):
    ds, _ = wpo_focus
    with pytest.raises(ValueError, match="missing calibration"):
        bright_field_stack(ds.replace(center=None))
    with pytest.raises(ValueError, match="semiangle: the bright-field disk .* does not fit"):
        bright_field_stack(ds.replace(semiangle=60.0))
    with pytest.raises(ValueError, match="mean pattern intensity"):
        bright_field_stack(ds.replace(array=np.zeros_like(ds.array)))


@pytest.mark.parametrize("precision", ["float32", "single", 32, np.float32, "float64", "double", "f8", 64, np.float64])
def test_precision_aliases(wpo_focus, precision):
    ds, _ = wpo_focus
    st = bright_field_stack(ds, precision=precision)
    from jaxem.accel import resolve_precision

    assert st.vbf.dtype == np.dtype(resolve_precision(precision))


def test_stack_argument_errors(wpo_focus):
    ds, _ = wpo_focus
    with pytest.raises(ValueError, match="threshold"):
        bright_field_stack(ds, threshold=1.5)
    with pytest.raises(ValueError, match="edge"):
        bright_field_stack(ds, edge=0.0)
    with pytest.raises(ValueError, match="precision"):
        bright_field_stack(ds, precision="quad")
    with pytest.raises(TypeError, match="ds must be a Dataset4D"):
        bright_field_stack(ds.array)


def test_lazy_nan_is_masked_like_in_memory(wpo_focus):
    ds, _ = wpo_focus
    a = np.array(ds.array)
    a[2, 3, 24, 25] = np.nan
    a[10] = np.nan  # a row of dropped frames
    eager = bright_field_stack(ds.replace(array=a), precision="float64")
    lazy = bright_field_stack(ds.replace(array=da.from_array(a, chunks=(8, 48, -1, -1))), precision="float64")
    np.testing.assert_allclose(np.asarray(lazy.vbf), np.asarray(eager.vbf), rtol=1e-12)
    assert lazy.bad == eager.bad and eager.bad.n_values == 1 + 48 * 48 * 48
    assert len(eager.bad.scan_positions) == 49 and np.all(np.isfinite(np.asarray(eager.vbf)))
