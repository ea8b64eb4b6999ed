"""ZLP removal, Fourier-log deconvolution, loss function and the end-to-end pipeline."""
import numpy as np
import pytest

from jaxem import eels
from jaxem.validate import InputError

Q = np.linspace(0.1, 1.0, 10)
E = np.arange(-4.0, 40.0, 0.05)
FWHM = 0.3


@pytest.fixture(scope="module")
def maps():
    kw = dict(seed=None, counts_per_peak=None, beam="100 kV")
    m, truth = eels.drude_map(Q, E, zlp_counts=None, row_max=2e4, **kw)      # single scattering (no ZLP)
    full, _ = eels.drude_map(Q, E, zlp_counts=6e4, zlp_fwhm=FWHM, row_max=2e4, **kw)
    return m, full, truth


def _zlp_truth():
    sig = FWHM / (2 * np.sqrt(2 * np.log(2)))
    z = np.exp(-0.5 * (E / sig) ** 2)
    return 6e4 * z / z.sum()


def _broadened(single):
    z = _zlp_truth() / 6e4
    i = int(np.argmax(z))
    return np.array([np.convolve(r, z)[i:i + E.size] for r in single])


@pytest.mark.parametrize("method,tol", [("reflected", 3e-3), ("fit", 3e-3)])
def test_zlp_recovered(maps, method, tol):
    _, full, _ = maps
    z, rest = eels.remove_zlp(full, method)
    err = np.abs(z.numpy() - _zlp_truth()[None]).max() / _zlp_truth().max()
    assert err < tol
    assert z.metadata["zlp_fwhm"]["value"] == pytest.approx(FWHM, abs=0.05)
    assert np.allclose(z.numpy() + rest.numpy(), full.numpy())


def test_fourier_log_deconvolution_recovers_single_scattering(maps):
    """j = z ⊛ exp(s/I₀) (the synthetic map, t/λ ≈ 0.3): the deconvolution returns s ⊛ z/I₀ — checked
    against the single-scattering map convolved with the known ZLP."""
    m, full, _ = maps
    z = full.with_array(np.broadcast_to(_zlp_truth(), full.shape).copy())
    s = eels.deconvolve(full, z)
    ref = _broadened(m.numpy())
    scale = 1.0
    sel = (E > 2) & (E < 32)
    assert np.abs(s.numpy()[:, sel] * scale - ref[:, sel]).max() / ref.max() < 2e-3
    tl = np.asarray(s.metadata["thickness_over_mfp"])
    assert tl.max() == pytest.approx(2e4 / 6e4, rel=0.03)     # t/λ = ln(I_t/I₀) = S/I₀ (tail beyond 40 eV cut)


def test_loss_function_recovers_truth(maps):
    m, _, truth = maps
    L = eels.loss_function(m, e_min=1.0)
    sel = L.axes[-1].values(L.shape[-1]) > 1.0
    ref = truth["loss"][:, E > -1e-9][:, sel]
    ratio = L.numpy()[:, sel] / ref
    assert np.nanstd(ratio) / np.nanmean(ratio) < 1e-9          # L up to one constant for the whole map
    slit = eels.loss_function(m, slit_width=0.05, e_min=1.0)
    assert slit.metadata["kinematic_factor"] == "slit"
    with pytest.raises(InputError, match="beam"):
        eels.loss_function(eels.qe_map(m.numpy(), (Q, "1/Å"), (E, "eV")))
    with pytest.raises(InputError, match="aperture"):
        eels.loss_function(m, aperture=np.full((10,), np.nan))


def test_zlp_not_covered_is_refused(maps):
    m, full, _ = maps
    cut = full.numpy()[:, E >= 0.5]
    with pytest.raises(InputError, match="ZLP removal needs the zero-loss peak"):
        eels.remove_zlp(eels.qe_map(cut, (Q, "1/Å"), (E[E >= 0.5], "eV")))
    cut = full.numpy()[:, E >= -0.2]
    with pytest.raises(InputError, match=r"only 0.1\d* eV below the zero-loss peak"):
        eels.remove_zlp(eels.qe_map(cut, (Q, "1/Å"), (E[E >= -0.2], "eV")))
    with pytest.raises(InputError, match="method"):
        eels.remove_zlp(full, "mirror")


def test_pipeline_end_to_end_with_masked_pixels(maps):
    _, full, truth = maps
    a = full.numpy().copy()
    a[4, 600] = np.nan
    r = eels.analyse(eels.qe_map(a, (Q, "1/Å"), (E, "eV"), beam="100 kV"), window=(8.0, 30.0), pad=1)
    assert r.single.metadata["bad_pixels"]["count"] == 1 and np.isnan(r.single.numpy()[4, 600])
    assert set(r.timings) >= {"zlp", "deconvolution", "fits", "spacetime"}
    assert r.dispersion.plasmon_energy == pytest.approx(15.0, abs=0.02)
    assert r.dispersion.alpha == pytest.approx(0.4, rel=0.02)
    assert r.spacetime.chi.metadata["imag_residual"] < 1e-10
