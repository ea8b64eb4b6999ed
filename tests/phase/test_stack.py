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
    with pytest.raises(ValueError, match="does not fit"):
        bright_field_stack(ds.replace(semiangle=60.0))
    with pytest.raises(ValueError, match="mean pattern intensity"):
        bright_field_stack(ds.replace(array=np.zeros_like(ds.array)))
