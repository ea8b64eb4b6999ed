"""Time-resolved observables after an excitation (issue 15; reference note §2.7 items 4 and 7):

* time-resolved TDS of a standing-wave excitation of a harmonic Ni model: the ellipse intensity around
  G + q* oscillates at 2ω (|Q(t)|² of a standing wave) and decays with the mode energy;
* time-resolved TACAW (short-time spectra) of the same excited trajectories: the line at ħω follows the
  mode energy in time, each window's resolution is reported;
* SiC: exciting a Γ optic mode with the FTE operator, the energy flows into the acoustic branches while NVE
  keeps the total energy within its integration error.

The harmonic model cannot relax by itself, so the excited pair is given the exact motion of a damped
oscillator, Q(t) = A e^{iφ} e^{−γt} cos(ω_d t) (ω_d² = ω² − γ²): its energy decays with τ_E = 1/(2γ); the
other modes move thermally (analytic harmonic trajectory). Each copy has its own spatial phase φ and
background, so the ensemble TDS holds the excited mode incoherently (as the FTE ensemble does)."""
import math

import jax
import numpy as np
import pytest
from scipy.optimize import curve_fit

from jaxem.grid import Grid
from jaxem.phonons import FrameKernel, energy_resolution, fte, mode_projector, modal, stft
from jaxem.phonons.frfpms import ellipse_mask, region_intensities
from jaxem.phonons.modes import AMU_A2_FS2
from jaxem.propagate import plane_wave

from .conftest import cubic, needs_lammps

pytestmark = needs_lammps
A = 3.52
DT, N_T, N_COPIES, TAU_E = 10.0, 256, 8, 600.0  # fs, frames, copies, mode-energy decay time [fs]


@pytest.fixture(scope="module")
def standing():
    """(projector, kernel, positions (copies, t, N, 3), mode energy E(t) [eV] of the pair, ω [rad/fs],
    G + q* (qy, qx) [1/Å], ψ (copies, t, ny, nx))."""
    from jaxem.phonons import harmonic_phonons

    jax.config.update("jax_enable_x64", True)
    h = harmonic_phonons(cubic("Ni", A), (2, 2, 2), potential="Ni", primitive="F")
    p = fte.paired_projector(mode_projector(h, "float64"))
    qc = np.asarray(p.qpoints) @ np.linalg.inv(np.asarray(h.phonopy.primitive.cell)).T  # Cartesian [1/Å]
    iq = int(np.flatnonzero(np.all(np.isclose(qc, [1 / A, 0, 0]) | np.isclose(qc, [-1 / A, 0, 0]), axis=1)
                            & ~np.isclose(qc[:, 0], 0))[0])  # an X point along x
    jq = int(np.flatnonzero(np.all(np.isclose(qc, -qc[iq]) | np.isclose(qc, qc[iq]), axis=1))[-1])
    branch = 2  # LA(X): polarisation along x
    w = float(p.omega[iq, branch])
    sel = np.zeros(p.frequencies.shape, bool)
    sel[[iq, jq], branch] = True
    gamma = 1 / (2 * TAU_E)
    wd = math.sqrt(w * w - gamma * gamma)
    amp = math.sqrt(2 * 20 * fte.KB_EV * 300 / AMU_A2_FS2) / w  # 20 k_BT per mode of the pair at t = 0
    t = np.arange(N_T) * DT
    env = amp * np.exp(-gamma * t)
    qt = env * np.cos(wd * t)
    pt = env * (-gamma * np.cos(wd * t) - wd * np.sin(wd * t))
    rng = np.random.default_rng(0)
    pos, energy = [], []
    for c in range(N_COPIES):
        bg = np.asarray(modal.harmonic_trajectory(jax.random.key(c), p, 300, N_T, DT, modes=~sel))
        phase = np.exp(1j * rng.uniform(0, 2 * math.pi))
        Q = np.zeros((N_T,) + sel.shape, complex)
        P = np.zeros_like(Q)
        Q[:, iq, branch], P[:, iq, branch] = phase * qt, phase * pt
        Q[:, jq, branch], P[:, jq, branch] = np.conj(phase) * qt, np.conj(phase) * pt
        u = np.asarray(p.displacements(Q))
        v = np.asarray(p.velocities(P)) * 1e3  # Å/ps
        pos.append(bg + u)
        # the pair's energy from the mode projection of the excited motion (what FTERun.mode_energy records)
        E = np.asarray(fte.mode_state(p, np.asarray(p.positions) + u, v)[2])
        energy.append(E[:, sel].mean(-1))
    pos = np.stack(pos)
    s = h.supercell
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(32, 32))
    k = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]))
    g_q = (0.0, 3 / A)  # G = (2/a, 0) + q* = (1/a, 0): Q ∥ ε_LA
    return p, k, pos, np.mean(energy, 0), wd, g_q


def _fit_decay(t, y):
    """τ of y = B + C e^{−t/τ}(1 + cos(2ω t + φ)) by least squares (ω from the FFT peak)."""
    f = np.fft.rfftfreq(len(t), t[1] - t[0])
    spec = np.abs(np.fft.rfft(y - y.mean()))
    f2 = f[np.argmax(np.where(f > 1e-3, spec, 0))]
    model = lambda t, b, c, tau, w2, ph: b + c * np.exp(-t / tau) * (1 + np.cos(w2 * t + ph))  # noqa: E731
    popt, _ = curve_fit(model, t, y, p0=[y[-20:].mean(), (y[:10].max() - y[-20:].mean()) / 2, 300.0,
                                        2 * math.pi * f2, 0.0], maxfev=20000)
    return popt[2], popt[3]


def test_standing_wave_tds_oscillates_at_twice_omega_and_decays_with_the_mode_energy(standing):
    p, k, pos, energy, wd, g_q = standing
    t = np.arange(N_T) * DT
    # the mode energy decays with τ_E (log-linear fit over the run; the ripple at 2ω averages out)
    tau_e = -1 / np.polyfit(t, np.log(energy), 1)[0]
    assert tau_e == pytest.approx(TAU_E, rel=0.02)
    tds = np.asarray(fte.time_resolved_tds(k, pos))
    mask = ellipse_mask(k.grid, g_q, (0.1, 0.1))
    i_e = np.asarray(region_intensities(tds, mask[None]))[:, 0]
    # FFT of I_E(t): the peak above the slow envelope is at 2ω within one bin, and there is no line at ω
    f = np.fft.rfftfreq(N_T, DT)  # 1/fs
    spec = np.abs(np.fft.rfft((i_e - i_e.mean()) * np.hanning(N_T))) ** 2
    band = f > 0.25 * wd / (2 * math.pi)
    f_peak = f[band][np.argmax(spec[band])]
    assert abs(f_peak - 2 * wd / (2 * math.pi)) <= f[1]
    i_w = int(np.argmin(np.abs(f - wd / (2 * math.pi))))
    assert spec[i_w - 1:i_w + 2].max() < 0.05 * spec[band].max()
    # the oscillating ellipse intensity decays with the mode energy: τ within 20 %
    tau_i, w2 = _fit_decay(t, i_e)
    assert tau_i == pytest.approx(tau_e, rel=0.2)
    assert abs(w2) == pytest.approx(2 * wd, rel=0.02)


def test_short_time_tacaw_follows_the_excited_line(standing):
    """stft of Ψ(G + q*, t) (one pixel, incoherent mean over copies): the line at ħω_d sits within one
    window resolution of the mode frequency, its intensity decays with the mode energy (τ within 20 %),
    and each window's resolution is the Hann FWHM 1.44 h/T."""
    p, k, pos, energy, wd, g_q = standing
    psi = np.asarray(k(pos.reshape((-1,) + pos.shape[2:]))).reshape(pos.shape[:2] + k.grid.gpts)
    iy, ix = (int(round(g * e)) % n for g, e, n in zip(g_q, k.grid.extent, k.grid.gpts))
    length = 640.0
    times, en, spec, res = stft(psi[:, :, iy, ix].T, DT, length, hop=160.0)  # (n_win, n_E, copies)
    s = np.asarray(spec).mean(-1)
    assert res == pytest.approx(energy_resolution("hann", length), rel=1e-12)
    assert res == pytest.approx(1.44 * 4.135667696e3 / length, rel=0.01)  # h = 4.1357 meV·ps
    e_mode = wd / (2 * math.pi) * 4.135667696e3  # meV
    line = np.abs(np.abs(en) - e_mode) <= res / 2
    peak = en[np.argmax(s[0] * (en > 2))]
    assert abs(peak - e_mode) <= res / 2
    intensity = s[:, line].sum(1)
    tau_line = -1 / np.polyfit(times, np.log(intensity), 1)[0]
    tau_e = -1 / np.polyfit(np.arange(N_T) * DT, np.log(energy), 1)[0]
    assert tau_line == pytest.approx(tau_e, rel=0.2)
    assert len(times) == (N_T * DT - length) // 160 + 1


def test_sic_optic_excitation_energy_flows_into_the_acoustic_branches(sic_small):
    """3C-SiC (Vashishta, 64 atoms): a Γ optic mode set to 30 k_BT in 8 thermal copies at 300 K, then NVE
    (LAMMPS). The harmonic energy of the acoustic branches (mean over copies) rises monotonically over
    consecutive 100-fs blocks and the optic branches lose, while the total energy of each copy stays within
    the NVE integration error; the optic loss is taken up by the acoustic gain (harmonic bookkeeping,
    within 40 %: the anharmonic coupling energy itself is not in either set)."""
    p = fte.paired_projector(mode_projector(sic_small, "float64"))
    sets = {k_: v for k_, v in modal.branch_sets(p).items() if k_ in ("acoustic", "optic")}
    kt = fte.KB_EV * 300
    run = fte.fte_ensemble(sic_small.supercell, "SiC", p, [0.0, 0.0, 0.0], 3, 30 * kt, temperature=300,
                           n_copies=8, seed=2, steps=600, dump_every=10, equilibration_steps=300, sets=sets)
    ac = np.asarray(run.set_energies["acoustic"]).mean(0)
    op = np.asarray(run.set_energies["optic"]).mean(0)
    blocks = lambda e: e[1:].reshape(6, -1).mean(1)  # noqa: E731 - six 100-fs blocks after t = 0
    b_ac, b_op = blocks(ac) - ac[0], blocks(op) - op[0]
    sem = np.asarray(run.set_energies["acoustic"])[:, 1:].reshape(8, 6, -1).mean(2).std(0) / math.sqrt(8)
    assert np.all(np.diff(b_ac) > -2 * sem[1:]), (b_ac / kt, sem / kt)  # monotone rise within noise
    assert b_ac[-1] > 5 * kt and b_ac[-1] > b_ac[0] + 3 * kt
    assert b_op[-1] < -5 * kt
    assert -b_op[-1] == pytest.approx(b_ac[-1], rel=0.4)
    # NVE: the total energy only fluctuates (velocity Verlet, 1 fs) — no drift, and far less than what moved
    inj = float(np.mean(run.injected))
    assert np.ptp(run.total_energy, axis=1).max() < 0.02 * inj
    slopes = [np.polyfit(run.times, e, 1)[0] * run.times[-1] for e in run.total_energy]
    assert np.abs(slopes).max() < 0.01 * inj
