"""TACAW: the time autocorrelation of auxiliary wavefunctions (Castellanos-Reyes, Zeiger & Rusz,
PRL 134, 036402 (2025)) — phonon EELS S(q, E) from the exit waves of an MD trajectory.

Each frame j of a constant-energy (NVE) trajectory gives an elastic exit wave Ψ(q, t_j)
(:mod:`jaxem.phonons.frames`). With the time mean ⟨Ψ⟩ (the elastic wave) removed,
δΨ_j = Ψ_j − ⟨Ψ⟩, the classical spectrum of a segment of N frames with window w is

    S_cl(q, E_k) = |Σ_j w_j δΨ_j e^{−2πi jk/N}|² / (N² ⟨w²⟩),     E_k = h k / (N Δt),

(numpy's forward FFT; E > 0 is energy lost by the electron, the convention of torched-TACAW), averaged
over segments. Dividing by the window power ⟨w²⟩ keeps Parseval exact for the unwindowed case:
Σ_k S_cl = (1/N) Σ_j |δΨ_j|² = ⟨|Ψ|²⟩ − |⟨Ψ⟩|², the frozen-phonon thermal diffuse intensity of
the same snapshots. The ω = 0 bin of a static crystal is then exactly empty (no elastic leakage).

The classical trajectory has a symmetric spectrum; detailed balance is restored by the harmonic
quantum factor p(E) = βE / (1 − e^{−βE}) (p(0) = 1, p(E) − p(−E) = βE, p(E)/p(−E) = e^{βE}),
evaluated on the FFT energy grid itself (not on a linspace axis). It holds for a system in thermal
equilibrium; out of equilibrium (an excited trajectory) report the classical spectrum.

Resolution: a segment of duration T = NΔt has bins of h/T and, with a window, a line width (FWHM of
|W(E)|²) of c_w·h/T — c = 0.886 (rectangular), 1.44 (Hann) — computed by
:func:`energy_resolution` for any window. The short-time transform (:func:`stft`) trades time
resolution for energy resolution by the same rule.
"""
from __future__ import annotations

import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from ..physics import BOLTZMANN, ELEMENTARY_CHARGE, PLANCK

#: h [meV·fs] (E [meV] = H_MEV_FS × f [1/fs])
H_MEV_FS = PLANCK / ELEMENTARY_CHARGE * 1e3 * 1e15
#: k_B [meV/K]
KB_MEV = BOLTZMANN / ELEMENTARY_CHARGE * 1e3

WINDOWS = ("none", "hann", "tukey")


def window(name, n: int) -> np.ndarray:
    """Periodic (DFT-even) window of ``n`` samples: "none" (rectangular), "hann", or ("tukey", α)
    with 0 ≤ α ≤ 1 (α = 1 is Hann, α = 0 rectangular)."""
    n = validate.integer(n, "n", lo=1)
    alpha = None
    if isinstance(name, (tuple, list)):
        if len(name) != 2:
            raise validate.InputError(f"window must be a name or ('tukey', alpha), got {name!r}")
        name, alpha = name
        alpha = validate.scalar(alpha, "window alpha", "", lo=0.0, hi=1.0)
    name = validate.choice(name, "window", WINDOWS)
    j = np.arange(n)
    if name == "none":
        return np.ones(n)
    if name == "hann":
        return 0.5 * (1 - np.cos(2 * np.pi * j / n))
    if alpha is None:
        alpha = 0.5
    if alpha == 0:
        return np.ones(n)
    x = j / n
    w = np.ones(n)
    edge = alpha / 2
    lo, hi = x < edge, x > 1 - edge
    w[lo] = 0.5 * (1 - np.cos(np.pi * x[lo] / edge))
    w[hi] = 0.5 * (1 - np.cos(np.pi * (1 - x[hi]) / edge))
    return w


def energy_axis(n: int, time_step) -> np.ndarray:
    """Energies [meV] of the FFT bins of ``n`` frames ``time_step`` [fs] apart, ascending (fftshifted):
    E_k = h k / (n Δt), bin width h/(nΔt) exactly."""
    n = validate.integer(n, "n", lo=2)
    dt = validate.scalar(time_step, "time_step", "fs", positive=True)
    return np.fft.fftshift(np.fft.fftfreq(n, dt)) * H_MEV_FS


def quantum_prefactor(energy, temperature):
    """p(E) = βE / (1 − e^{−βE}) for energies ``energy`` [meV] at ``temperature`` [K] (harmonic detailed
    balance; p(0) = 1 by its limit, evaluated by a series near 0). Works on NumPy and JAX arrays."""
    temperature = validate.scalar(temperature, "temperature", "K", positive=True)
    x = energy / (KB_MEV * temperature)
    xp = jnp if isinstance(x, jax.Array) else np
    small = xp.abs(x) < 1e-4
    safe = xp.where(small, 1.0, x)
    return xp.where(small, 1 + x / 2 + x * x / 12, safe / -xp.expm1(-safe))


@pytree.dataclass
class TacawSpectrum:
    """S(q, E): intensities (n_E, …q) [fraction of the beam per energy bin] on an ascending energy
    axis [meV]; ``quantum`` True when the harmonic quantum factor was applied (at ``temperature`` [K])."""

    intensity: jnp.ndarray
    energy: np.ndarray = pytree.field(static=False, units="meV")
    n_segments: int = pytree.field(static=True, default=1)
    segment_frames: int = pytree.field(static=True, default=0)
    time_step: float = pytree.field(static=True, default=0.0, units="fs")
    window_power: float = pytree.field(static=True, default=1.0)
    temperature: float | None = pytree.field(static=True, default=None, units="K")
    quantum: bool = pytree.field(static=True, default=False)

    @property
    def bin_width(self) -> float:
        """Energy bin h/(NΔt) [meV]."""
        return H_MEV_FS / (self.segment_frames * self.time_step)

    def with_quantum_factor(self, temperature) -> "TacawSpectrum":
        """Multiply by p(E) (thermal equilibrium only)."""
        if self.quantum:
            raise validate.InputError("the quantum factor was already applied to this spectrum")
        p = quantum_prefactor(jnp.asarray(self.energy), temperature)
        p = p.reshape((-1,) + (1,) * (self.intensity.ndim - 1))
        return self.replace(intensity=self.intensity * p, temperature=float(temperature), quantum=True)

    def at(self, energy) -> jnp.ndarray:
        """The spectrum in the bin nearest ``energy`` [meV]."""
        return self.intensity[int(np.argmin(np.abs(np.asarray(self.energy) - energy)))]

    def to_measurement(self, q_axes=None):
        """S(q, E) as a Measurement: energy axis [meV] first, then ``q_axes`` (Axis list) or pixel axes."""
        from ..measurement import Axis, Measurement

        e = np.asarray(self.energy)
        axes = [Axis("E", float(e[1] - e[0]), "meV", float(e[0]))]
        rest = self.intensity.shape[1:]
        axes += list(q_axes) if q_axes is not None else [Axis(f"q{i}", 1.0, "") for i in range(len(rest))]
        return Measurement(np.asarray(self.intensity), tuple(axes),
                           {"quantity": "TACAW S(q,E)", "units": "fraction of beam per bin",
                            "quantum_factor": self.quantum, "temperature": self.temperature,
                            "segments": self.n_segments, "segment_frames": self.segment_frames,
                            "time_step_fs": self.time_step})


def segment_starts(n_frames: int, segment: int, overlap: float) -> np.ndarray:
    """Start indices of segments of ``segment`` frames with fractional ``overlap`` in [0, 1)."""
    hop = max(1, int(round(segment * (1 - overlap))))
    return np.arange(0, n_frames - segment + 1, hop)


@partial(jax.jit, static_argnames=("segment",))
def _segment_power(dpsi, w, starts, segment: int):
    def one(carry, s):
        seg = jax.lax.dynamic_slice_in_dim(dpsi, s, segment, axis=0)
        f = jnp.fft.fft(seg * w.reshape((-1,) + (1,) * (seg.ndim - 1)).astype(seg.dtype), axis=0)
        return carry + (f.real ** 2 + f.imag ** 2), None

    zero = jnp.zeros((segment,) + dpsi.shape[1:], dpsi.real.dtype)
    total, _ = jax.lax.scan(one, zero, starts)
    return total


def tacaw_spectrum(psi_t, time_step=None, *, window_name="hann", segment: int | None = None, overlap: float = 0.5,
                   temperature=None, max_frequency=None, energy_step=None, temperatures=None) -> TacawSpectrum:
    """The TACAW spectrum of exit waves Ψ(q, t).

    Args:
        psi_t: (n_frames, …) complex exit waves of consecutive NVE frames (a
            :class:`~jaxem.phonons.frames.FrameWaves` carries its own ``time_step``).
        time_step: Δt between frames [fs].
        window_name: "hann" (default), "none" or ("tukey", α).
        segment: frames per segment (default: all frames, one segment); segments overlap by
            ``overlap`` and their spectra are averaged. The time mean over the whole trajectory (the
            elastic wave) is removed first.
        temperature: if given [K], the harmonic quantum factor is applied (equilibrium data only).
        max_frequency: the highest phonon frequency [THz] in the trajectory, if known: Δt above its
            Nyquist limit 1/(2 f_max) is an error (the spectrum would fold).
        energy_step: the energy bin wanted [meV]: the segment length becomes the shortest that gives
            it (:func:`resolution_for`; an error names the frames needed if the trajectory is too
            short, or if an explicit ``segment`` is too short for it).
        temperatures: instantaneous temperatures [K] of the frames (MD thermo): with ``temperature``
            (the quantum factor assumes equilibrium) a drift between the halves warns explicitly.
    Returns:
        :class:`TacawSpectrum` with ascending energies [meV].
    """
    from .frames import FrameWaves

    if isinstance(psi_t, FrameWaves):
        time_step = psi_t.time_step if time_step is None else time_step
        psi_t = psi_t.array
    validate.array(psi_t, "psi_t", kind="complex", min_ndim=1, finite=False)
    if time_step is None:
        raise validate.InputError("time_step [fs] must be given (the interval between frames)")
    dt = validate.scalar(time_step, "time_step", "fs", positive=True)
    psi = jnp.asarray(psi_t)
    if psi.ndim < 1 or not jnp.iscomplexobj(psi):
        raise validate.InputTypeError(f"psi_t must be a complex array (n_frames, …) of exit waves, got "
                                      f"{psi.dtype} of shape {psi.shape}")
    if not validate.is_traced(psi):
        validate.array(psi, "psi_t", finite=True, min_ndim=1)
    n = int(psi.shape[0])
    if n < 4:
        raise validate.InputError(f"psi_t has {n} frames; TACAW needs at least 4 (the energy bin is h/(NΔt))")
    if max_frequency is not None:
        check_nyquist(dt, max_frequency)
    if energy_step is not None:
        need = resolution_for(energy_step, dt, n)
        if segment is None:
            segment = max(need, 4)
        elif validate.integer(segment, "segment", lo=4, hi=n) < need:
            raise validate.InputError(f"segment = {segment} frames gives an energy bin of {H_MEV_FS / (segment * dt):.4g} "
                                      f"meV, coarser than energy_step = {energy_step:g} meV; use ≥ {need} frames")
    if temperatures is not None:
        temps = validate.array(temperatures, "temperatures", ndim=1, kind="real", units="K", finite=True)
        if len(temps) != n:
            raise validate.InputError(f"temperatures has {len(temps)} values for {n} frames")
        if temperature is not None:
            warn_if_not_equilibrium(temps)
    segment = n if segment is None else validate.integer(segment, "segment", lo=4, hi=n)
    overlap = validate.scalar(overlap, "overlap", "", lo=0.0, hi=0.95)
    w = window(window_name, segment)
    power = float(np.mean(w * w))
    starts = segment_starts(n, segment, overlap)
    dpsi = psi - jnp.mean(psi, axis=0)
    total = _segment_power(dpsi, jnp.asarray(w, psi.real.dtype), jnp.asarray(starts, jnp.int32), segment)
    s = jnp.fft.fftshift(total, axes=0) / (len(starts) * segment ** 2 * power)
    spec = TacawSpectrum(s, energy_axis(segment, dt), len(starts), segment, dt, power)
    if temperature is not None:
        spec = spec.with_quantum_factor(temperature)
    return spec


def check_nyquist(time_step, max_frequency, name: str = "time_step") -> None:
    """An error when frames ``time_step`` [fs] apart cannot sample the highest phonon frequency
    ``max_frequency`` [THz] (Δt > 1/(2 f_max)): every spectrum of such frames folds."""
    dt = validate.scalar(time_step, name, "fs", positive=True)
    f_max = validate.scalar(max_frequency, "max_frequency", "THz", positive=True)
    if dt > 1e3 / (2 * f_max):
        raise validate.InputError(
            f"{name} = {dt:g} fs is above the Nyquist limit 1/(2 f_max) = {1e3 / (2 * f_max):.4g} fs of "
            f"the highest phonon frequency {f_max:g} THz: the spectrum would fold; dump frames at least "
            f"every {1e3 / (2 * f_max):.4g} fs (with margin)")


def resolution_for(energy_step, time_step, n_frames: int, name: str = "energy_step") -> int:
    """Frames per segment for an energy bin of at most ``energy_step`` [meV]; an error if the trajectory of
    ``n_frames`` frames ``time_step`` [fs] apart is too short for it (names the frames needed)."""
    de = validate.scalar(energy_step, name, "meV", positive=True)
    dt = validate.scalar(time_step, "time_step", "fs", positive=True)
    need = int(np.ceil(H_MEV_FS / (de * dt)))
    if need > n_frames:
        raise validate.InputError(
            f"{name} = {de:g} meV needs segments of {need} frames ({need * dt / 1e3:.4g} ps) but the trajectory has "
            f"{n_frames} frames ({n_frames * dt / 1e3:.4g} ps); run longer or accept a bin of "
            f"{H_MEV_FS / (n_frames * dt):.4g} meV")
    return need


def energy_resolution(window_name, duration, oversample: int = 64) -> float:
    """FWHM [meV] of the line shape |W(E)|² of a window lasting ``duration`` [fs] (the smallest line
    separation a window of that length can show: c_w·h/T, c = 0.886 rectangular, 1.44 Hann)."""
    duration = validate.scalar(duration, "duration", "fs", positive=True)
    n = 256
    w = window(window_name, n)
    spec = np.abs(np.fft.fft(w, n * oversample)) ** 2
    spec /= spec[0]
    k = int(np.argmax(spec < 0.5))  # first bin below half maximum
    # linear interpolation between k-1 and k
    frac = (spec[k - 1] - 0.5) / (spec[k - 1] - spec[k])
    half_width_bins = (k - 1 + frac) / oversample  # in units of 1/(n Δt)
    return 2 * half_width_bins * H_MEV_FS / duration


LENGTH_CONVENTIONS = ("total", "equivalent_noise")


def window_duration(window_name, n: int, time_step, convention: str = "total") -> float:
    """Duration [fs] of a window of ``n`` frames ``time_step`` [fs] apart, in a length ``convention``:

    * ``"total"``: its support, T = nΔt;
    * ``"equivalent_noise"``: the equivalent-noise duration (Σw)²/Σw² · Δt, the reciprocal of the
      window's equivalent noise bandwidth (Harris, Proc. IEEE 66, 51 (1978)): 2T/3 for Hann, T for the
      rectangle. In it the line width (FWHM of |W|²) is ≈ h/L for every window (0.886 h/L rectangle,
      0.960 h/L Hann), so a length says the same resolution whatever the window shape."""
    convention = validate.choice(convention, "length_convention", LENGTH_CONVENTIONS)
    dt = validate.scalar(time_step, "time_step", "fs", positive=True)
    n = validate.integer(n, "n", lo=1)
    if convention == "total":
        return n * dt
    w = window(window_name, n)
    return float(np.sum(w) ** 2 / np.sum(w * w)) * dt


def stft(psi_t, time_step, window_length, *, hop=None, window_name="hann", pad_to: int | None = None,
         length_convention: str = "total"):
    """Short-time TACAW along a (possibly non-stationary) trajectory: classical spectra of windowed
    segments of ``window_length`` [fs] every ``hop`` [fs] (default: half a window), each zero-padded
    to ``pad_to`` frames (an interpolated energy grid; resolution stays :func:`energy_resolution`).

    ``length_convention`` says what ``window_length`` measures (:func:`window_duration`): ``"total"``
    (default) the segment's support T; ``"equivalent_noise"`` its equivalent-noise duration
    (Σw)²/Σw²·Δt (2T/3 for Hann), for which the line width is ≈ h/L for any window. Two lines ΔE apart
    show a dip below 50 % between them only from T ≈ 1.39 × the length at which the FWHM equals ΔE:
    for Ni TA(X)/LA(X) (25.9/35.4 meV) a Hann window needs T ≥ 0.87 ps total, i.e. L ≥ 0.58 ps in the
    equivalent-noise convention (the FWHM criterion is met from T = 0.63 ps).

    Returns (times [fs] of the segment centres, energies [meV], spectra (n_times, n_E, …),
    resolution FWHM [meV]). The mean over each segment is removed. Out of equilibrium the classical
    spectrum is the meaningful one (no quantum factor)."""
    dt = validate.scalar(time_step, "time_step", "fs", positive=True)
    length = validate.scalar(window_length, "window_length", "fs", positive=True)
    convention = validate.choice(length_convention, "length_convention", LENGTH_CONVENTIONS)
    psi = jnp.asarray(psi_t)
    n = int(psi.shape[0])
    if convention == "total":
        seg = int(round(length / dt))
    else:  # the support whose equivalent-noise duration is nearest the length asked for
        ratio = window_duration(window_name, 1024, dt, convention) / (1024 * dt)
        guess = max(1, int(round(length / (ratio * dt))))
        cands = [c for c in range(max(1, guess - 2), guess + 3)]
        seg = min(cands, key=lambda c: abs(window_duration(window_name, c, dt, convention) - length))
    if seg < 4 or seg > n:
        raise validate.InputError(f"window_length = {length:g} fs is {seg} frames; it must be between 4 frames "
                                  f"({4 * dt:g} fs) and the trajectory ({n} frames, {n * dt:g} fs)")
    hop_frames = max(1, int(round((seg * dt / 2 if hop is None else
                                   validate.scalar(hop, "hop", "fs", positive=True)) / dt)))
    nfft = seg if pad_to is None else validate.integer(pad_to, "pad_to", lo=seg)
    w = jnp.asarray(window(window_name, seg), psi.real.dtype)
    power = float(jnp.mean(w * w))
    starts = np.arange(0, n - seg + 1, hop_frames)

    @jax.jit
    def spectra(psi, starts):
        def one(s):
            x = jax.lax.dynamic_slice_in_dim(psi, s, seg, axis=0)
            x = (x - jnp.mean(x, axis=0)) * w.reshape((-1,) + (1,) * (x.ndim - 1)).astype(x.dtype)
            f = jnp.fft.fft(x, n=nfft, axis=0)
            return jnp.fft.fftshift(f.real ** 2 + f.imag ** 2, axes=0) / (seg ** 2 * power)

        return jax.lax.map(one, starts)

    out = spectra(psi, jnp.asarray(starts, jnp.int32))
    times = (starts + seg / 2) * dt
    energies = np.fft.fftshift(np.fft.fftfreq(nfft, dt)) * H_MEV_FS
    return times, energies, out, energy_resolution(window_name, seg * dt)


def warn_if_not_equilibrium(temperatures, tolerance: float = 0.1) -> None:
    """Warn when a trajectory's instantaneous temperatures [K] drift by more than ``tolerance``
    (relative) between its halves: the quantum factor assumes thermal equilibrium."""
    t = np.asarray(temperatures, float)
    a, b = t[: len(t) // 2].mean(), t[len(t) // 2:].mean()
    if abs(a - b) > tolerance * max(abs(a), abs(b), 1e-12):
        warnings.warn(f"the trajectory is not in equilibrium (mean temperature {a:.4g} K then {b:.4g} K): the "
                      "harmonic quantum factor assumes equilibrium; report the classical spectrum", stacklevel=2)
