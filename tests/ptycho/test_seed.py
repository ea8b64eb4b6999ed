"""The starting object (jaxem.ptycho.seed): a strong specimen — SrTiO3 [001], 30 kV, 3.1 nm, every
4-slice block with a phase up to 2 rad and an exit wave far from e^{iσΣv} — where the linear response
of the data is inverted. From vacuum, gradient descent lands in an inverted-contrast minimum; from the
integrated centre of mass (Ehrenfest: the sign of the potential at any thickness) it recovers every
slice. Also: the iCoM of the prepared data equals jaxem.phase's, the representability of the data by
S slices (truth_error), and the errors of ``start``."""
import numpy as np
import pytest

from jaxem import phase, ptycho
from jaxem.ptycho import seed

from .conftest import SAMPLING


@pytest.fixture(scope="module")
def strong():
    ds, pot = ptycho.simulate_crystal("30 kV", n_layers=8, n_cells=1, semiangle=30.0, max_angle=90.0, scan_gpts=6,
                                      precision="float32")
    return ds, pot


def _run(ds, pot, start):
    return ptycho.compare_methods(ds, pot, n_slices=4, iterations=20, direct=False,
                                  ptycho_kwargs=dict(batch=12, rate_object=0.03, kz=1.0, tv=3e-3, start=start))


def test_strong_object_is_recovered_from_the_icom_start_not_from_vacuum(strong):
    ds, pot = strong
    truth = ptycho.true_slice_phases(pot, ds.beam, 4, pot.grid.gpts)
    assert truth.max() > 1.5  # band-unlimited slice phase: a strong object (2 rad per 1.5 cells at 30 kV)
    vac, ico = _run(ds, pot, "vacuum"), _run(ds, pot, "icom")
    # the failure this fixes: inverted contrast from vacuum (measured −0.71 … −0.76 per slice)
    assert max(vac["correlations"]["ptychography (per slice, scan grid)"]) < 0.0
    # the fix: every slice correlates ≥ 0.9 with its true phase, on the scan grid and on the fine grid
    # (truth low-passed to the detector edge); measured 0.993 … 0.995 and 0.973 … 0.977
    assert min(ico["correlations"]["ptychography (per slice, scan grid)"]) > 0.95
    assert min(ico["correlations"]["ptychography (per slice)"]) > 0.9
    assert ico["result"].object.metadata["start"]["kind"] == "icom"
    assert ico["result"].object.metadata["start"]["scale"] in seed.SEED_SCALES
    # the inverted solution is a local minimum: its data error is higher (0.0137 vs 0.0086 measured)
    assert ico["result"].error < vac["result"].error


def test_truth_error_says_how_many_slices_can_represent_the_data(strong):
    ds, pot = strong
    data = ptycho.prepare(ds, object_extent=(1 / ds.detector_sampling[0],) * 2)
    errors = [ptycho.truth_error(data, pot, s, ds.aberrations) for s in (1, 2, 4)]
    # thick strong slices cannot be one transmission each: the error falls as the slices thin
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] > 3 * errors[2]


def test_icom_of_prepared_data_equals_phase_icom(small):
    ds, _ = small
    data = ptycho.prepare(ds, object_extent=(27 * SAMPLING,) * 2, precision="float64")
    mine = seed.icom_phase(data)
    ref = np.asarray(phase.reconstruct(ds, "icom").array, np.float64)
    assert mine.shape == ref.shape
    assert ptycho.correlation(mine, ref) > 0.999
    np.testing.assert_allclose(mine, ref - ref.mean(), atol=0.02 * np.abs(ref).max())


def test_icom_seed_interpolates_periodically_onto_the_object_grid(small):
    ds, _ = small
    data = ptycho.prepare(ds, object_extent=(27 * SAMPLING,) * 2, precision="float64")
    phi, a = seed.icom_seed(data, 3)
    assert phi.shape == (3,) + tuple(data.geometry.object_shape) and a == seed.SEED_SCALES[0]
    np.testing.assert_allclose(phi[0], phi[2])
    # the periodic cubic spline agrees with the exact trigonometric interpolation of the scan image
    exact = ptycho.fourier_resample(seed.icom_phase(data), phi.shape[1:])
    assert ptycho.correlation(3 * phi[0], exact) > 0.99


def test_start_arguments(small):
    ds, _ = small
    data = ptycho.prepare(ds, object_extent=(27 * SAMPLING,) * 2, precision="float64")
    shape = tuple(data.geometry.object_shape)
    with pytest.raises(ptycho.data.validate.InputError, match="start"):
        ptycho.reconstruct(data, iterations=0, start="random", progress=False)
    with pytest.raises(ptycho.data.validate.InputError, match="start"):
        ptycho.reconstruct(data, iterations=0, start=np.zeros((5, 5)), progress=False)
    with pytest.raises(ptycho.data.validate.InputError, match="start"):
        ptycho.reconstruct(data, iterations=0, start=np.full(shape, np.nan), progress=False)
    phi = np.random.default_rng(1).normal(size=shape)
    res = ptycho.reconstruct(data, n_slices=2, slice_thickness=5.0, iterations=0, start=phi, progress=False)
    np.testing.assert_allclose(np.asarray(res.object.array), np.stack([phi / 2, phi / 2]), rtol=1e-6)
    assert res.object.metadata["start"] == {"kind": "array"}
    # a list of positions has no scan grid to integrate the CoM on: auto → vacuum, icom → error naming start
    pos = np.asarray(data.positions) + 0.0
    listed = ptycho.prepare(ds, object_extent=(27 * SAMPLING,) * 2, precision="float64", positions=pos)
    assert ptycho.reconstruct(listed, iterations=0, progress=False).object.metadata["start"] == {"kind": "vacuum"}
    with pytest.raises(ptycho.data.validate.InputError, match="start"):
        ptycho.reconstruct(listed, iterations=0, start="icom", progress=False)
