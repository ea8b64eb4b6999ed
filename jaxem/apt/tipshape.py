"""Tip shapes: profiles of revolution of an APT needle and their back-projection tables.

A needle is a solid of revolution about z (pointing to the detector). Its surface is described by
the apex height z_apex [nm] and the **sag** g(r) ≥ 0 [nm]: the surface point at lateral radius r
[nm] sits at z = z_apex − g(r). The analytic family used throughout is a **conic cap** of apex
curvature radius R [nm] and conic constant K (K = 0 hemisphere, K < 0 flatter prolate, −1 paraboloid,
K > 0 oblate, more curved at the flanks),

    g(r) = r² / (R (1 + √(1 − (1 + K) r²/R²))),

joined tangentially to a cone of half (shank) angle α: beyond the tangent point r_t the sag grows
linearly with slope cot α, r_t = R·cot α / √(1 + (1 + K) cot²α).

Ions leave the surface along its normal; the **normal angle** ψ(r) = atan(g′(r)) is what the
projection (:mod:`jaxem.apt.reconstruct`) relates to the detector angle. For the conic,
r(ψ) = R tan ψ / √(1 + (1 + K) tan²ψ) in closed form. A measured profile (arrays) is turned into the
same lookup tables r(ψ), g(ψ) numerically (:func:`cap_tables`).

:class:`TipProfiles` holds a sequence of TEM snapshots indexed by the **cumulative detected-ion
count** at which each was taken.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate


def _check_positive(value, name, units):
    if validate.is_traced(value):
        return
    if np.ndim(value) == 0:
        validate.scalar(value, name, units, positive=True)
        return
    validate.array(value, name, kind="real", units=units)
    if np.any(np.asarray(value) <= 0):
        raise validate.InputError(f"{name} must be > 0 [{units}], got a minimum of {np.min(np.asarray(value)):g}")


def _check_conic(R, K, alpha):
    _check_positive(R, "R", "nm")
    if not validate.is_traced(K):
        (validate.scalar if np.ndim(K) == 0 else validate.array)(K, "K")
    if alpha is not None and not validate.is_traced(alpha):
        a = np.asarray(alpha, float)
        validate.array(a, "alpha", kind="real", units="rad", min_size=0)
        if np.any((a <= 0) | (a >= np.pi / 2)):
            raise validate.InputError(f"alpha (shank half-angle) must be in (0, π/2) rad, got {alpha}")


def conic_sag(r, R, K=0.0, alpha=None):
    """Sag g(r) [nm] of a conic cap (optionally continued by a tangent cone of half-angle α [rad]).

    Args:
        r: lateral radius [nm] (≥ 0).
        R: apex curvature radius [nm] (> 0).
        K: conic constant (> −1 for a closed cap with a cone).
        alpha: shank half-angle [rad]; None → the cap only (valid where 1 − (1+K)r²/R² ≥ 0).

    Returns:
        g(r) [nm], broadcast over the inputs.
    """
    _check_conic(R, K, alpha)
    return _conic_sag(r, R, K, alpha)


def _conic_sag(r, R, K=0.0, alpha=None):
    """:func:`conic_sag` without the boundary checks (for inner loops)."""
    xp = jnp if isinstance(r, jax.Array) or isinstance(R, jax.Array) else np
    r = xp.asarray(r)
    if alpha is None:
        arg = xp.clip(1 - (1 + K) * r**2 / R**2, 0.0, None)
        return r**2 / (R * (1 + xp.sqrt(arg)))
    m = 1 / xp.tan(alpha)
    rt = R * m / xp.sqrt(1 + (1 + K) * m**2)
    rc = xp.minimum(r, rt)
    gc = rc**2 / (R * (1 + xp.sqrt(xp.clip(1 - (1 + K) * rc**2 / R**2, 0.0, None))))
    return gc + xp.maximum(r - rt, 0.0) * m


def conic_r_of_psi(psi, R, K=0.0):
    """Lateral radius [nm] where the conic cap's normal makes the angle ψ [rad] with z."""
    _check_conic(R, K, None)
    return _conic_r_of_psi(psi, R, K)


def _conic_r_of_psi(psi, R, K=0.0):
    xp = jnp if isinstance(psi, jax.Array) else np
    t = xp.tan(psi)
    return R * t / xp.sqrt(1 + (1 + K) * t**2)


def cap_tables_conic(theta, R, K, alpha):
    """Back-projection tables of conic caps: r(θ), g(θ) [nm] on the angle grid θ [rad].

    Args:
        theta: (n_theta,) normal angles [rad].
        R, K, alpha: (n_snap,) apex radii [nm], conic constants, shank half-angles [rad].

    Returns:
        (r_tab, g_tab), each (n_snap, n_theta); angles beyond the cap (θ > π/2 − α) are clamped
        to the tangent point.
    """
    _check_conic(R, K, alpha)
    validate.array(theta, "theta", ndim=1, kind="real", units="rad")
    R, K, alpha = (np.asarray(v, np.float64).reshape(-1)[:, None] for v in (R, K, alpha))
    th = np.minimum(np.asarray(theta, np.float64)[None, :], np.pi / 2 - alpha)
    r = _conic_r_of_psi(th, R, K)
    return r, _conic_sag(r, R, K)


def cap_tables(theta, r, sag):
    """Back-projection tables of measured profiles.

    Args:
        theta: (n_theta,) normal angles [rad] (increasing, ≥ 0).
        r: (n_r,) lateral radii [nm], increasing from 0.
        sag: (n_snap, n_r) sag profiles g(r) [nm] (convex: slope non-decreasing).

    Returns:
        (r_tab, g_tab), each (n_snap, n_theta) [nm]; angles steeper than the measured profile are
        clamped to its outermost point.
    """
    validate.array(theta, "theta", ndim=1, kind="real", units="rad", nonnegative=True)
    validate.array(r, "r", ndim=1, kind="real", units="nm", nonnegative=True, min_size=2)
    validate.array(sag, "sag", ndim=(1, 2), kind="real", units="nm")
    r = np.asarray(r, np.float64)
    sag = np.atleast_2d(np.asarray(sag, np.float64))
    if sag.shape[-1] != r.size:
        raise validate.InputError(f"sag must have one value per radius on its last axis ({r.size}), got {sag.shape}")
    if np.any(np.diff(r) <= 0):
        raise validate.InputError("r must be strictly increasing [nm]")
    th = np.asarray(theta, np.float64)
    psi = np.arctan(np.gradient(sag, r, axis=1))
    psi = np.maximum.accumulate(np.maximum(psi, 0.0), axis=1) + np.arange(r.size) * 1e-12
    r_tab = np.stack([np.interp(th, p, r) for p in psi])
    g_tab = np.stack([np.interp(rt, r, s) for rt, s in zip(r_tab, sag)])
    return r_tab, g_tab


@pytree.dataclass
class TipProfiles:
    """A sequence of measured tip shapes, indexed by cumulative detected-ion count.

    Attributes:
        count: (n_snap,) cumulative number of detected ions when each profile was taken
            (strictly increasing).
        apex_z: (n_snap,) apex height [nm] in the specimen frame (z toward the detector).
        radius: (n_snap,) apex curvature radius [nm].
        shank_angle: (n_snap,) shank half-angle [rad].
        r: (n_r,) lateral grid [nm] of the full profiles, or None.
        sag: (n_snap, n_r) full sag profiles [nm], or None (spherical cap + cone assumed).
    """

    count: jax.Array = pytree.field(units="ions")
    apex_z: jax.Array = pytree.field(units="nm")
    radius: jax.Array = pytree.field(units="nm")
    shank_angle: jax.Array = pytree.field(units="rad")
    r: jax.Array | None = pytree.field(units="nm", default=None)
    sag: jax.Array | None = pytree.field(units="nm", default=None)

    def tables(self, theta):
        """(r_tab, g_tab) on the angle grid θ [rad] (measured profiles if given, else spheres)."""
        if self.sag is not None:
            return cap_tables(theta, self.r, self.sag)
        return cap_tables_conic(theta, self.radius, np.zeros(len(self.radius)), self.shank_angle)


def tip_profiles(count, apex_z, radius, shank_angle_deg=None, r=None, sag=None) -> TipProfiles:
    """Validate and pack measured profiles (arrays) into :class:`TipProfiles`.

    Args:
        count: cumulative detected-ion count of each snapshot (strictly increasing, ≥ 0).
        apex_z: apex heights [nm].
        radius: apex curvature radii [nm] (> 0).
        shank_angle_deg: shank half-angles [deg] in [0, 60); default 10°.
        r: lateral grid [nm] of full profiles (increasing from 0), optional.
        sag: (n_snap, n_r) sag profiles [nm], optional (requires ``r``).

    Returns:
        :class:`TipProfiles` (float64 numpy arrays).

    Raises:
        ValueError: fewer than 2 snapshots, count not strictly increasing ("profiles not monotonic
            in ion index"), non-positive radii, bad angles, mismatched shapes, NaN.
    """
    for name, v, u in (("count", count, "ions"), ("apex_z", apex_z, "nm"), ("radius", radius, "nm")):
        validate.array(v, name, kind="real", units=u, finite=False)
    count = np.asarray(count, np.float64).ravel()
    n = count.size
    apex_z = np.asarray(apex_z, np.float64).ravel()
    radius = np.asarray(radius, np.float64).ravel()
    if shank_angle_deg is None:
        ang = np.full(n, 10.0)
    else:
        validate.array(shank_angle_deg, "shank_angle_deg", kind="real", units="deg", finite=False)
        try:
            ang = np.broadcast_to(np.asarray(shank_angle_deg, np.float64), (n,))
        except ValueError:
            raise validate.InputError(f"shank_angle_deg must be a scalar or one value per profile ({n}), got "
                                      f"shape {np.shape(shank_angle_deg)}") from None
    if n < 2:
        raise validate.InputError(f"count: need at least 2 tip profiles, got {n}")
    for name, v in (("count", count), ("apex_z", apex_z), ("radius", radius), ("shank_angle_deg", ang)):
        if v.shape != (n,):
            raise validate.InputError(f"{name} must have one value per profile ({n}), got shape {v.shape}")
        validate.array(v, name, kind="real")
    if np.any(count < 0):
        raise validate.InputError(f"count must be finite and ≥ 0, got min {count.min()}")
    d = np.diff(count)
    if np.any(d <= 0):
        k = int(np.flatnonzero(d <= 0)[0])
        raise validate.InputError(
            f"profiles not monotonic in ion index: count[{k}]={count[k]} ≥ count[{k + 1}]={count[k + 1]}; "
            f"snapshots must be ordered by strictly increasing cumulative ion count"
        )
    if np.any(radius <= 0):
        k = int(np.flatnonzero(radius <= 0)[0])
        raise validate.InputError(f"radius must be > 0 nm, got radius[{k}]={radius[k]}")
    if np.any((ang < 0) | (ang >= 60)):
        raise validate.InputError(f"shank_angle_deg must be in [0, 60) deg, got {ang.min()}..{ang.max()}")
    if sag is not None:
        if r is None:
            raise validate.InputError("sag profiles need the lateral grid r [nm]")
        validate.array(r, "r", ndim=1, kind="real", units="nm")
        r = np.asarray(r, np.float64)
        validate.array(sag, "sag", kind="real", units="nm")
        sag = np.asarray(sag, np.float64)
        if r.ndim != 1 or r[0] < 0 or np.any(np.diff(r) <= 0):
            raise validate.InputError("r must be a 1-D increasing grid starting at ≥ 0 nm")
        if sag.shape != (n, r.size):
            raise validate.InputError(f"sag must have shape (n_profiles, n_r) = {(n, r.size)}, got {sag.shape}")
    elif r is not None:
        raise validate.InputError("r (the lateral grid) was given without sag profiles; give both or neither")
    return TipProfiles(count, apex_z, radius, np.deg2rad(ang), r, sag)
