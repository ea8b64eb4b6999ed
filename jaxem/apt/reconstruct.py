"""Conventional APT reconstruction (Bas et al. 1995; Geiser et al. 2009; Gault et al. 2011).

Per ion i (evaporation order) with detector hit (x_D, y_D) [mm] and voltage V_i [V]:

* **projection**: φ = atan2(y_D, x_D); θ′ = atan(r_D/L) with the flight path L [mm]; the
  crystallographic (surface-normal) angle is θ = ξ·θ′ (``"linear"``, Bas) or
  θ = θ′ + asin((ξ − 1) sin θ′) (``"wide"``, Geiser/Gault wide-angle form), ξ the image compression
  factor.
* **radius**: voltage law R_i = V_i/(k·F) (``"voltage"``; k·F [V/nm]) or the shank-angle law
  R(z) = R₀ + d·sin α/(1 − sin α) with d the analysed depth (``"shank"``).
* **depth increment**: dz_i = Ω/(η·A_i), Ω the atomic volume [nm³], η the detector efficiency and
  A_i the analysed cap area: ``"cap"`` A = π R² sin²θ_max (the lateral area of the cap inside the
  field of view, exact for a translating hemisphere) or ``"bas"`` A = A_D ξ² R²/L² (small angles,
  A_D = π r_D,max² the detector area).
* **position** on the hemispherical cap: x = R sin θ cos φ, y = R sin θ sin φ,
  z = z_tip,i − R(1 − cos θ), z_tip,i = z₀ − Σ_{j<i} dz_j (z points to the detector, depth negative).

(APyT's "classic" scheme integrates the exact frustum between consecutive caps instead, which adds
ΔR·tan²(θ_max/2) to the depth of a growing cap; the test suite checks this relation against APyT.)

With the shank law, R³(i) = R₀³ + 3 s c·i (s = sin α/(1 − sin α), dz_i = c/R²), so the recursion has a
closed form and everything is vectorised over ions (no scan). All functions are jit-compatible and
differentiable in (k·F, ξ, η, L, R₀, α).
"""
from __future__ import annotations

import warnings

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate

PROJECTIONS = ("linear", "wide")
PROTOCOLS = ("voltage", "shank")
DEPTH_MODELS = ("cap", "bas")


@pytree.dataclass
class ReconParams:
    """Reconstruction parameters (all pytree leaves, differentiable).

    Attributes:
        kF: field factor × evaporation field, k·F [V/nm].
        xi: image compression factor ξ.
        eta: detector efficiency η (0–1].
        L: flight path [mm].
        omega: atomic volume Ω [nm³].
        detector_radius: radius of the detector's active area [mm].
        R0: initial radius for the shank protocol [nm].
        shank_angle: shank half-angle α for the shank protocol [rad].
        z0: initial apex height [nm].
    """

    kF: jax.Array = pytree.field(units="V/nm")
    xi: jax.Array = pytree.field(units="1")
    eta: jax.Array = pytree.field(units="1")
    L: jax.Array = pytree.field(units="mm")
    omega: jax.Array = pytree.field(units="nm³")
    detector_radius: jax.Array = pytree.field(units="mm")
    R0: jax.Array = pytree.field(units="nm", default=10.0)
    shank_angle: jax.Array = pytree.field(units="rad", default=0.2)
    z0: jax.Array = pytree.field(units="nm", default=0.0)


def detector_angles(x_det, y_det, L, xi, projection: str = "linear", return_phi: bool = True):
    """Surface-normal polar angle θ [rad] and azimuth φ [rad] of each detector hit.

    Args:
        x_det, y_det: hit coordinates [mm].
        L: flight path [mm].
        xi: image compression factor.
        projection: ``"linear"`` (θ = ξθ′) or ``"wide"`` (θ = θ′ + asin((ξ−1) sin θ′)).
        return_phi: also compute φ (else None; see :func:`detector_direction`).

    Returns:
        (θ, φ).
    """
    validate.scalar(L, "L", "mm", positive=True)  # concrete values checked; traced ones pass
    validate.scalar(xi, "xi", positive=True)
    if projection not in PROJECTIONS:
        validate.choice(projection, "projection", PROJECTIONS)
    rd = jnp.sqrt(x_det**2 + y_det**2)
    tp = jnp.arctan(rd / L)
    if not return_phi:
        phi = None
    else:
        phi = jnp.arctan2(y_det, x_det)
    if projection == "linear":
        th = xi * tp
    elif projection == "wide":
        th = tp + jnp.arcsin(jnp.clip((xi - 1) * jnp.sin(tp), -1.0, 1.0))
    else:
        validate.choice(projection, "projection", PROJECTIONS)
    return th, phi


def detector_direction(x_det, y_det):
    """(cos φ, sin φ) of each hit without trigonometric calls (1, 0 at the detector centre)."""
    r2 = x_det**2 + y_det**2
    ok = r2 > 0
    inv = 1 / jnp.sqrt(jnp.where(ok, r2, 1.0))
    return jnp.where(ok, x_det * inv, 1.0), jnp.where(ok, y_det * inv, 0.0)


@validate.typed
def max_angle(p: ReconParams, projection: str = "linear"):
    """θ_max [rad]: the surface-normal angle imaged at the detector edge."""
    validate.choice(projection, "projection", PROJECTIONS)
    th, _ = detector_angles(p.detector_radius, 0.0 * p.detector_radius, p.L, p.xi, projection)
    return th


def _depth_constant(p: ReconParams, depth_model: str, projection: str):
    """c with dz = c/R² [nm³/nm² per ion]."""
    if depth_model == "cap":
        return p.omega / (p.eta * jnp.pi * jnp.sin(max_angle(p, projection)) ** 2)
    if depth_model == "bas":
        return p.omega * p.L**2 / (p.eta * jnp.pi * p.detector_radius**2 * p.xi**2)
    validate.choice(depth_model, "depth_model", DEPTH_MODELS)


@validate.typed
def radius_and_apex(p: ReconParams, voltage, n_ions: int, protocol: str = "voltage",
                    depth_model: str = "cap", projection: str = "linear"):
    """Per-ion radius R_i [nm] and apex height z_tip,i [nm] of the conventional protocols.

    Args:
        p: :class:`ReconParams`.
        voltage: per-ion voltage [V] (> 0, (n_ions,); used by ``"voltage"``; may be None for ``"shank"``).
        n_ions: number of ions (≥ 1).
        protocol: ``"voltage"`` or ``"shank"``.
        depth_model: ``"cap"`` or ``"bas"``.
        projection: see :func:`detector_angles`.

    Returns:
        (R, z_tip), each (n_ions,).
    """
    n_ions = validate.integer(n_ions, "n_ions", lo=1)
    _check_choices(protocol, depth_model, projection)
    if protocol == "voltage":
        if voltage is None:
            raise validate.InputError("protocol='voltage' needs the per-ion voltage [V]")
        voltage = jnp.asarray(voltage)
        if voltage.shape != (n_ions,):
            raise validate.InputError(f"voltage must have one value per ion ({n_ions},), got shape {voltage.shape}")
    validate_inputs(p, jnp.zeros(n_ions), jnp.zeros(n_ions), voltage if protocol == "voltage" else None,
                    protocol=protocol)
    return _radius_and_apex(p, voltage, n_ions, protocol, depth_model, projection)


def _check_choices(protocol, depth_model, projection):
    validate.choice(protocol, "protocol", PROTOCOLS)
    validate.choice(depth_model, "depth_model", DEPTH_MODELS)
    validate.choice(projection, "projection", PROJECTIONS)


@partial(jax.jit, static_argnames=("n_ions", "protocol", "depth_model", "projection"))
def _radius_and_apex(p: ReconParams, voltage, n_ions: int, protocol: str = "voltage",
                     depth_model: str = "cap", projection: str = "linear"):
    """Jitted core of :func:`radius_and_apex` (no validation)."""
    c = _depth_constant(p, depth_model, projection)
    if protocol == "voltage":
        R = voltage / p.kF
        dz = c / R**2
        z_tip = p.z0 - (jax.lax.associative_scan(jnp.add, dz) - dz)  # parallel prefix sum
    elif protocol == "shank":
        i = jnp.arange(n_ions, dtype=jnp.result_type(p.R0, float))
        sa = jnp.sin(p.shank_angle)
        s = sa / (1 - sa)
        small = s < 1e-6
        s_safe = jnp.where(small, 1.0, s)
        R = jnp.where(small, p.R0, jnp.cbrt(p.R0**3 + 3 * s_safe * c * i))
        z_tip = p.z0 - jnp.where(small, c * i / p.R0**2, (R - p.R0) / s_safe)
    else:
        validate.choice(protocol, "protocol", PROTOCOLS)
    return R, z_tip


_PARAM_RANGES = (("kF", 0, np.inf, "V/nm"), ("xi", 0, 10, ""), ("eta", 0, 1, ""), ("L", 0, np.inf, "mm"),
                 ("omega", 0, np.inf, "nm³"), ("detector_radius", 0, np.inf, "mm"))


def validate_inputs(p: ReconParams, x_det, y_det, voltage=None, protocol: str = "voltage") -> None:
    """Public-boundary checks (skipped under tracing): shapes, finiteness, parameter ranges.

    Raises:
        ValueError (:class:`jaxem.validate.InputError`): naming the argument, its value and the
        expected range; TypeError when ``p`` is not a :class:`ReconParams`.
    """
    if not isinstance(p, ReconParams):
        raise validate.InputTypeError(f"p must be ReconParams, got {type(p).__name__}")
    if jnp.ndim(x_det) != 1 or jnp.shape(x_det) != jnp.shape(y_det):
        raise validate.InputError(f"x_det and y_det must be 1-D of equal length, got {jnp.shape(x_det)} and "
                                  f"{jnp.shape(y_det)}")
    if voltage is not None and jnp.shape(voltage) != jnp.shape(x_det):
        raise validate.InputError(f"voltage must have one value per ion {jnp.shape(x_det)}, got {jnp.shape(voltage)}")
    if validate.is_traced((p, x_det, y_det, voltage)):
        return
    names = _PARAM_RANGES + ((("R0", 0, np.inf, "nm"), ("shank_angle", 0, np.pi / 2, "rad"))
                             if protocol == "shank" else ())
    for name, lo, hi, units in names:
        v = getattr(p, name)
        if np.ndim(v) != 0:
            raise validate.InputError(f"ReconParams.{name} must be a scalar{f' [{units}]' if units else ''}, "
                                      f"got shape {np.shape(v)}")
        v = float(v)
        if not (lo < v <= hi) or not np.isfinite(v):
            raise validate.InputError(f"ReconParams.{name}={v} outside the range ({lo}, {hi}]"
                                      + (f" [{units}]" if units else ""))
    validate.scalar(p.z0, "ReconParams.z0", "nm")
    _finite(x_det, "x_det", "mm")
    _finite(y_det, "y_det", "mm")
    if jnp.size(x_det):
        r_max = float(jnp.sqrt(jnp.max(jnp.asarray(x_det, float) ** 2 + jnp.asarray(y_det, float) ** 2)))
        if r_max > float(p.detector_radius) * (1 + 1e-3):  # the depth increment uses the detector's area
            warnings.warn(
                f"x_det, y_det: a hit lies {r_max:.4g} mm from the detector centre, outside the active area of "
                f"ReconParams.detector_radius = {float(p.detector_radius):.4g} mm (the depth scale dz = Ω/(η·A) "
                f"assumes every hit inside it); check the hit units (mm) or detector_radius", UserWarning,
                stacklevel=3)
    if voltage is not None:
        _finite(voltage, "voltage", "V")
        if voltage.size and not bool(jnp.all(voltage > 0)):
            raise validate.InputError(f"voltage must be > 0 V, got min {float(jnp.min(voltage))}")


def _finite(a, name, units):
    """Real and finite, checked where the array lives (one reduction; the array is copied to the host
    only to report the first bad index)."""
    if not jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating) and not jnp.issubdtype(jnp.asarray(a).dtype, jnp.integer):
        raise validate.InputTypeError(f"{name} must be a real array [{units}], got dtype {jnp.asarray(a).dtype}")
    if a.size and not bool(jnp.all(jnp.isfinite(a))):
        validate.array(np.asarray(a), name, kind="real", units=units)


@validate.typed
def reconstruct_bas(p: ReconParams, x_det, y_det, voltage=None, protocol: str = "voltage",
                    depth_model: str = "cap", projection: str = "linear"):
    """Conventional reconstruction onto a hemispherical cap (validated; see :func:`_reconstruct_bas`).

    Args:
        p: :class:`ReconParams`.
        x_det, y_det: detector hits [mm], (n,).
        voltage: per-ion voltage [V], (n,) (``"voltage"`` protocol).
        protocol, depth_model, projection: see :func:`radius_and_apex`.

    Returns:
        (n, 3) positions [nm].
    """
    x_det, y_det = jnp.asarray(x_det), jnp.asarray(y_det)
    voltage = None if voltage is None else jnp.asarray(voltage)
    _check_choices(protocol, depth_model, projection)
    if protocol == "voltage" and voltage is None:
        raise validate.InputError("protocol='voltage' needs the per-ion voltage [V]")
    validate_inputs(p, x_det, y_det, voltage, protocol=protocol)
    return _reconstruct_bas(p, x_det, y_det, voltage, protocol, depth_model, projection)


@partial(jax.jit, static_argnames=("protocol", "depth_model", "projection"))
def _reconstruct_bas(p: ReconParams, x_det, y_det, voltage=None, protocol: str = "voltage",
                    depth_model: str = "cap", projection: str = "linear"):
    """Jitted core of :func:`reconstruct_bas` (same arguments, no validation)."""
    R, z_tip = _radius_and_apex(p, voltage, x_det.shape[0], protocol, depth_model, projection)
    th, _ = detector_angles(x_det, y_det, p.L, p.xi, projection, return_phi=False)
    c, s = detector_direction(x_det, y_det)
    rs = R * jnp.sin(th)
    return jnp.stack([rs * c, rs * s, z_tip - R * (1 - jnp.cos(th))], -1)
