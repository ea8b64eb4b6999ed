"""Space–time picture: round trip, realness, causality against the analytic complex Drude response,
oscillation period, envelope decay and group velocity (issue 16 acceptance)."""
import numpy as np
import pytest

from jaxem import eels
from jaxem.validate import InputError

Q = np.arange(0.0, 1.0001, 0.01)        # 1/Å
E = np.arange(0.0, 40.0001, 0.1)        # eV


def _loss(alpha=0.4):
    _, truth = eels.drude_map(Q, E, alpha=alpha, seed=None)
    return eels.qe_map(truth["loss"], (Q, "1/Å"), (E, "eV"), quantity="loss"), truth


@pytest.fixture(scope="module")
def drude():
    L, truth = _loss()
    return L, truth, eels.spacetime(L), eels.spacetime(L, window=None)


def test_round_trip_and_realness(drude):
    L, truth, st, raw = drude
    assert raw.chi.metadata["imag_residual"] < 1e-12 and st.chi.metadata["imag_residual"] < 1e-12
    back = eels.inverse_spacetime(raw)
    assert back.shape == L.shape
    assert np.abs(back.numpy() - L.numpy()).max() / L.numpy().max() < 1e-6
    # windowed: dividing the windows out recovers L where they are not tiny
    backw = eels.inverse_spacetime(st).numpy()
    inner = (Q[:, None] < 0.8) & (E[None] < 32)
    assert np.abs(backw - L.numpy())[inner].max() / L.numpy().max() < 1e-6


def test_causal_response_equals_analytic_damped_oscillator():
    """Without dispersion, ε⁻¹ − 1 = −E_p²/(E_p² − E² − iEΓ) is (minus) a damped oscillator whose causal
    Green's function is known in closed form: χ(t) = −θ(t)·(ω_p²/Ω)·e^{−Γt/2ħ}·sin(Ωt), ħΩ = √(E_p² − Γ²/4)
    [1/fs]. At x = 0 the q integral gives the factor ∫dq/2π = (2n − 1)δq/2π (no window). This checks the
    sign convention (causality), the θ(t) construction and the absolute scale at once."""
    L, _ = _loss(alpha=0.0)
    st = eels.spacetime(L, window=None, pad=2)
    t, x = st.t, st.x[0]
    i0 = int(np.argmin(np.abs(x)))
    wp, g = 15.0 / eels.HBAR, 0.53 / eels.HBAR
    Om = np.sqrt(wp ** 2 - g ** 2 / 4)
    expect = -np.where(t > 0, wp ** 2 / Om * np.exp(-g * t / 2) * np.sin(Om * t), 0.0) * (2 * Q.size - 1) * 0.01 / (
        2 * np.pi)
    got = st.chi.numpy()[i0]
    sel = (t > 0) & (t < 10)
    assert np.abs(got[sel] - expect[sel]).max() / np.abs(expect).max() < 2e-3
    assert np.abs(st.chi.numpy()[:, t < 0]).max() / np.abs(st.chi.numpy()).max() < 1e-3   # causal


def test_period_decay_velocity(drude):
    L, truth, st, _ = drude
    tr = eels.track_packet(st)
    assert tr.period == pytest.approx(0.276, abs=0.01)               # 15 eV
    assert tr.decay_time == pytest.approx(2 * eels.HBAR / 0.53, rel=0.10)
    f = eels.fit_peaks(L, (5.0, 35.0), background="none")
    d = eels.fit_dispersion(Q, f.center[:, 0], f.parameter("center")[1][:, 0])
    vg = d.group_velocity(tr.centre_q)
    assert tr.velocity == pytest.approx(vg, rel=0.10)
    # the packet travels ~20 Å before it decays (v_g · 2ħ/Γ at the centre q)
    assert 5 < vg * tr.decay_time < 40
    res = st.chi.metadata["resolution"]
    assert res["dx"]["value"] == pytest.approx(2 * np.pi / 1.0) and res["t_max"]["value"] == pytest.approx(
        2 * np.pi * eels.HBAR / 0.1)


def test_no_dispersion_standing_packet():
    L, _ = _loss(alpha=0.0)
    tr = eels.track_packet(eels.spacetime(L))
    assert abs(tr.velocity) < 1e-6 and tr.period == pytest.approx(2 * np.pi * eels.HBAR / 15.0, rel=5e-3)


def test_chi_quantity_and_3d_map():
    L, _ = _loss()
    st = eels.spacetime(L, quantity="chi")
    assert st.chi.metadata["imag_residual"] < 1e-12
    back = eels.inverse_spacetime(eels.spacetime(L, quantity="chi", window=None))
    assert np.abs(back.numpy()[1:] - L.numpy()[1:]).max() / L.numpy().max() < 1e-6
    # 3-D map (qy, qx, E), symmetric q axes
    qy = np.arange(-6, 7) * 0.1
    qq = np.hypot(qy[:, None], qy[None])
    Ep = eels.bulk_dispersion(qq, 15.0, 0.4)
    e = np.arange(0, 30.0001, 0.25)
    L3 = eels.drude_loss(e[None, None], Ep[..., None], 0.53)
    m3 = eels.qe_map(L3, ((qy, "1/Å"), (qy, "1/Å")), (e, "eV"))
    st3 = eels.spacetime(m3, window=None)
    assert st3.chi.dims == ("y", "x", "t") and st3.chi.metadata["imag_residual"] < 1e-12
    assert np.abs(eels.inverse_spacetime(st3).numpy() - L3).max() / L3.max() < 1e-6


def test_spacetime_bad_input():
    L, _ = _loss()
    a = L.numpy().copy()
    a[3, 7] = np.nan
    with pytest.raises(InputError, match="loss holds 1 NaN"):
        eels.spacetime(eels.qe_map(a, (Q, "1/Å"), (E, "eV")))
    with pytest.raises(InputError, match="energy axis must lie on the grid"):
        eels.spacetime(eels.qe_map(L.numpy(), (Q, "1/Å"), (E + 0.03, "eV")))
    with pytest.raises(InputError, match="q axis 'q'"):
        eels.spacetime(eels.qe_map(L.numpy(), (Q - 0.3, "1/Å"), (E, "eV")))
    with pytest.raises(InputError, match="quantity"):
        eels.spacetime(L, quantity="density")
