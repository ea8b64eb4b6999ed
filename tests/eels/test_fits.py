"""Per-q Poisson fits and dispersion laws on synthetic maps with a known truth (issue 16 acceptance)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem import eels
from jaxem.eels import peaks
from jaxem.validate import InputError

Q = np.linspace(0.0, 1.0, 51)           # 1/Å (below the Al cut-off)
E = np.arange(0.0, 40.0001, 0.1)        # eV, δE = 0.1 eV (reference §4.4)


def _dispersion(m, q):
    f = eels.fit_peaks(m, (5.0, 35.0), background="none")
    assert (f.status == 0).all()
    c, s = f.parameter("center")
    return f, eels.fit_dispersion(q, c[:, 0], s[:, 0])


def test_noise_free_drude_map():
    m, truth = eels.drude_map(Q, E, seed=None, counts_per_peak=1e4)
    f, d = _dispersion(m, Q)
    assert abs(d.plasmon_energy - 15.0) < 0.02            # acceptance: E_p(0) within 0.02 eV
    assert abs(d.alpha - 0.40) / 0.40 < 0.02              # α within 2 %
    assert np.abs(f.width[:, 0] - 0.53).max() / 0.53 < 0.05   # Γ within 5 %
    # the fit is exact on its own model (no noise): far tighter than the acceptance
    assert abs(d.plasmon_energy - 15.0) < 1e-6 and abs(d.alpha - 0.4) < 1e-6


def test_poisson_drude_20_seeds_with_spread():
    """10⁴ counts per peak, 20 seeds in one vmapped fit: E_p within 0.05 eV and α within 5 % for every
    seed; the spread across seeds matches the Fisher (Cramér–Rao) uncertainties."""
    q = Q[::2]
    maps = [eels.drude_map(q, E, seed=s, counts_per_peak=1e4)[0] for s in range(20)]
    stack = eels.qe_map(np.concatenate([m.numpy() for m in maps]), (np.tile(q, 20) * 0 + np.arange(20 * q.size) * 1e-3,
                                                                   "1/Å"), (E, "eV"))
    f = eels.fit_peaks(stack, (5.0, 35.0))
    assert (f.status == 0).all()
    c, s = (a[:, 0].reshape(20, q.size) for a in f.parameter("center"))
    fits = [eels.fit_dispersion(q, c[k], s[k]) for k in range(20)]
    Ep = np.array([d.plasmon_energy for d in fits])
    al = np.array([d.alpha for d in fits])
    assert np.abs(Ep - 15.0).max() < 0.05 and np.abs(al - 0.4).max() / 0.4 < 0.05
    print(f"E_p(0): {Ep.mean():.5f} ± {Ep.std(ddof=1):.5f} eV; alpha: {al.mean():.5f} ± {al.std(ddof=1):.5f} "
          f"(fit sigma {np.mean([d.plasmon_energy_sigma for d in fits]):.5f} eV, "
          f"{np.mean([d.alpha_sigma for d in fits]):.5f})")
    # uncertainties from the Poisson likelihood describe the scatter (pulls ~ N(0, 1))
    truth = eels.bulk_dispersion(q, 15.0, 0.4)
    pulls = (c - truth) / s
    assert 0.85 < pulls.std() < 1.15 and abs(pulls.mean()) < 0.1
    sd = np.array([d.plasmon_energy_sigma for d in fits]).mean()
    assert 0.6 < Ep.std(ddof=1) / sd < 1.5


def test_thin_film_branches_5nm():
    q = np.linspace(0.01, 0.06, 21)        # qd from 0.5 to 3: both branches resolved
    m, truth = eels.film_map(q, np.arange(0.0, 25.0, 0.05), thickness=50.0, gamma=0.3, seed=None, counts_per_peak=1e4)
    f = eels.fit_peaks(m, (2.0, 20.0), n_peaks=2, background="none")
    assert (f.status == 0).all()
    c = np.sort(f.center, 1)
    assert np.abs(c[:, 1] - truth["upper"]).max() / truth["upper"].min() < 0.01
    assert np.abs(c[:, 0] - truth["lower"]).max() / truth["lower"].min() < 0.01
    s = np.take_along_axis(f.parameter("center")[1], np.argsort(f.center, 1), 1)
    film = eels.fit_film(q, c[:, 1], c[:, 0], s[:, 1], s[:, 0])
    up, lo = film.branches(q)
    assert np.abs(up / truth["upper"] - 1).max() < 0.01 and np.abs(lo / truth["lower"] - 1).max() < 0.01
    assert film.thickness == pytest.approx(50.0, rel=0.01) and film.plasmon_energy == pytest.approx(15.0, rel=1e-3)


def test_width_onset_finds_cutoff():
    q = np.linspace(0.0, 1.5, 76)
    m, truth = eels.drude_map(q, E, seed=3, counts_per_peak=1e4, cutoff=1.1)
    f = eels.fit_peaks(m, (5.0, 35.0))
    g, s = f.parameter("width")
    on = eels.width_onset(q, g[:, 0], s[:, 0])
    assert on["q_c"] == pytest.approx(1.1, abs=0.04) and on["gamma_below"] == pytest.approx(0.53, rel=0.02)


def test_iteration_shape_loglik_never_decreases():
    m, _ = eels.drude_map(Q[:8], E, seed=1, counts_per_peak=1e3)
    y = jnp.asarray(m.numpy())
    model = eels.PeakModel("drude", 1, "constant")
    theta0 = peaks.initial_guess(m.numpy(), E, model, (5.0, 35.0))
    lo, hi = peaks._bounds(model, (5.0, 35.0), 0.1)
    w = jnp.asarray(((E >= 5) & (E <= 35))[None].repeat(8, 0), float)
    st = eels.peak_fit_init(y, jnp.asarray(E), w, model, jnp.asarray(theta0))
    prev = np.asarray(st.loglik)
    for _ in range(15):
        st = eels.peak_fit_step(st, y, jnp.asarray(E), w, jnp.asarray(lo), jnp.asarray(hi))
        assert (np.asarray(st.loglik) >= prev - 1e-9).all()
        prev = np.asarray(st.loglik)
    theta, ll, cov, dec, dev, free = eels.peak_fit_result(st, y, jnp.asarray(E), w, jnp.asarray(lo), jnp.asarray(hi))
    assert np.all(np.asarray(dec) < 1e-3)


def test_model_gradients_float64():
    E_ = jnp.linspace(5.0, 30.0, 16)
    model = eels.PeakModel("drude", 1, "constant")
    theta = jnp.array([100.0, 14.0, 0.6, 2.0])
    check_grads(lambda t: peaks._model(model, t, E_), (theta,), order=1, modes=("rev",))
    mod = eels.PeakModel("pseudo_voigt", 1, "none")
    check_grads(lambda t: peaks._model(mod, t, E_), (jnp.array([10.0, 15.0, 0.7, 0.3]),), order=1, modes=("rev",))


def test_fit_errors():
    m, _ = eels.drude_map(Q[:4], E, seed=None, counts_per_peak=1e3)
    with pytest.raises(InputError, match="window"):
        eels.fit_peaks(m, (50.0, 60.0))
    with pytest.raises(InputError, match="kind"):
        eels.fit_peaks(m, (5, 30), kind="voigt")
    with pytest.raises(InputError, match="fit_dispersion"):
        eels.fit_dispersion([0.1, 0.2], [15, 15.1], None)


def test_masked_pixels_excluded_and_reported():
    m, truth = eels.drude_map(Q[:6], E, seed=None, counts_per_peak=1e4)
    a = m.numpy().copy()
    a[2, 150] = np.nan
    a[4, :] = np.nan
    mm = eels.qe_map(a, (Q[:6], "1/Å"), (E, "eV"))
    assert mm.metadata["bad_pixels"]["count"] == 1 + E.size
    f = eels.fit_peaks(mm, (5.0, 35.0), background="none")
    assert f.status[4] == peaks.STATUS["bad_input"] and np.isnan(f.center[4, 0])
    good = [0, 1, 2, 3, 5]
    assert np.abs(f.center[good, 0] - truth["plasmon_energy"][good]).max() < 1e-6
