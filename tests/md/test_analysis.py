import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem.md import (Trajectory, b_factor, bandpass, bandpass_trajectory, debye_waller_factors, msd_per_atom,
                      msd_per_species, msd_vs_time, select_frames, snapshots_as_ensemble)

U2 = {"C": np.array([0.002, 0.003, 0.004]), "Si": np.array([0.006, 0.005, 0.007])}  # ⟨u_α²⟩ [Å²]


def _gaussian_trajectory(rng, nf=400, n_each=300, drift=(0.01, -0.02, 0.005), wrap=False):
    cell = np.diag([20.0, 21.0, 22.0])
    sites = rng.uniform(0, 1, (2 * n_each, 3)) @ cell
    numbers = np.array([6] * n_each + [14] * n_each)
    sigma = np.concatenate([np.tile(np.sqrt(U2["C"]), (n_each, 1)), np.tile(np.sqrt(U2["Si"]), (n_each, 1))])
    u = rng.standard_normal((nf, 2 * n_each, 3)) * sigma
    pos = sites + u + np.arange(nf)[:, None, None] * np.asarray(drift)  # uniform drift of everything
    tr = Trajectory.create(pos, numbers, cell, timestep_fs=1.0, unwrapped=True)
    if wrap:
        tr = Trajectory.create(tr.wrapped_positions(), numbers, cell, timestep_fs=1.0, unwrapped=False)
    return tr


def test_msd_per_species_and_direction_matches_known_gaussian_displacements(rng):
    tr = _gaussian_trajectory(rng)
    msd = msd_per_species(tr)
    for s, ref in U2.items():
        assert np.allclose(msd[s], ref, rtol=0.02), (s, msd[s], ref)
    B = debye_waller_factors(tr)
    for s, ref in U2.items():
        assert B[s] == pytest.approx(8 * math.pi**2 * ref.mean(), rel=0.02)


def test_msd_of_wrapped_trajectory_is_unwrapped_first(rng):
    a = _gaussian_trajectory(np.random.default_rng(5), nf=60, n_each=40, drift=(0.3, 0.2, -0.25))
    b = _gaussian_trajectory(np.random.default_rng(5), nf=60, n_each=40, drift=(0.3, 0.2, -0.25), wrap=True)
    assert np.ptp(a.positions[:, :, 0]) > 20  # atoms do cross the cell
    assert np.allclose(msd_per_atom(a), msd_per_atom(b), atol=1e-12)


def test_msd_vs_time_averages_to_msd_and_b_factor_convention(rng):
    tr = _gaussian_trajectory(rng, nf=50, n_each=30)
    t = msd_vs_time(tr)
    m = msd_per_species(tr)
    assert t["C"].shape == (50, 3)
    assert np.allclose(t["C"].mean(axis=0), m["C"]) and np.allclose(t["Si"].mean(axis=0), m["Si"])
    assert b_factor([0.01, 0.01, 0.01]) == pytest.approx(8 * math.pi**2 * 0.01)
    with pytest.raises(ValueError, match="last axis"):
        b_factor([0.01, 0.01])
    with pytest.raises(ValueError, match="at least 2 frames"):
        msd_per_species(tr[0])


def _two_mode_signal(nf=512, dt=2.0, f1=5.0, f2=20.0):
    t = np.arange(nf) * dt  # fs
    # put both frequencies on the FFT grid: f = k / (nf dt) [1/fs]
    f1 = round(f1 / 1000 * nf * dt) / (nf * dt) * 1000
    f2 = round(f2 / 1000 * nf * dt) / (nf * dt) * 1000
    a = 0.05 * np.sin(2 * np.pi * f1 / 1000 * t + 0.3)
    b = 0.02 * np.cos(2 * np.pi * f2 / 1000 * t)
    return a, b, f1, f2, dt


def test_bandpass_separates_two_vibrations():
    a, b, f1, f2, dt = _two_mode_signal()
    u = jnp.asarray((a + b)[:, None])
    lo = np.asarray(bandpass(u, dt, f1, 1.0))[:, 0]
    hi = np.asarray(bandpass(u, dt, f2, 1.0))[:, 0]
    assert np.allclose(lo, a, atol=1e-8) and np.allclose(hi, b, atol=1e-8)
    low_pass = np.asarray(bandpass(u, dt, 0.0, 1e6))[:, 0]  # infinitely wide window = identity
    assert np.allclose(low_pass, a + b, atol=1e-9)
    assert bandpass(u.astype(jnp.float32), dt, f1, 1.0).dtype == jnp.float32


@given(seed=st.integers(0, 10_000), center=st.floats(0.0, 200.0), width=st.floats(0.5, 50.0))
def test_bandpass_never_adds_energy_and_stays_real(seed, center, width):
    u = np.random.default_rng(seed).normal(size=(64, 3))
    out = np.asarray(bandpass(jnp.asarray(u), 2.0, center, width))
    assert np.isrealobj(out) and out.shape == u.shape
    assert np.sum(out**2) <= np.sum(u**2) * (1 + 1e-9)


def test_bandpass_trajectory_keeps_one_mode():
    a, b, f1, f2, dt = _two_mode_signal(nf=256)
    nf = len(a)
    pos = np.zeros((nf, 2, 3))
    pos[:, 0, 0] = 2.0 + a
    pos[:, 1, 1] = 3.0 + b
    tr = Trajectory.create(pos, ["Si", "Si"], [10.0, 10.0, 10.0], timesteps=np.arange(nf) * 4, timestep_fs=0.5,
                           unwrapped=True)
    out = bandpass_trajectory(tr, f1, 1.0)
    m = msd_per_atom(out)
    # equal masses: centre-of-mass removal halves each mode and shares it between the two atoms
    assert m[0, 0] == pytest.approx(np.mean((a / 2) ** 2), rel=1e-6)  # the f1 mode survives
    assert m[1, 1] < 1e-8 * m[0, 0]  # the f2 mode is removed
    assert msd_per_atom(tr)[1, 1] == pytest.approx(np.mean((b / 2) ** 2), rel=1e-6)
    with pytest.raises(ValueError, match="Nyquist"):
        bandpass_trajectory(tr, 1000.0, 1.0)
    with pytest.raises(ValueError, match="width_thz"):
        bandpass_trajectory(tr, 1.0, 0.0)


def test_select_frames_and_snapshot_ensemble(rng):
    assert select_frames(100, 5, burn_in=20).tolist() == [20, 40, 60, 79, 99]
    assert select_frames(100, 3, burn_in=10, stride=7).tolist() == [10, 17, 24]
    with pytest.raises(ValueError, match="only 80 frames"):
        select_frames(100, 81, burn_in=20)
    with pytest.raises(ValueError, match="stride 50"):
        select_frames(100, 3, stride=50)
    with pytest.raises(ValueError, match="burn_in"):
        select_frames(10, 2, burn_in=10)
    tr = _gaussian_trajectory(rng, nf=30, n_each=10, drift=(1.0, 0, 0))
    ens = snapshots_as_ensemble(tr, 4, burn_in=2)
    assert ens.shape == (4, 20, 3) and ens.dtype == jnp.float32
    assert np.all((np.asarray(ens) >= 0) & (np.asarray(ens) < np.array([20.0, 21.0, 22.0])))
    ref = tr.frame(int(select_frames(30, 4, 2)[1]))
    assert np.allclose(np.asarray(ens[1]), np.asarray(ref.positions), atol=1e-5)
    assert snapshots_as_ensemble(tr, 2, precision="float64").dtype == jnp.float64
    npt = tr.replace(cells=tr.cells * (1 + 0.01 * np.arange(30))[:, None, None])
    with pytest.raises(ValueError, match="fixed cell"):
        snapshots_as_ensemble(npt, 3)
