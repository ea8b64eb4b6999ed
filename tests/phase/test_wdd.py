import numpy as np
import pytest

from jaxem.optics.aberrations import Aberrations
from jaxem.phase import geometry
from jaxem.phase.wdd import wdd as run_wdd

from .forward import make_dataset, support


def test_wdd_recovers_band_limited_phase(wpo_defocus):
    ds, phi = wpo_defocus
    m = support(ds.scan_shape, ds.scan_sampling, ds.probe_cutoff, lo=0.0, hi=2.0)
    F = np.fft.fft2(phi)
    ref = np.real(np.fft.ifft2(np.where(m, F, 0)))
    p = np.asarray(run_wdd(ds, epsilon=1e-3))
    assert np.corrcoef(p.ravel(), ref.ravel())[0, 1] > 0.9
    # WDD deconvolves the probe: at low and mid frequencies the transfer is ≥ 0.7 (SSB: ≤ 0.5) and
    # positive everywhere in the support
    t = np.fft.fft2(p)[m] / F[m]
    assert np.mean(t.real > 0) > 0.99
    low = support(ds.scan_shape, ds.scan_sampling, ds.probe_cutoff, lo=0.05, hi=1.0)
    assert np.median((np.fft.fft2(p)[low] / F[low]).real) > 0.7
    obj = np.asarray(run_wdd(ds, epsilon=1e-3, return_complex=True))
    assert np.abs(obj).mean() == pytest.approx(1.0, abs=0.05)


def test_wdd_regulariser_validated(wpo_defocus):
    ds, _ = wpo_defocus
    with pytest.raises(ValueError, match="epsilon"):
        run_wdd(ds, epsilon=0.0)
    with pytest.raises(ValueError, match="epsilon"):
        run_wdd(ds, epsilon=float("nan"))


def _reference_wdd(ds, epsilon):
    """Direct evaluation at every scan frequency (NumPy, no symmetry or support shortcuts)."""
    data = np.asarray(ds.array, np.float64)
    sy, sx, ny, nx = data.shape
    G = np.fft.fft2(data, axes=(0, 1))
    ky, kx = (np.asarray(a, np.float64) for a in geometry.detector_frequencies(
        (ny, nx), ds.center, ds.detector_sampling, ds.rotation, ds.transpose, np.float64))
    edge = float(np.mean(ds.detector_sampling))

    def psi(qy, qx):
        return np.asarray(geometry.probe_at(ds.aberrations, ky - qy, kx - qx, ds.wavelength, ds.probe_cutoff, edge))

    pk = psi(0.0, 0.0)
    norm = np.sum(np.abs(pk) ** 2)
    eps = epsilon * np.abs(np.fft.ifft2(np.conj(pk) * pk / norm)[0, 0]) ** 2
    qy = np.fft.fftfreq(sy, ds.scan_sampling[0])[:, None, None, None]
    qx = np.fft.fftfreq(sx, ds.scan_sampling[1])[None, :, None, None]
    h = np.fft.ifft2(G)  # every scan frequency, all at once
    w = np.fft.ifft2(np.conj(pk) * psi(qy, qx) / norm)
    O = np.sum(np.conj(w) * h / (np.abs(w) ** 2 + eps), axis=(2, 3))
    return np.fft.ifft2(O / O[0, 0]) * (sy * sx)


def test_wdd_equals_direct_evaluation():
    # the implementation evaluates only the half plane q_x ≥ 0 inside |q| ≤ 2 k_probe + edge and gets
    # −q from the conjugate symmetry of real data; an odd, non-square scan, rotation and astigmatism
    # exercise the index bookkeeping
    ab = Aberrations.create(C10=120.0, C12=30.0, phi12=0.4)
    ds, _ = make_dataset(32, sigma=0.002, aberrations=ab, rotation=0.3)
    ds = ds.replace(array=np.asarray(ds.array)[:31, :29])
    ref = _reference_wdd(ds, 1e-2)
    obj = np.asarray(run_wdd(ds, epsilon=1e-2, return_complex=True))
    assert np.max(np.abs(obj - ref)) < 1e-8
    assert np.std(np.angle(ref)) > 1e-4  # a non-trivial object


def test_wdd_lazy_blocks_equal_in_memory(wpo_defocus):
    # a Dask array is transformed in detector-row blocks (budget forces 5 blocks of 10 rows, the last 8)
    import dask.array as da

    ds, _ = wpo_defocus
    lazy = ds.replace(array=da.from_array(np.asarray(ds.array), chunks=(12, 48, 48, 48)))
    budget = 48 * 48 * 48 * 8 * 3 * 10
    a = np.asarray(run_wdd(ds, epsilon=1e-2, return_complex=True))
    b = np.asarray(run_wdd(lazy, epsilon=1e-2, return_complex=True, memory_budget=budget))
    assert np.max(np.abs(a - b)) < 1e-10


def _with_nan(ds):
    """(data with one NaN at scan (5, 7), detector (20, 26); the same data with that value replaced by
    the pixel's mean over the other frames — the clean computation on the same good data)."""
    a = np.array(ds.array)
    filled = a.copy()
    filled[5, 7, 20, 26] = np.delete(a[:, :, 20, 26].ravel(), 5 * a.shape[1] + 7).mean()
    a[5, 7, 20, 26] = np.nan
    return ds.replace(array=a), ds.replace(array=filled)


@pytest.mark.parametrize("lazy", [False, True])
def test_one_nan_pixel_is_masked_and_reported(wpo_defocus, lazy):
    import dask.array as da

    from jaxem.phase import reconstruct

    ds, _ = wpo_defocus
    bad, filled = _with_nan(ds)
    if lazy:
        bad = bad.replace(array=da.from_array(bad.array, chunks=(12, 48, 48, 48)))
    img = reconstruct(bad, "wdd", epsilon=1e-2)
    assert np.all(np.isfinite(np.asarray(img.array)))
    ref = np.asarray(run_wdd(filled, epsilon=1e-2))
    np.testing.assert_allclose(np.asarray(img.array), ref, atol=1e-10)
    clean = np.asarray(run_wdd(ds, epsilon=1e-2))
    assert np.corrcoef(np.ravel(img.array), clean.ravel())[0, 1] > 0.999
    rep = img.metadata["bad_data"]
    assert rep["n_values"] == 1 and rep["scan_positions"] == [[5, 7]] and rep["detector_pixels"] == [[20, 26]]
    assert img.axes[0].units == "Å" and img.metadata["units"] == "rad"


def test_wdd_errors_name_the_argument(wpo_defocus):
    ds, _ = wpo_defocus
    with pytest.raises(ValueError, match="rotation"):
        run_wdd(ds, rotation=float("nan"))
    with pytest.raises(ValueError, match="edge"):
        run_wdd(ds, edge=-1.0)
    with pytest.raises(ValueError, match="precision"):
        run_wdd(ds, precision="half")
    with pytest.raises(ValueError, match=r"missing calibration \['center'\]"):
        run_wdd(ds.replace(center=None))
    with pytest.raises(TypeError, match="ds must be a Dataset4D"):
        run_wdd(np.asarray(ds.array))
