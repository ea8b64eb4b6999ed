import numpy as np
import pytest

from jaxem.eds import spectrum as sp

E = np.arange(0.1, 12.0, 0.01)
AREAS = {"O_Ka": 3000.0, "Zn_La": 4000.0, "Zn_Lb1": 800.0, "Zn_Ka": 6000.0, "Zn_Kb": 850.0}


def test_fwhm_formula():
    assert sp.fwhm_ev(5.8987, 130.0) == pytest.approx(130.0)
    # exspy's get_FWHM_at_Energy uses the same Fiori–Newbury law
    from exspy_peer import exspy_modules

    _, _, u = exspy_modules()
    assert sp.fwhm_ev(1.0, 130.0) == pytest.approx(u.get_FWHM_at_Energy(130.0, 1.0) * 1e3, rel=1e-3)
    g = sp.gaussian_line(E, 8.63)
    assert g.sum() == pytest.approx(1.0, abs=1e-6)


def test_fit_recovers_areas_with_overlap_and_background(rng):
    y0 = sp.model_spectrum(E, AREAS, 200.0, background=40.0)
    spectra = rng.poisson(np.broadcast_to(y0, (400, E.size))).astype(float)
    lines = ["O_Ka", "Zn_La", "Zn_Ka"]
    amp, var = sp.fit_intensities(spectra, E, lines, 200.0, fit_range=(0.3, 11.5), extra_elements=())
    amp, var = np.asarray(amp), np.asarray(var)
    truth = np.array([AREAS[l] for l in lines])
    assert amp.mean(0) == pytest.approx(truth, rel=0.02)  # unbiased (Zn Lα/Lβ1 deconvolved)
    assert amp.std(0) == pytest.approx(np.sqrt(var.mean(0)), rel=0.15)  # variance estimate


def test_windows(rng):
    y0 = sp.model_spectrum(E, {"O_Ka": 3000.0, "Zn_Ka": 6000.0}, 200.0, background=40.0)
    spectra = rng.poisson(np.broadcast_to(y0, (400, E.size))).astype(float)
    net, var = sp.window_intensities(spectra, E, ["O_Ka", "Zn_Ka"])
    net, var = np.asarray(net), np.asarray(var)
    # ±1 FWHM window holds 98.1 % of a Gaussian
    assert net.mean(0) == pytest.approx(np.array([3000.0, 6000.0]) * 0.981, rel=0.03)
    assert net.std(0) == pytest.approx(np.sqrt(var.mean(0)), rel=0.15)


def test_bad_input():
    with pytest.raises(ValueError, match="channels"):
        sp.fit_intensities(np.ones((2, 5)), E, ["O_Ka"], 200.0)
    with pytest.raises(ValueError, match="unknown X-ray line"):
        sp.fit_intensities(np.ones(E.size), E, ["O_Lb"], 200.0)
    with pytest.raises(ValueError, match="outside"):
        sp.window_intensities(np.ones(E.size), E, ["Au_Ka"])


def test_full_chain_spectra_to_zeta(rng):
    """Wedge spectra (lines + Kramers background, Poisson) → model fit → ζ + absorption correction."""
    from jaxem.eds import data, synthetic, zeta

    lines, els = ["O_Ka", "Zn_Ka"], ["O", "Zn"]
    w = data.formula_weight_fractions("ZnO", els)
    mac = data.mac_matrix(lines, els)
    z = np.array([163.0, 228.0])
    dose = zeta.electron_dose(2.0, 5.0)
    t = np.array([50.0, 100.0, 200.0, 300.0])
    lam = np.asarray(synthetic.expected_counts(w, 5.606 * t * 1e-7, dose, z, mac, 22.0))
    spectra = []
    for (io, izn), tt in zip(lam, t):
        areas = {"O_Ka": io, "Zn_Ka": izn, "Zn_Kb": izn * 0.149, "Zn_La": 0.3 * izn, "Zn_Lb1": 0.03 * izn}
        spectra.append(sp.model_spectrum(E, areas, 200.0, background=5.0 * tt))
    counts = rng.poisson(np.array(spectra)).astype(float)
    inten, var = sp.fit_intensities(counts, E, lines, 200.0, fit_range=(0.3, 11.5))
    r = zeta.zeta_factor(np.asarray(inten), z, dose, data.atomic_weights(els), mac=mac, take_off_deg=22.0,
                         variance=np.asarray(var))
    o = np.asarray(r.atomic_fractions)[:, 0]
    sig = np.asarray(r.atomic_sigma)[:, 0]
    assert np.all(np.abs(o - 0.5) < 4 * sig) and np.all(np.abs(o - 0.5) < 0.01)
    assert np.asarray(r.thickness_nm(5.606)) == pytest.approx(t, rel=0.02)
