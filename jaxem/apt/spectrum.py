"""Mass spectra: time of flight → mass-to-charge calibration, histograms and background.

**Calibration.** An ion of charge ne accelerated through V_eff = V_dc + β·V_pulse [V] reaches the
detector after a flight time t − t₀ [ns] over the path L_eff [mm] (to the hit point at radius r_D on a
flat detector, L_eff² = L² + r_D²), so

    m/n [Da] = 2e/u · V_eff · (t − t₀)² / L_eff² · (1 + a·(V_dc − V_ref)/V_ref) · (1 + b·r_D²/L²)

with 2e/u = 1.92970664×10⁻⁴ Da·mm²/(V·ns²). The last two factors are the empirical voltage and
"bowl" corrections (energy deficit and flight-path error across the detector). The parameters
(t₀, L, a, b) are fitted to known peaks by Levenberg–Marquardt on the residual of √(m/n): the pure
pair :func:`mass_calibration_init` / :func:`mass_calibration_step` on a :class:`MassCalibrationState`,
driven by :func:`fit_calibration`.

**Background.** A background constant in time of flight (uncorrelated DC evaporation, noise)
is ∝ dt/dm ∝ 1/√m in a mass histogram; :func:`fit_background` fits B(m) = A/√m (+ C) by Poisson
maximum likelihood on bins outside the peaks.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..physics import ELEMENTARY_CHARGE

ATOMIC_MASS_UNIT = 1.66053906660e-27  # u [kg], CODATA 2018
#: 2·e/u in [Da·mm²/(V·ns²)]
TWO_E_OVER_U = 2 * ELEMENTARY_CHARGE / ATOMIC_MASS_UNIT * 1e-12
#: the most bins a mass histogram may have (a guard against a bin width that is too small)
MAX_BINS = 50_000_000


@pytree.dataclass
class MassCalibration:
    """ToF → m/q calibration parameters.

    Attributes:
        t0: time offset [ns].
        L: flight path [mm].
        a: linear voltage correction [dimensionless].
        b: quadratic bowl correction [dimensionless].
        beta: pulse-voltage fraction entering V_eff.
        v_ref: reference voltage of the voltage correction [V].
    """

    t0: jax.Array = pytree.field(units="ns")
    L: jax.Array = pytree.field(units="mm")
    a: jax.Array = pytree.field(units="1")
    b: jax.Array = pytree.field(units="1")
    beta: float = pytree.field(static=True, default=1.0)
    v_ref: float = pytree.field(static=True, units="V", default=5000.0)


def _check_calibration(cal, name: str = "cal") -> None:
    if not isinstance(cal, MassCalibration):
        raise validate.InputTypeError(f"{name} must be a MassCalibration, got {type(cal).__name__}")
    if validate.is_traced(cal):
        return
    validate.scalar(cal.t0, f"{name}.t0", "ns")
    validate.scalar(cal.L, f"{name}.L", "mm", positive=True)
    validate.scalar(cal.a, f"{name}.a")
    validate.scalar(cal.b, f"{name}.b")
    validate.scalar(cal.beta, f"{name}.beta", nonnegative=True)
    validate.scalar(cal.v_ref, f"{name}.v_ref", "V", positive=True)


def _events(value, name, units, n=None, *, positive=False, nonnegative=False):
    """A per-event array (or a scalar broadcast to ``n`` events), finite, checked; float64 NumPy."""
    if np.ndim(value) == 0:
        v = validate.scalar(value, name, units, positive=positive, nonnegative=nonnegative)
        return np.full(() if n is None else (n,), v)
    validate.array(value, name, ndim=1, kind="real", units=units, nonnegative=nonnegative)
    a = np.asarray(value, np.float64)
    if n is not None and a.shape != (n,):
        raise validate.InputError(f"{name} must have one value per event ({n}), got shape {a.shape}")
    if positive and np.any(a <= 0):
        k = int(np.flatnonzero(a <= 0)[0])
        raise validate.InputError(f"{name} must be > 0 [{units}]; {int(np.sum(a <= 0))} value(s) are not "
                                  f"(first at index {k}: {a[k]:g})")
    return a


def tof_to_mass(cal: MassCalibration, tof, v_dc, v_pulse=0.0, x_det=0.0, y_det=0.0):
    """Mass-to-charge ratio of every event.

    Args:
        cal: :class:`MassCalibration`.
        tof: raw time of flight [ns].
        v_dc: standing voltage [V].
        v_pulse: pulse voltage [V].
        x_det, y_det: detector hit coordinates [mm].

    Returns:
        m/q [Da], same shape as ``tof``.
    """
    _check_concrete(cal, tof, "tof", "ns", v_dc)
    r2 = x_det**2 + y_det**2
    veff = v_dc + cal.beta * v_pulse
    corr = (1 + cal.a * (v_dc - cal.v_ref) / cal.v_ref) * (1 + cal.b * r2 / cal.L**2)
    return TWO_E_OVER_U * veff * (tof - cal.t0) ** 2 / (cal.L**2 + r2) * corr


def mass_to_tof(cal: MassCalibration, mass, v_dc, v_pulse=0.0, x_det=0.0, y_det=0.0):
    """Inverse of :func:`tof_to_mass`: flight time [ns] of an ion of m/q [Da] (≥ 0)."""
    _check_concrete(cal, mass, "mass", "Da", v_dc, nonnegative=True)
    r2 = x_det**2 + y_det**2
    veff = v_dc + cal.beta * v_pulse
    corr = (1 + cal.a * (v_dc - cal.v_ref) / cal.v_ref) * (1 + cal.b * r2 / cal.L**2)
    return cal.t0 + jnp.sqrt(mass * (cal.L**2 + r2) / (TWO_E_OVER_U * veff * corr))


def _check_concrete(cal, values, name, units, v_dc, nonnegative=False):
    """Boundary checks of the pure conversions, for concrete (untraced) inputs only."""
    _check_calibration(cal)
    if not validate.is_traced(values):
        (validate.scalar if np.ndim(values) == 0 else validate.array)(values, name, units=units,
                                                                       nonnegative=nonnegative)
    if not validate.is_traced(v_dc):
        if np.ndim(v_dc) == 0:
            validate.scalar(v_dc, "v_dc", "V", positive=True)
        else:
            validate.array(v_dc, "v_dc", kind="real", units="V")
            if np.any(np.asarray(v_dc) <= 0):
                raise validate.InputError(f"v_dc must be > 0 V, got a minimum of {np.min(np.asarray(v_dc)):g}")


def _residual(p, cal, tof, v_dc, v_pulse, x, y, target):
    c = cal.replace(t0=p[0], L=p[1], a=p[2], b=p[3])
    return jnp.sqrt(jnp.abs(tof_to_mass(c, tof, v_dc, v_pulse, x, y))) - jnp.sqrt(target)


@pytree.dataclass
class MassCalibrationState:
    """Levenberg–Marquardt state of the mass calibration.

    Attributes:
        params: (4,) (t₀ [ns], L [mm], a, b).
        damping: LM damping λ (dimensionless).
    """

    params: jax.Array
    damping: jax.Array


@validate.typed
def mass_calibration_init(cal: MassCalibration, damping: float = 1e-3, precision=None) -> MassCalibrationState:
    """LM start at the calibration ``cal`` with damping λ.

    ``precision``: any :data:`jaxem.accel.PRECISION_ALIASES`; default: follows the parameters of
    ``cal`` (Python floats: JAX's default float).
    """
    if not isinstance(cal, MassCalibration):
        raise validate.InputTypeError(f"cal must be a MassCalibration, got {type(cal).__name__}")
    damping = validate.scalar(damping, "damping", positive=True)
    p = jnp.stack(jnp.broadcast_arrays(*(jnp.asarray(v) for v in (cal.t0, cal.L, cal.a, cal.b))))
    dt = accel.real_dtype(precision) if precision is not None else accel.dtypes_of(p)[0]
    return MassCalibrationState(p.astype(dt), jnp.asarray(damping, dt))


@validate.typed
def mass_calibration_params(state: MassCalibrationState, cal: MassCalibration) -> MassCalibration:
    """The calibration held by ``state`` (static ``beta``, ``v_ref`` from ``cal``)."""
    p = state.params
    return cal.replace(t0=p[0], L=p[1], a=p[2], b=p[3])


@jax.jit
@validate.typed
def mass_calibration_step(state: MassCalibrationState, cal, tof, v_dc, v_pulse, x, y, target,
                          free) -> MassCalibrationState:
    """One Levenberg–Marquardt step on the √m residual (``free`` masks the fitted parameters).

    Args:
        state: current :class:`MassCalibrationState`.
        cal: the calibration (supplies the static ``beta``, ``v_ref``).
        tof [ns], v_dc [V], v_pulse [V], x, y [mm]: the assigned events; target: their m/q [Da].
        free: (4,) 1 for the fitted parameters, 0 for the fixed ones.
    """
    p, lam = state.params, state.damping
    r = _residual(p, cal, tof, v_dc, v_pulse, x, y, target)
    J = jax.jacfwd(_residual)(p, cal, tof, v_dc, v_pulse, x, y, target) * free
    JTJ = J.T @ J
    g = J.T @ r
    scale = jnp.where(free > 0, jnp.diag(JTJ), 1.0)
    dp = -jnp.linalg.solve(JTJ + lam * jnp.diag(scale) + jnp.diag(1 - free), g)
    r_new = _residual(p + dp, cal, tof, v_dc, v_pulse, x, y, target)
    better = jnp.sum(r_new**2) < jnp.sum(r**2)
    return MassCalibrationState(jnp.where(better, p + dp, p), jnp.where(better, lam * 0.3, lam * 10.0))


def fit_calibration(tof, v_dc, known_masses, cal: MassCalibration | None = None, v_pulse=None,
                    x_det=None, y_det=None, window: float = 0.04, iterations: int = 4,
                    fit=("t0", "L", "a", "b"), steps: int = 30, coarse: bool = True, precision=None):
    """Fit (t₀, L, a, b) so that known peaks land at their masses.

    Each round converts ToF with the current calibration, histograms, finds the strongest local
    maximum within ±``window``·m of every known mass, assigns the events within the peak's
    half-maximum width to it, and runs Levenberg–Marquardt. The window shrinks each round.

    Args:
        tof: raw times of flight [ns].
        v_dc: standing voltages [V].
        known_masses: m/q of identified peaks [Da].
        cal: initial guess (default t₀ = 0, L = 100 mm, a = b = 0, v_ref = median V_dc).
        v_pulse, x_det, y_det: optional pulse voltage [V] and detector hits [mm].
        window: relative search window of the first round.
        iterations: assignment rounds.
        fit: names of the fitted parameters.
        steps: LM steps per round.
        coarse: first grid-search (t₀, L) around the guess (±20 ns, ±10 %) maximising the number of
            events within 0.3 % of a known mass, so that the first assignment is unambiguous.
        precision: of the Levenberg–Marquardt steps (any :data:`jaxem.accel.PRECISION_ALIASES`;
            default: JAX's default float, i.e. float64 in 64-bit mode).

    Returns:
        (fitted :class:`MassCalibration`, rms residual of the assigned events [Da]).

    Raises:
        ValueError: no events found near a known mass, or unknown parameter names.
    """
    tof = _events(tof, "tof", "ns")
    if tof.ndim != 1 or tof.size < 3:
        raise validate.InputError(f"tof must be a 1-D array of ≥ 3 flight times [ns], got shape {tof.shape}")
    n = tof.size
    v_dc = _events(v_dc, "v_dc", "V", n, positive=True)
    v_pulse = np.zeros(n) if v_pulse is None else _events(v_pulse, "v_pulse", "V", n, nonnegative=True)
    x = np.zeros(n) if x_det is None else _events(x_det, "x_det", "mm", n)
    y = np.zeros(n) if y_det is None else _events(y_det, "y_det", "mm", n)
    if isinstance(fit, str):
        fit = (fit,)
    for name in fit:
        validate.choice(name, "fit (unknown parameter name)", ("t0", "L", "a", "b"))
    window = validate.scalar(window, "window", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    iterations = validate.integer(iterations, "iterations", lo=1)
    steps = validate.integer(steps, "steps", lo=1)
    if cal is None:
        cal = MassCalibration(0.0, 100.0, 0.0, 0.0, v_ref=float(np.median(v_dc)))
    _check_calibration(cal)
    free = jnp.array([float(k in fit) for k in ("t0", "L", "a", "b")])
    known = np.sort(_events(known_masses, "known_masses", "Da", positive=True).ravel())
    if known.size < 1:
        raise validate.InputError("known_masses must hold at least one m/q [Da]")
    if coarse:
        cal = _coarse_search(cal, tof, v_dc, v_pulse, x, y, known)
    state = mass_calibration_init(cal, precision=precision)
    dt = state.params.dtype
    for it in range(iterations):
        c = mass_calibration_params(state, cal)
        m = np.asarray(tof_to_mass(c, tof, v_dc, v_pulse, x, y))
        w = window * 0.5**it
        sel, tgt = [], []
        for mk in known:
            near = np.flatnonzero(np.abs(m - mk) < w * mk)
            if near.size < 3:
                raise validate.InputError(f"known_masses: no events within ±{w:.3g}·m of the known peak {mk} Da")
            h, edges = np.histogram(m[near], bins=64)
            k = int(np.argmax(h))
            centre = 0.5 * (edges[k] + edges[k + 1])
            above = np.flatnonzero(h >= 0.5 * h[k])
            half = max(centre - edges[above[0]], edges[above[-1] + 1] - centre, edges[1] - edges[0])
            s = near[np.abs(m[near] - centre) < half]
            sel.append(s), tgt.append(np.full(s.size, mk))
        s, t = np.concatenate(sel), np.concatenate(tgt)
        args = (cal, jnp.asarray(tof[s], dt), jnp.asarray(v_dc[s], dt), jnp.asarray(v_pulse[s], dt),
                jnp.asarray(x[s], dt), jnp.asarray(y[s], dt), jnp.asarray(t, dt), free.astype(dt))
        state = state.replace(damping=jnp.full_like(state.damping, 1e-3))
        for _ in range(steps):
            state = mass_calibration_step(state, *args)
    p = np.asarray(state.params)
    out = cal.replace(t0=float(p[0]), L=float(p[1]), a=float(p[2]), b=float(p[3]))
    rms = float(np.sqrt(np.mean((np.asarray(tof_to_mass(out, *[a for a in args[1:6]])) - t) ** 2)))
    return out, rms


def _coarse_search(cal, tof, v_dc, v_pulse, x, y, known, n_sub=5000):
    idx = np.linspace(0, tof.size - 1, min(n_sub, tof.size)).astype(np.int64)
    t, v, vp, xx, yy = tof[idx], v_dc[idx], v_pulse[idx], x[idx], y[idx]
    Ls = float(cal.L) * np.linspace(0.9, 1.1, 81)
    t0s = float(cal.t0) + np.linspace(-20, 20, 41)
    mid = np.sqrt(known[1:] * known[:-1])
    best, arg = -1, (float(cal.t0), float(cal.L))
    for t0 in t0s:
        c = cal.replace(t0=t0, L=1.0)
        m1 = np.asarray(tof_to_mass(c, t, v, vp, xx / Ls[:, None], yy / Ls[:, None]))  # scale-free part
        m = m1 / Ls[:, None] ** 2 * 1.0
        k = np.searchsorted(mid, m)
        score = (np.abs(m / known[k] - 1) < 3e-3).sum(1)
        j = int(np.argmax(score))
        if score[j] > best:
            best, arg = score[j], (t0, Ls[j])
    return cal.replace(t0=arg[0], L=arg[1])


def mass_spectrum(mass, bin_width: float = 0.01, mass_range=None, weights=None):
    """Histogram of m/q.

    Args:
        mass: m/q values [Da].
        bin_width: bin width [Da] (> 0).
        mass_range: (lo, hi) [Da]; default (0, max + bin_width) (the heaviest event inside the last bin).
        weights: optional per-event weights.

    Returns:
        (bin centres [Da], counts).
    """
    bin_width = validate.scalar(bin_width, "bin_width", "Da", positive=True)
    validate.array(mass, "mass", kind="real", units="Da", min_size=0)
    mass = np.asarray(mass).ravel()
    if mass_range is not None:
        lo, hi = validate.pair(mass_range, "mass_range", "Da")
        if not hi > lo:
            raise validate.InputError(f"mass_range must be (lo, hi) [Da] with lo < hi, got {mass_range}")
    else:
        lo, hi = 0.0, (float(mass.max()) if mass.size else 1.0)  # no ions: an empty histogram
        if not hi > 0:
            raise validate.InputError(f"mass must have positive values [Da] (m/q), the largest is {hi:g}; "
                                      f"or give mass_range")
    n_bins = (hi - lo) / bin_width
    if n_bins > MAX_BINS:
        raise validate.InputError(f"bin_width = {bin_width:g} Da over {lo:g}–{hi:g} Da gives {n_bins:.3g} bins "
                                  f"(at most {MAX_BINS}); raise bin_width or narrow mass_range")
    if weights is not None:
        validate.array(weights, "weights", shape=mass.shape, kind="real", units="", min_size=0)
    if mass_range is None:
        # one bin beyond the heaviest event: it must not sit on the last edge, where the half-open ranges
        # [lo, hi) built on these bins (auto_ranges, RangeTable) would drop it
        hi = hi + bin_width
    edges = np.arange(lo, hi + bin_width, bin_width)
    counts, edges = np.histogram(mass, edges, weights=weights)
    return 0.5 * (edges[1:] + edges[:-1]), counts


def fit_background(centres, counts, exclude=(), constant: bool = False, fit_range=None):
    """Poisson-ML fit of B(m) = A/√m (+ C) to the histogram outside the excluded windows.

    Args:
        centres: bin centres [Da] (> 0).
        counts: counts per bin.
        exclude: iterable of (lo, hi) windows [Da] to ignore (peaks/ranges).
        constant: also fit a constant C.
        fit_range: (lo, hi) [Da] restricting the fit.

    Returns:
        Callable B(m) giving the expected background counts per bin, with attributes ``A``, ``C``.
    """
    validate.array(centres, "centres", ndim=1, kind="real", units="Da")
    m = np.asarray(centres, np.float64)
    validate.array(counts, "counts", shape=m.shape, kind="real", nonnegative=True)
    n = np.asarray(counts, np.float64)
    use = m > 0
    if fit_range is not None:
        flo, fhi = validate.pair(fit_range, "fit_range", "Da")
        use &= (m >= flo) & (m < fhi)
    for lo, hi in exclude:
        lo, hi = validate.pair((lo, hi), "exclude", "Da")
        use &= ~((m >= lo) & (m < hi))
    if not use.any():
        raise validate.InputError("exclude/fit_range: no background bins left after excluding the peaks")
    basis = [1 / np.sqrt(m[use])] + ([np.ones(use.sum())] if constant else [])
    X = np.stack(basis, 1)
    theta = np.full(X.shape[1], max(n[use].sum(), 1.0) / X.sum(0).sum())
    for _ in range(200):  # multiplicative EM updates for a non-negative Poisson mixture
        mu = X @ theta + 1e-300
        theta = theta * (X.T @ (n[use] / mu)) / X.sum(0)
    A, C = float(theta[0]), float(theta[1]) if constant else 0.0

    def background(mm):
        return A / np.sqrt(np.asarray(mm, np.float64)) + C

    background.A, background.C = A, C
    return background


def plot_spectrum(centres, counts, ax=None, log: bool = True, ranges=None, background=None):
    """Plot a mass spectrum (log scale by default) with optional shaded ranges and background."""
    import matplotlib.pyplot as plt

    validate.array(centres, "centres", ndim=1, kind="real", units="Da")
    validate.array(counts, "counts", ndim=1, shape=(np.shape(centres)[0],), kind="real")
    ax = ax or plt.subplots(figsize=(8, 3))[1]
    ax.step(centres, np.maximum(counts, 0.5 if log else 0), where="mid", lw=0.7, color="k")
    if background is not None:
        ax.plot(centres, background(centres), "r-", lw=0.8, label="background")
    if ranges is not None:
        for lo, hi, c in zip(ranges.lo, ranges.hi, ranges.color):
            ax.axvspan(lo, hi, color=f"#{c}", alpha=0.35, lw=0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("m/q [Da]")
    ax.set_ylabel("counts")
    return ax
