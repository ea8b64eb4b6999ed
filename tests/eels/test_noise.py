"""Noise and resolution in the space–time picture (issue 16 follow-up): the Poisson σ of L against the
scatter over seeds, the ZLP's characteristic function against the Gaussian closed form, intrinsic widths
from fits with the ZLP convolved in, and the packet of a noisy, ZLP-broadened map (which the raw
transform gets wrong)."""
import numpy as np
import pytest

from jaxem import eels
from jaxem.eels import noise
from jaxem.measurement import Axis, Measurement
from jaxem.validate import InputError, InputTypeError

HBAR = eels.HBAR


def test_resolution_factor_gaussian_closed_form():
    """A Gaussian ZLP of FWHM w centred at E_c has Z(t) = e^{−σ²t²/2ħ²}·e^{−iE_c t/ħ}: the correction
    c = Z*/(|Z|² + ε²) times Z is |Z|²/(|Z|² + ε²)."""
    dE, w, Ec = 0.02, 0.25, 0.013
    E = -3.0 + dE * np.arange(400)
    sig = w / (2 * np.sqrt(2 * np.log(2)))
    z = np.exp(-0.5 * ((E - Ec) / sig) ** 2)
    kern, e0, step = noise.resolution_kernel(Measurement(z[None].repeat(3, 0), (Axis("q", 0.1, "1/Å"),
                                                                                  Axis("E", dE, "eV", E[0]))))
    assert kern.sum() == pytest.approx(1.0) and e0 == pytest.approx(E[0])
    corr, absZ, t = noise.resolution_factor(kern, e0, step, 4096, dE, floor=0.05)
    Zt = np.exp(-0.5 * (sig * t / HBAR) ** 2) * np.exp(-1j * Ec * t / HBAR)
    sel = np.abs(t) < 20
    np.testing.assert_allclose(absZ[sel], np.abs(Zt[sel]), atol=1e-9)
    np.testing.assert_allclose((corr * Zt)[sel], (np.abs(Zt) ** 2 / (np.abs(Zt) ** 2 + 0.05 ** 2))[sel], atol=1e-9)
    with pytest.raises(InputError, match="resolution has an energy step of 0.02 eV, the loss function 0.05"):
        noise.resolution_factor(kern, e0, step, 4096, 0.05)
    with pytest.raises(InputTypeError, match="resolution must be a ZLP Measurement"):
        noise.resolution_kernel(z)


Q = np.linspace(0.1, 1.0, 10)
E = np.arange(-4.0, 40.0, 0.05)


@pytest.fixture(scope="module")
def noisy():
    kw = dict(counts_per_peak=None, row_max=2e4, zlp_counts=6e4, zlp_fwhm=0.3, beam="100 kV")
    return [eels.drude_map(Q, E, seed=s, **kw)[0] for s in range(24)], eels.drude_map(Q, E, seed=None, **kw)[0]


def test_loss_sigma_matches_scatter_over_seeds(noisy):
    """σ_L propagated from the Poisson counts (one map) against the standard deviation of L over 24
    independent maps, through ZLP removal, Fourier-log deconvolution and the kinematic factor."""
    maps, clean = noisy
    Ls = []
    for m in maps:
        z, _ = eels.remove_zlp(m)
        Ls.append(eels.loss_function(eels.deconvolve(m, z), e_min=2.0).numpy())
    Ls = np.array(Ls)
    L0 = eels.loss_function(clean, e_min=2.0)         # only its axes are used
    sig = noise.loss_sigma(maps[0], L0, np.ones(Q.size))
    El = L0.axes[-1].values(L0.shape[-1])
    band = (El > 12) & (El < 25)                    # the plasmon: counts well above 0
    ratio = Ls.std(0, ddof=1)[:, band] / sig[:, band]
    assert 0.8 < np.median(ratio) < 1.25
    with pytest.raises(InputError, match="does not cover the loss grid"):
        noise.loss_sigma(eels.qe_map(maps[0].numpy()[:, :200], (Q, "1/Å"), (E[:200], "eV")), L0, np.ones(Q.size))


def test_wiener_shrink():
    L = np.array([[1.0, 5.0, np.nan]])
    M = np.array([[2.0, 2.0, 2.0]])
    s = np.array([[0.0, 2.0, 1.0]])
    est, w = noise.wiener_shrink(L, s, M)
    np.testing.assert_allclose(w, [[1.0, 0.5, 0.0]])
    np.testing.assert_allclose(est, [[1.0, 3.5, 2.0]])
    with pytest.raises(InputError, match="noise holds 2 negative"):
        noise.wiener_shrink(L, -s, M)
    with pytest.raises(InputError, match="noise weighting needs both"):
        eels.spacetime(eels.qe_map(np.ones((3, 8)), (Q[:3] * 0 + np.arange(3) * 0.1, "1/Å"),
                                   (np.arange(8) * 0.5, "eV"), quantity="loss"), noise=np.ones((3, 8)))


def test_fit_with_zlp_gives_intrinsic_width(noisy):
    _, clean = noisy
    z, _ = eels.remove_zlp(clean)
    s = eels.deconvolve(clean, z)
    broad = eels.fit_peaks(s, (6.0, 38.0))
    intr = eels.fit_peaks(s, (6.0, 38.0), resolution=z)
    assert (intr.status == 0).all()
    assert np.abs(intr.width[1:, 0] / 0.53 - 1).max() < 0.01          # Γ = 0.53 eV
    assert np.abs(broad.width[1:, 0] / 0.53 - 1).min() > 0.05          # the ZLP broadens a plain fit
    lam = intr.model_spectra(s.axes[-1].values(s.shape[-1]))
    assert lam.shape == s.shape
    with pytest.raises(InputError, match="resolution has an energy step"):
        eels.fit_peaks(s, (6.0, 38.0), resolution=Measurement(z.numpy()[:, ::2], (z.axes[0], Axis("E", 0.1, "eV", -4.0))))


def test_noisy_broadened_map_packet():
    """Benchmark map at CI size (64 q × 1024 E, 100 kV, ZLP 0.25 eV, plural scattering, Poisson noise, row
    counts falling as 1/(q² + q_E²)): the packet from :func:`eels.analyse` moves at v_g(q̄) and decays in
    2ħ/Γ within 10 %, period 0.276 fs. The raw transform of the same L (what the package did before)
    misses both."""
    q = np.linspace(0.0, 1.3, 64)
    Eb = -5.0 + 0.04 * np.arange(1024)
    m, _ = eels.drude_map(q, Eb, seed=0, counts_per_peak=None, row_max=2e5, zlp_counts=5e5, zlp_fwhm=0.25,
                          beam="100 kV")
    r = eels.analyse(m, e_min=5.0)
    tr = eels.track_packet(r.spacetime)
    vg = r.dispersion.group_velocity(tr.centre_q)
    assert tr.velocity == pytest.approx(vg, rel=0.10)
    assert tr.decay_time == pytest.approx(2 * HBAR / 0.53, rel=0.10)
    assert tr.period == pytest.approx(0.276, abs=0.01)
    raw = eels.track_packet(eels.spacetime(r.loss))
    assert abs(raw.velocity / eels.group_velocity(raw.centre_q, 0.4) - 1) > 0.2
    assert abs(raw.decay_time / (2 * HBAR / 0.53) - 1) > 0.2
    # the data path: Wiener weights and the ZLP correction are reported
    d = eels.spacetime(r.loss, resolution=r.zlp)
    assert d.chi.metadata["resolution_correction"]["t_resolved"]["value"] > 8.0
