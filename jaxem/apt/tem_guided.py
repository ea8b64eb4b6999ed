"""TEM-guided APT reconstruction: the measured specimen shape replaces the assumed one.

In an atom probe inside a (S)TEM the needle is imaged while it evaporates. Each snapshot k gives a
profile (apex height z_k [nm], apex radius R_k [nm], shank angle α_k, or the full sag g_k(r)) at a
known cumulative detected-ion count N_k. The reconstruction then

1. maps every ion i to the count coordinate c_i = i + ½ and interpolates the apex height
   z_apex(c_i) between snapshots with a monotone cubic Hermite (Fritsch–Carlson) curve — ion count
   tracks evaporated volume better than time;
2. blends the snapshots' cap shapes linearly in c between N_k and N_{k+1};
3. back-projects: the detector angle θ′ gives the surface-normal angle θ (ξ, :mod:`.reconstruct`),
   and the ion is placed at the point of the *measured* cap whose normal angle is θ
   (r(θ), g(θ) from :func:`jaxem.apt.tipshape.cap_tables`): x = r cos φ, y = r sin φ,
   z = z_apex − g. For a hemisphere this is exactly the Bas/Geiser placement.

Calibration (:func:`calibrate`): k·F, ξ and η are fitted by gradient descent (optax Adam on log /
logit parameters, after a coarse scan in ξ) through the reconstruction — the pure pair
:func:`guided_calibration_init` / :func:`guided_calibration_step` on a
:class:`GuidedCalibrationState`, driven by :func:`calibrate` — minimising

* (V_k/(k·F·R_k) − 1)²: the voltage law at the snapshots (V_k the median ion voltage around N_k);
* 1 − |⟨exp(2πi z/d)⟩|² per block of consecutive ions: lattice planes normal to the axis of known
  spacing d [nm] (e.g. from electron diffraction in the same column) must come out flat; this fixes ξ;
* ((N_k(ρ) − η·V_k(ρ)/Ω)/N_k(ρ))²: ions reconstructed inside a central column of radius ρ between
  two snapshots against the volume the TEM saw evaporate there; this fixes η.

Sequential runs of one specimen are combined by :func:`stitch_runs` (counts offset, snapshots in one
specimen frame).
"""
from __future__ import annotations

from functools import partial

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import accel, pytree, validate
from .reconstruct import PROJECTIONS, ReconParams, detector_angles, detector_direction, validate_inputs
from .tipshape import TipProfiles, tip_profiles


def pchip_slopes(x, y) -> np.ndarray:
    """Fritsch–Carlson monotone cubic Hermite slopes dy/dx at the knots."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    h = np.diff(x)
    d = np.diff(y) / h
    m = np.zeros_like(y)
    m[0], m[-1] = d[0], d[-1]
    if len(x) > 2:
        w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
        same = d[:-1] * d[1:] > 0
        m[1:-1] = np.where(same, (w1 + w2) / (w1 / np.where(same, d[:-1], 1) + w2 / np.where(same, d[1:], 1)), 0.0)
    return m


def hermite(xq, x, y, m):
    """Evaluate the cubic Hermite curve (knots x, values y, slopes m); linear beyond the ends."""
    n = x.shape[0]
    k = jnp.clip(jnp.searchsorted(x, xq, side="right") - 1, 0, n - 2)
    h = x[k + 1] - x[k]
    t = (xq - x[k]) / h
    tc = jnp.clip(t, 0.0, 1.0)
    h00, h10 = 2 * tc**3 - 3 * tc**2 + 1, tc**3 - 2 * tc**2 + tc
    h01, h11 = -2 * tc**3 + 3 * tc**2, tc**3 - tc**2
    inner = h00 * y[k] + h10 * h * m[k] + h01 * y[k + 1] + h11 * h * m[k + 1]
    below = y[0] + m[0] * (xq - x[0])
    above = y[-1] + m[-1] * (xq - x[-1])
    return jnp.where(xq < x[0], below, jnp.where(xq > x[-1], above, inner))


@pytree.dataclass
class GuidedTables:
    """Precomputed lookup data of a profile sequence (see :func:`guided_tables`).

    Attributes:
        count: (n_snap,) cumulative ion count of each snapshot.
        apex_z, apex_slope: (n_snap,) apex height [nm] and its slope d z_apex/d count [nm/ion].
        r_tab, g_tab: (n_snap, n_theta) lateral radius and sag [nm] against the normal angle.
        dtheta: angle step of the tables [rad] (static).
    """

    count: jax.Array
    apex_z: jax.Array = pytree.field(units="nm")
    apex_slope: jax.Array = pytree.field(units="nm/ion")
    r_tab: jax.Array = pytree.field(units="nm")
    g_tab: jax.Array = pytree.field(units="nm")
    dtheta: float = pytree.field(static=True, units="rad", default=1.0)


def _profiles(profiles, name: str = "profiles") -> TipProfiles:
    if not isinstance(profiles, TipProfiles):
        raise validate.InputTypeError(f"{name} must be TipProfiles (from jaxem.apt.tip_profiles), got "
                                      f"{type(profiles).__name__}")
    return profiles


@validate.typed
def guided_tables(profiles: TipProfiles, n_theta: int = 512, precision=None) -> GuidedTables:
    """Lookup tables r(θ), g(θ) on a uniform θ grid [0, π/2] and the apex interpolant.

    Args:
        profiles: :class:`~jaxem.apt.tipshape.TipProfiles`.
        n_theta: angle grid size (≥ 2).
        precision: table precision (any :data:`jaxem.accel.PRECISION_ALIASES`; float32 default,
            float64 for reference runs).

    Returns:
        :class:`GuidedTables`.
    """
    _profiles(profiles)
    n_theta = validate.integer(n_theta, "n_theta", lo=2)
    validate.allocation(n_theta, "n_theta", n_theta)
    dtype = accel.real_dtype(precision)
    theta = np.linspace(0, np.pi / 2, n_theta)
    r_tab, g_tab = profiles.tables(theta)
    cnt = np.asarray(profiles.count, np.float64)
    apex = np.asarray(profiles.apex_z, np.float64)
    cast = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    return GuidedTables(cast(cnt), cast(apex), cast(pchip_slopes(cnt, apex)), cast(r_tab), cast(g_tab),
                        float(theta[1] - theta[0]))


def _lookup(tab, k, w, th, dtheta):
    jf = jnp.clip(th / dtheta, 0.0, tab.shape[1] - 1.000001)
    j0 = jnp.floor(jf).astype(jnp.int32)
    f = jf - j0
    a = tab[k, j0] * (1 - f) + tab[k, j0 + 1] * f
    b = tab[k + 1, j0] * (1 - f) + tab[k + 1, j0 + 1] * f
    return a * (1 - w) + b * w


@validate.typed
def reconstruct_tem(p: ReconParams, x_det, y_det, tables: GuidedTables, count_offset=0.0,
                    projection: str = "linear"):
    """TEM-guided reconstruction onto the measured caps (validated; see :func:`_reconstruct_tem`).

    Args:
        p: :class:`~jaxem.apt.reconstruct.ReconParams` (ξ and L used).
        x_det, y_det: detector hits [mm] in evaporation order, (n,), finite.
        tables: :func:`guided_tables` of the measured profiles.
        count_offset: detected ions before ``x_det[0]`` (finite, ≥ 0; for chunked processing).
        projection: ``"linear"`` or ``"wide"``.

    Returns:
        (positions (n, 3) [nm], inside (n,) bool).
    """
    x_det, y_det = jnp.asarray(x_det), jnp.asarray(y_det)
    validate_inputs(p, x_det, y_det)
    validate.choice(projection, "projection", PROJECTIONS)
    if not isinstance(tables, GuidedTables):
        raise validate.InputTypeError(f"tables must be GuidedTables (from guided_tables(profiles)), got "
                                      f"{type(tables).__name__}")
    if not validate.is_traced(count_offset):
        validate.scalar(count_offset, "count_offset", "ions", nonnegative=True)
    return _reconstruct_tem(p, x_det, y_det, tables, count_offset, projection)


@partial(jax.jit, static_argnames=("projection",))
def _reconstruct_tem(p: ReconParams, x_det, y_det, tables: GuidedTables, count_offset=0.0,
                     projection: str = "linear"):
    """TEM-guided reconstruction onto the measured caps.

    Args:
        p: :class:`~jaxem.apt.reconstruct.ReconParams` (ξ and L used; k·F, η not needed).
        x_det, y_det: detector hits [mm] in evaporation order, (n,).
        tables: :func:`guided_tables` of the measured profiles.
        count_offset: count of detected ions before ``x_det[0]`` (for chunked processing).
        projection: ``"linear"`` or ``"wide"``.

    Returns:
        (positions (n, 3) [nm], inside (n,) bool: the ion lies between the first and last snapshot).
    """
    n = x_det.shape[0]
    c = jnp.arange(n, dtype=tables.count.dtype) + 0.5 + count_offset
    z_apex = hermite(c, tables.count, tables.apex_z, tables.apex_slope)
    k = jnp.clip(jnp.searchsorted(tables.count, c, side="right") - 1, 0, tables.count.shape[0] - 2)
    w = jnp.clip((c - tables.count[k]) / (tables.count[k + 1] - tables.count[k]), 0.0, 1.0)
    th, _ = detector_angles(x_det, y_det, p.L, p.xi, projection, return_phi=False)
    cphi, sphi = detector_direction(x_det, y_det)
    r = _lookup(tables.r_tab, k, w, th, tables.dtheta)
    g = _lookup(tables.g_tab, k, w, th, tables.dtheta)
    pos = jnp.stack([r * cphi, r * sphi, z_apex - g], -1)
    return pos, (c >= tables.count[0]) & (c <= tables.count[-1])




# ----------------------------------------------------------------------------------------------
# calibration of k·F, ξ, η from the TEM profiles


@pytree.dataclass
class CalibrationData:
    """Fixed inputs of the calibration loss (built by :func:`calibration_data`).

    Attributes:
        x_det, y_det: detector hits [mm]. v_snap: median voltage [V] around each snapshot.
        R_snap: apex radius [nm] of each snapshot. slab: snapshot interval of each ion.
        vol: TEM volume [nm³] of the central column between snapshots. rho: column radius [nm].
        d: lattice-plane spacing [nm]. n_slabs, block: static sizes.
    """

    x_det: jax.Array = pytree.field(units="mm")
    y_det: jax.Array = pytree.field(units="mm")
    v_snap: jax.Array = pytree.field(units="V")
    R_snap: jax.Array = pytree.field(units="nm")
    slab: jax.Array
    vol: jax.Array = pytree.field(units="nm³")
    rho: jax.Array = pytree.field(units="nm")
    d: jax.Array = pytree.field(units="nm")
    n_slabs: int = pytree.field(static=True, default=1)
    block: int = pytree.field(static=True, default=1000)


@validate.typed
def calibration_data(profiles: TipProfiles, x_det, y_det, voltage, d_spacing: float,
                     rho_fraction: float = 0.3, block: int = 1000, precision=None) -> CalibrationData:
    """Precompute snapshot voltages, slab membership and TEM volumes of the central column.

    Args:
        profiles: measured profiles.
        x_det, y_det: detector hits [mm] (finite); voltage: per-ion voltage [V] (> 0), all (n,).
        d_spacing: known spacing of lattice planes normal to the axis [nm] (> 0).
        rho_fraction: central column radius as a fraction of the smallest apex radius, in (0, 1].
        block: ions per flatness block (1 ≤ block ≤ n).
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (float32 default).

    Returns:
        :class:`CalibrationData`.
    """
    _profiles(profiles)
    dtype = accel.real_dtype(precision)
    validate.array(voltage, "voltage", ndim=1, kind="real", units="V")
    v = np.asarray(voltage, np.float64)
    n = v.size
    validate.array(x_det, "x_det", shape=(n,), kind="real", units="mm")
    validate.array(y_det, "y_det", shape=(n,), kind="real", units="mm")
    if np.any(v <= 0):
        raise validate.InputError(f"voltage must be > 0 V, got a minimum of {v.min():g}")
    cnt = np.asarray(profiles.count, np.float64)
    if cnt[-1] > n:
        raise validate.InputError(f"profiles extend to ion count {cnt[-1]:.0f} but only {n} ions were given")
    d_spacing = validate.scalar(d_spacing, "d_spacing", "nm", positive=True)
    rho_fraction = validate.scalar(rho_fraction, "rho_fraction", lo=0.0, hi=1.0, lo_open=True)
    block = validate.integer(block, "block", lo=1, hi=n)
    half = max(50, n // (4 * len(cnt)))
    c = np.arange(n) + 0.5
    v_snap = np.array([np.median(v[max(0, int(ck) - half):min(n, int(ck) + half)]) for ck in cnt])
    slab = np.clip(np.searchsorted(cnt, c, side="right") - 1, -1, len(cnt) - 1)
    slab = np.where((c >= cnt[0]) & (c < cnt[-1]), slab, len(cnt) - 1)  # outside → dump segment
    rho = rho_fraction * float(np.min(profiles.radius))
    rr = np.linspace(0, rho, 200)
    theta = np.linspace(0, np.pi / 2, 2048)
    r_tab, g_tab = profiles.tables(theta)
    z = np.stack([a - np.interp(rr, rt, gt) for a, rt, gt in zip(profiles.apex_z, r_tab, g_tab)])
    vol = np.trapezoid(2 * np.pi * rr * (z[:-1] - z[1:]), rr, axis=1)
    cast = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    return CalibrationData(cast(x_det), cast(y_det), cast(v_snap), cast(profiles.radius), jnp.asarray(slab, jnp.int32),
                           cast(vol), cast(rho), cast(d_spacing), len(cnt), block)


@validate.typed
def calibration_loss(q, base: ReconParams, data: CalibrationData, tables: GuidedTables,
                     weights=(1.0, 1.0, 1.0), projection: str = "linear"):
    """Loss of the unconstrained parameters q = (log k·F, log ξ, logit η) (see module docstring)."""
    p = q_to_params(q, base)
    l_kf = jnp.mean((data.v_snap / (p.kF * data.R_snap) - 1) ** 2)
    pos, _ = _reconstruct_tem(p, data.x_det, data.y_det, tables, projection=projection)
    nb = pos.shape[0] // data.block
    zb = pos[: nb * data.block, 2].reshape(nb, data.block)
    ph = 2 * jnp.pi * zb / data.d
    coh = jnp.mean(jnp.cos(ph), 1) ** 2 + jnp.mean(jnp.sin(ph), 1) ** 2
    l_flat = 1 - jnp.mean(coh)
    r = jnp.hypot(pos[:, 0], pos[:, 1])
    soft = jax.nn.sigmoid((data.rho - r) / (0.02 * data.rho))
    nk = jax.ops.segment_sum(soft, data.slab, num_segments=data.n_slabs)[:-1]
    pred = p.eta * data.vol / p.omega
    l_eta = jnp.mean(((nk - pred) / jnp.maximum(nk, 1.0)) ** 2)
    return weights[0] * l_kf + weights[1] * l_flat + weights[2] * l_eta


def params_to_q(p: ReconParams):
    """Unconstrained calibration parameters q = (log k·F, log ξ, logit η) of ``p``."""
    return jnp.stack([jnp.log(jnp.asarray(p.kF)), jnp.log(jnp.asarray(p.xi)),
                      jnp.log(jnp.asarray(p.eta) / (1 - jnp.asarray(p.eta)))])


def q_to_params(q, base: ReconParams) -> ReconParams:
    """``base`` with k·F, ξ, η from the unconstrained parameters q (inverse of :func:`params_to_q`)."""
    return base.replace(kF=jnp.exp(q[0]), xi=jnp.exp(q[1]), eta=jax.nn.sigmoid(q[2]))


@pytree.dataclass
class GuidedCalibrationProblem:
    """The fixed inputs of a TEM-guided calibration (what :func:`guided_calibration_step` sees).

    Attributes:
        base: starting :class:`ReconParams` (L, Ω, detector radius fixed).
        data: :class:`CalibrationData`. tables: :class:`GuidedTables`.
        weights: (3,) weights of the voltage-law, flatness and efficiency terms.
        learning_rate: Adam step size (in log/logit units).
        projection: ``"linear"`` or ``"wide"`` (static).
    """

    base: ReconParams
    data: CalibrationData
    tables: GuidedTables
    weights: jax.Array
    learning_rate: jax.Array
    projection: str = pytree.field(static=True, default="linear")

    def loss(self, q):
        return calibration_loss(q, self.base, self.data, self.tables, self.weights, self.projection)


@pytree.dataclass
class GuidedCalibrationState:
    """State of the gradient-descent calibration.

    Attributes:
        q: (3,) unconstrained parameters (log k·F, log ξ, logit η).
        opt_state: the optax Adam state.
        loss: loss at the parameters before the last step (``inf`` before the first).
        count: steps taken.
    """

    q: jax.Array
    opt_state: Any
    loss: jax.Array
    count: jax.Array


def _adam(problem: GuidedCalibrationProblem):
    return optax.adam(problem.learning_rate)


@validate.typed
def guided_calibration_init(problem: GuidedCalibrationProblem, q=None) -> GuidedCalibrationState:
    """Start at ``q`` (default: the problem's base parameters)."""
    q = params_to_q(problem.base) if q is None else jnp.asarray(q)
    q = q.astype(problem.data.x_det.dtype)
    return GuidedCalibrationState(q, _adam(problem).init(q), jnp.asarray(jnp.inf, q.dtype), jnp.zeros((), jnp.int32))


@jax.jit
@validate.typed
def guided_calibration_step(state: GuidedCalibrationState, problem: GuidedCalibrationProblem) -> GuidedCalibrationState:
    """One Adam step on the calibration loss (pure; compiled once per problem shape)."""
    val, g = jax.value_and_grad(problem.loss)(state.q)
    upd, opt_state = _adam(problem).update(g, state.opt_state, state.q)
    return GuidedCalibrationState(optax.apply_updates(state.q, upd), opt_state, val, state.count + 1)


@validate.typed
def guided_calibration_result(state: GuidedCalibrationState, problem: GuidedCalibrationProblem) -> ReconParams:
    """The calibrated :class:`ReconParams`."""
    return q_to_params(state.q, problem.base)


@jax.jit
def _scan_xi(problem: GuidedCalibrationProblem, q, log_xis):
    """Loss along a line of ξ values (one compiled program, evaluated one ξ after the other)."""
    return jax.lax.map(lambda lx: problem.loss(q.at[1].set(lx)), log_xis)


@pytree.dataclass
class CalibrationResult:
    """Fitted parameters and the loss history."""

    params: ReconParams
    losses: jax.Array


@validate.typed
def calibrate(base: ReconParams, profiles: TipProfiles, x_det, y_det, voltage, d_spacing: float,
              steps: int = 300, learning_rate: float = 0.02, xi_range=(1.0, 2.5), n_scan: int = 61,
              projection: str = "linear", block: int = 1000, weights=(1.0, 1.0, 1.0),
              precision=None) -> CalibrationResult:
    """Fit k·F, ξ and η to the TEM profiles by gradient descent through the reconstruction (driver
    of :func:`guided_calibration_init` / :func:`guided_calibration_step`).

    Args:
        base: starting :class:`ReconParams` (L, Ω, detector radius fixed).
        profiles: measured profiles.
        x_det, y_det: detector hits [mm]; voltage: per-ion voltage [V].
        d_spacing: spacing of lattice planes normal to the axis [nm].
        steps: Adam steps (≥ 0).
        learning_rate: Adam step size (in log/logit units, > 0).
        xi_range: coarse-scan range of ξ before the gradient descent (0 < lo < hi).
        n_scan: coarse-scan points (≥ 1).
        projection: ``"linear"`` or ``"wide"``.
        block: ions per flatness block.
        weights: (3,) weights of the voltage-law, flatness and efficiency terms (≥ 0).
        precision: any :data:`jaxem.accel.PRECISION_ALIASES`; default: JAX's default float (float64
            in 64-bit mode, else float32).

    Returns:
        :class:`CalibrationResult`.
    """
    validate_inputs(base, jnp.zeros(1), jnp.zeros(1))
    steps = validate.integer(steps, "steps", lo=0)
    learning_rate = validate.scalar(learning_rate, "learning_rate", positive=True)
    lo, hi = validate.pair(xi_range, "xi_range", positive=True)
    if not hi > lo:
        raise validate.InputError(f"xi_range must be (lo, hi) with 0 < lo < hi, got {xi_range}")
    n_scan = validate.integer(n_scan, "n_scan", lo=1)
    validate.choice(projection, "projection", PROJECTIONS)
    validate.array(weights, "weights", shape=(3,), kind="real", nonnegative=True)
    if precision is None:
        precision = accel.default_precision()
    dtype = accel.real_dtype(precision)
    problem = GuidedCalibrationProblem(
        base=jax.tree.map(lambda v: jnp.asarray(v, dtype), base),
        data=calibration_data(profiles, x_det, y_det, voltage, d_spacing, block=block, precision=precision),
        tables=guided_tables(profiles, precision=precision), weights=jnp.asarray(weights, dtype),
        learning_rate=jnp.asarray(learning_rate, dtype), projection=projection)
    q = params_to_q(problem.base)
    log_xis = jnp.log(jnp.linspace(lo, hi, n_scan, dtype=dtype))
    scan = np.asarray(_scan_xi(problem, q, log_xis))
    state = guided_calibration_init(problem, q.at[1].set(log_xis[int(np.argmin(scan))]))
    hist = []
    for _ in range(steps):
        state = guided_calibration_step(state, problem)
        hist.append(state.loss)
    return CalibrationResult(guided_calibration_result(state, problem),
                             jnp.stack(hist) if hist else jnp.zeros(0, dtype))


def stitch_runs(runs, merge_tol: float = 0.01):
    """Combine sequential APT runs of one specimen.

    Args:
        runs: list of dicts with ``x_det``, ``y_det`` [mm], ``voltage`` [V] (per ion, evaporation
            order) and ``profiles`` (:class:`TipProfiles` with counts local to the run and apex heights
            in one specimen frame, e.g. referenced to the shank or fiducials in the TEM).

    Returns:
        dict with concatenated ``x_det``, ``y_det``, ``voltage``, ``run`` (run index per ion) and
        ``profiles`` (global counts). A run's first snapshot at the same count as the previous run's
        last is merged with it when apex height and radius agree within ``merge_tol`` [nm] (the same
        TEM image between runs); otherwise it is placed 10⁻³ ions later, so the shape may jump
        between runs (e.g. after re-sharpening).

    Raises:
        ValueError: empty list, or a run's profiles extend beyond its own ion count.
    """
    if isinstance(runs, dict) or not len(runs):
        raise validate.InputError("runs must be a non-empty list of run dicts (x_det, y_det, voltage, profiles)")
    merge_tol = validate.scalar(merge_tol, "merge_tol", "nm", nonnegative=True)
    for j, run in enumerate(runs):
        missing = [k for k in ("x_det", "y_det", "voltage", "profiles") if k not in run]
        if missing:
            raise validate.InputError(f"runs[{j}] is missing {missing}; each run needs x_det, y_det, voltage, profiles")
        _profiles(run["profiles"], f"runs[{j}]['profiles']")
        n = len(run["x_det"])
        for k, u in (("x_det", "mm"), ("y_det", "mm"), ("voltage", "V")):
            validate.array(run[k], f"runs[{j}]['{k}']", shape=(n,), kind="real", units=u)
    cols = {k: [] for k in ("x_det", "y_det", "voltage", "run")}
    fields = {k: [] for k in ("count", "apex_z", "radius", "shank_angle", "sag")}
    offset, last, r_grid = 0.0, -np.inf, None
    for j, run in enumerate(runs):
        n = len(run["x_det"])
        pr = run["profiles"]
        cnt = np.asarray(pr.count, np.float64)
        if cnt[-1] > n + 1e-9:
            raise validate.InputError(f"runs[{j}]: profile count {cnt[-1]} exceeds the run's {n} ions")
        g = cnt + offset
        keep = np.ones(g.size, bool)
        if g[0] <= last:
            same = (abs(pr.apex_z[0] - fields["apex_z"][-1][-1]) <= merge_tol
                    and abs(pr.radius[0] - fields["radius"][-1][-1]) <= merge_tol)
            if same:
                keep[0] = False  # the snapshot between the runs, recorded twice
            else:
                g[0] = last + 1e-3
        fields["count"].append(g[keep])
        for k in ("apex_z", "radius", "shank_angle"):
            fields[k].append(np.asarray(getattr(pr, k), np.float64)[keep])
        if pr.sag is not None:
            fields["sag"].append(np.asarray(pr.sag)[keep])
            r_grid = np.asarray(pr.r)
        for k in ("x_det", "y_det", "voltage"):
            cols[k].append(np.asarray(run[k]))
        cols["run"].append(np.full(n, j, np.int32))
        offset += n
        last = g[-1]
    out = {k: np.concatenate(v) for k, v in cols.items()}
    sag = np.concatenate(fields["sag"]) if len(fields["sag"]) == len(runs) else None
    out["profiles"] = tip_profiles(np.concatenate(fields["count"]), np.concatenate(fields["apex_z"]),
                                   np.concatenate(fields["radius"]), np.rad2deg(np.concatenate(fields["shank_angle"])),
                                   r_grid if sag is not None else None, sag)
    return out
