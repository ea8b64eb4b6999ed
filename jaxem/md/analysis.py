"""Thermal displacements from MD trajectories: mean-square displacements, Debye–Waller factors,
frequency band-pass filters and snapshot ensembles for frozen-phonon multislice.

The thermal displacement of atom j at time t is measured from its time-averaged position after the
centre-of-mass drift is removed:

    u_j(t) = [r_j(t) − R_cm(t)] − ⟨r_j − R_cm⟩_t,      R_cm(t) = Σ_j m_j r_j(t) / Σ_j m_j

(positions must be unwrapped). The mean-square displacement per Cartesian direction α is
⟨u_α²⟩ = ⟨u_jα(t)²⟩ over frames and the atoms of a species, and the isotropic Debye–Waller factor
is B = 8π²⟨u_α²⟩ averaged over α [Å²] (the convention of ``jaxem.structure``). The estimator is
biased low by the removed mean, by about (correlation time / run length) + 1/N; classical MD gives
classical amplitudes (⟨u²⟩ ∝ k_B T / mω²), which underestimate quantum zero-point motion for stiff
crystals such as diamond at room temperature.

Band-pass: the displacements are Fourier transformed over time, multiplied by a Gaussian window
exp(−(|f| − f₀)² / 2w²) that is symmetric in ±f₀ (so the result stays real) and transformed back;
a pure sinusoid at f₀ passes unchanged. Frequencies are in THz (1 THz ≙ 4.1357 meV).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from .trajectory import Trajectory

THZ_TO_MEV = 4.135667696  # h·(1 THz) [meV], CODATA 2018


def _masses(numbers):
    from ase.data import atomic_masses

    return np.asarray(atomic_masses)[np.asarray(numbers)]


def thermal_displacements(positions, masses):
    """Displacements u (F, N, 3) [Å] from the time-averaged positions after removing the centre of
    mass drift (pure, jit-compiled; concrete inputs are checked first).

    Args:
        positions: (F, N, 3) unwrapped positions [Å].
        masses: (N,) weights of the centre of mass (atomic masses [u], or ones), > 0 in total.
    """
    if not validate.is_traced((positions, masses)):
        validate.array(positions, "positions", ndim=3, shape=(3,), kind="real", units="Å")
        validate.array(masses, "masses", shape=(np.shape(positions)[1],), ndim=1, kind="real", units="u",
                       nonnegative=True)
        if not float(np.sum(np.asarray(masses))) > 0:
            raise validate.InputError("masses must have a positive sum (they weight the centre of mass)")
    return _thermal_displacements(positions, masses)


@jax.jit
def _thermal_displacements(positions, masses):
    w = masses / jnp.sum(masses)
    com = jnp.einsum("n,fnk->fk", w, positions)
    rel = positions - com[:, None, :]
    return rel - jnp.mean(rel, axis=0, keepdims=True)


def _checked(traj: Trajectory):
    if not isinstance(traj, Trajectory):
        raise TypeError(f"expected a jaxem.md.Trajectory, got {type(traj).__name__}")
    if traj.n_frames < 2:
        raise ValueError(f"need at least 2 frames for displacement statistics, got {traj.n_frames}")
    if not traj.unwrapped:
        traj = traj.unwrap()
    return traj


@validate.typed
def displacements(traj: Trajectory) -> np.ndarray:
    """(F, N, 3) thermal displacements [Å] of a trajectory (unwrapped first if needed)."""
    traj = _checked(traj)
    pos = jnp.asarray(traj.positions)  # float64 when x64 is enabled, else float32
    return np.asarray(_thermal_displacements(pos, jnp.asarray(_masses(traj.numbers), pos.dtype)))


@validate.typed
def msd_per_atom(traj: Trajectory) -> np.ndarray:
    """(N, 3) mean-square displacement ⟨u_α²⟩ of each atom per Cartesian direction [Å²]."""
    return np.mean(displacements(traj) ** 2, axis=0)


@validate.typed
def msd_per_species(traj: Trajectory) -> dict:
    """{symbol: (3,) ⟨u_α²⟩ [Å²]} averaged over frames and the atoms of each species."""
    from ..structure import symbol

    m = msd_per_atom(traj)
    nums = np.asarray(traj.numbers)
    return {symbol(z): m[nums == z].mean(axis=0) for z in traj.species}


@validate.typed
def msd_vs_time(traj: Trajectory) -> dict:
    """{symbol: (F, 3)} instantaneous ⟨u_α²⟩(t) [Å²] averaged over the atoms of each species (its time
    average is :func:`msd_per_species`)."""
    from ..structure import symbol

    u2 = displacements(traj) ** 2
    nums = np.asarray(traj.numbers)
    return {symbol(z): u2[:, nums == z].mean(axis=1) for z in traj.species}


def b_factor(u2) -> np.ndarray:
    """Isotropic Debye–Waller factor B = 8π² mean_α⟨u_α²⟩ [Å²] from ⟨u_α²⟩ (…, 3) [Å²]."""
    from .. import validate

    u2 = np.asarray(validate.array(u2, "u2", min_ndim=1, kind="real", units="Å²"), np.float64)
    if u2.shape[-1] != 3:
        raise validate.InputError(f"u2 must have a last axis of length 3 (x, y, z), got shape {u2.shape}")
    return 8 * math.pi**2 * u2.mean(axis=-1)


@validate.typed
def debye_waller_factors(traj: Trajectory) -> dict:
    """{symbol: B [Å²]} from the trajectory's mean-square displacements."""
    return {s: float(b_factor(v)) for s, v in msd_per_species(traj).items()}


def gaussian_band(frequencies, center, width):
    """Gaussian pass band exp(−(|f| − f₀)²/2w²), symmetric in ±f₀ (frequencies, f₀, w in the same units)."""
    return jnp.exp(-((jnp.abs(frequencies) - center) ** 2) / (2 * width**2))


def bandpass(u, frame_interval_fs, center_thz, width_thz):
    """Band-pass filter (pure, jit-compiled; concrete inputs are checked first) of a time series
    along axis 0.

    Args:
        u: (F, …) real displacements [Å] sampled every ``frame_interval_fs`` [fs].
        frame_interval_fs: time between samples [fs] (> 0).
        center_thz: centre frequency f₀ [THz] (≥ 0).
        width_thz: Gaussian standard deviation w [THz] (> 0).
    Returns:
        (F, …) filtered real displacements [Å], same dtype.
    """
    if not validate.is_traced(u):
        validate.array(u, "u", min_ndim=1, kind="real", units="Å")
    validate.scalar(frame_interval_fs, "frame_interval_fs", "fs", positive=True)
    validate.scalar(center_thz, "center_thz", "THz", nonnegative=True)
    validate.scalar(width_thz, "width_thz", "THz", positive=True)
    return _bandpass(u, frame_interval_fs, center_thz, width_thz)


@jax.jit
def _bandpass(u, frame_interval_fs, center_thz, width_thz):
    f = jnp.fft.fftfreq(u.shape[0], d=frame_interval_fs) * 1000.0  # 1/fs → THz
    shape = (-1,) + (1,) * (u.ndim - 1)
    window = gaussian_band(f, center_thz, width_thz).reshape(shape)
    return jnp.fft.ifft(jnp.fft.fft(u, axis=0) * window, axis=0).real.astype(u.dtype)


@validate.typed
def bandpass_trajectory(traj: Trajectory, center_thz: float, width_thz: float) -> Trajectory:
    """Trajectory whose displacements keep only vibrations near ±``center_thz`` [THz] (Gaussian width
    ``width_thz`` [THz]): positions = time-averaged positions (centre of mass fixed) + filtered u.

    The frames must be evenly spaced and ``traj.timestep_fs`` known. The Nyquist frequency is
    1/(2Δt); the resolution 1/(F·Δt).
    """
    from .. import validate

    traj = _checked(traj)
    center_thz = validate.scalar(center_thz, "center_thz", "THz", nonnegative=True)
    width_thz = validate.scalar(width_thz, "width_thz", "THz", positive=True)
    dt = traj.frame_interval_fs
    nyquist = 1000.0 / (2 * dt)
    if center_thz > nyquist:
        raise ValueError(f"center_thz = {center_thz} THz exceeds the Nyquist frequency {nyquist:.4g} THz of frames "
                         f"every {dt} fs")
    u = displacements(traj)
    pos = np.asarray(traj.positions)
    w = _masses(traj.numbers) / _masses(traj.numbers).sum()
    com = np.einsum("n,fnk->fk", w, pos)
    reference = (pos - com[:, None]).mean(axis=0) + com[0]  # time-averaged positions, COM at frame 0
    uf = np.asarray(_bandpass(jnp.asarray(u), dt, center_thz, width_thz))
    return traj.replace(positions=reference[None] + uf, velocities=None)


def select_frames(n_frames: int, n: int, burn_in: int = 0, stride: int | None = None) -> np.ndarray:
    """Indices of ``n`` frames after ``burn_in``: every ``stride``-th frame, or evenly spread when
    ``stride`` is None. Raises ``ValueError`` when the trajectory is too short."""
    n_frames = validate.integer(n_frames, "n_frames", lo=1)
    n = validate.integer(n, "n", lo=1)
    validate.allocation(n, "n", n)
    burn_in = validate.integer(burn_in, "burn_in", lo=0)
    if not burn_in < n_frames:
        raise validate.InputError(f"burn_in must lie in [0, {n_frames}) frames, got {burn_in!r}")
    avail = n_frames - burn_in
    if stride is None:
        if n > avail:
            raise ValueError(f"asked for {n} snapshots but only {avail} frames follow burn_in={burn_in}")
        return burn_in + np.round(np.linspace(0, avail - 1, n)).astype(np.int64)
    stride = validate.integer(stride, "stride", lo=1)
    idx = np.arange(burn_in, n_frames, stride)
    if len(idx) < n:
        raise ValueError(f"asked for {n} snapshots with stride {stride} after burn_in={burn_in}, but only "
                         f"{len(idx)} are available ({n_frames} frames)")
    return idx[:n]


@validate.typed
def snapshots_as_ensemble(traj: Trajectory, n: int, burn_in: int = 0, stride: int | None = None,
                          wrap: bool = True, precision=None):
    """Stacked positions (n, atoms, 3) [Å] of ``n`` snapshots, ready for a frozen-phonon ensemble.

    Positions are relative to the cell origin and (``wrap``) mapped into the cell, so they replace
    ``Structure.positions`` of ``traj.frame(0)`` directly (e.g. ``vmap`` over a potential builder).

    Args:
        traj: trajectory with a fixed cell (NVE/NVT).
        n: number of snapshots.
        burn_in: frames skipped at the start.
        stride: take every ``stride``-th frame (default: spread evenly over the rest).
        wrap: map atoms into the cell.
        precision: 'float32' (default) or 'float64' (or any alias of ``accel.PRECISION_ALIASES``).
    Returns:
        jax array (n, atoms, 3) [Å].
    """
    from ..accel import dtypes

    if not isinstance(traj, Trajectory):
        raise TypeError(f"expected a jaxem.md.Trajectory, got {type(traj).__name__}")
    idx = select_frames(traj.n_frames, n, burn_in, stride)
    cells = np.asarray(traj.cells)[idx]
    if not np.allclose(cells, cells[0], atol=1e-6):
        raise ValueError("snapshots_as_ensemble needs a fixed cell (NVE/NVT); the cell changes between frames")
    pos = np.asarray(traj.positions)[idx] - np.asarray(traj.origins)[idx][:, None, :]
    if wrap:
        s = (pos @ np.linalg.inv(cells[0])) % 1.0
        pos = s @ cells[0]
    return jnp.asarray(pos, dtypes(precision)[0])
