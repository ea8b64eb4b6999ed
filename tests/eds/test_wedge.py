"""The ZnO wedge study: acceptance numbers of the issue."""
import numpy as np

from jaxem.eds.wedge import zno_wedge


def test_wedge_acceptance_noisy_profile():
    r = zno_wedge(seed=0, n_points=61)
    t, ok = r["thickness_nm"], r["status"] == 0
    assert r["status"][0] == 1 and np.all(ok[1:])  # t = 0: no signal, flagged
    zo = r["o_at"]["zeta + AC"][ok]
    assert np.all(np.abs(zo - 50) < 4 * r["o_sigma"][ok]) and abs(np.mean(zo) - 50) < 0.3
    assert np.all(np.abs(r["thickness_zeta_nm"][ok] / t[ok] - 1) < 0.05)
    i200 = np.argmin(np.abs(t - 200))
    # standard-based CL (Zn Kα + O Kα) underestimates O by several at.% at 200 nm
    assert 50 - r["o_at"]["CL standard"][i200] > 10


def test_wedge_acceptance_noisy_10s_profile():
    # 1 nA × 10 s per profile point: ζ within 1 at.% and thickness within 2 % at every t ≤ 300 nm
    r = zno_wedge(seed=0, n_points=61, live_time_s=10.0)
    t, ok = r["thickness_nm"], r["status"] == 0
    assert np.max(np.abs(r["o_at"]["zeta + AC"][ok] - 50)) < 1.0
    assert np.max(np.abs(r["thickness_zeta_nm"][ok] / t[ok] - 1)) < 0.02
    i200 = np.argmin(np.abs(t - 200))
    assert 10 < 50 - r["o_at"]["CL standard"][i200] < 20  # notes §A.4: 34.7 at.% at 22°


def test_wedge_acceptance_noise_free():
    for toa in (20.0, 25.0):
        r = zno_wedge(n_points=61, toa_true=toa, noise=False)
        ok = r["status"] == 0
        assert np.max(np.abs(r["o_at"]["zeta + AC"][ok] - 50)) < 1.0
        assert np.max(np.abs(r["thickness_zeta_nm"][ok] / r["thickness_nm"][ok] - 1)) < 0.02
