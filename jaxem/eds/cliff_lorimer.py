"""Cliff–Lorimer quantification (thin-film ratio method), with k-factors from a standard.

G. Cliff & G. W. Lorimer, J. Microsc. 103, 203 (1975): C_A/C_B = k_AB · I_A/I_B. With k-factors
k_i relative to a reference line (k_ref = 1, **weight-fraction** based) and Σ C = 1,

    C_i = k_i I_i ACF_i / Σ_j k_j I_j ACF_j,

where ACF_i (:mod:`jaxem.eds.absorption`) corrects absorption in a film of known mass thickness
ρt = ρ·t (from EELS, CBED or the FIB geometry — CL itself cannot measure it). ACF depends on the
composition through the specimen μ/ρ, so the corrected composition is a fixed point
C = Q_CL(I·ACF(C, ρt)) iterated from ACF = 1 per pixel, like :mod:`jaxem.eds.zeta`.

k-factors from a standard of known composition C^std (:func:`fit_k_factors`):
k_i = (C_i/C_ref) · (Σ_p I_ref,p ACF_ref,p) / (Σ_p I_i,p ACF_i,p) over the standard's pixels. A
thick standard without absorption correction carries its absorption bias into the k-factors.
Standardless (theoretical) k-factors come from :mod:`jaxem.eds.cross_section`.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from .absorption import absorption_chi, absorption_factor
from .composition import (BAD_INPUT, NOT_CONVERGED, OK, bad_pixel_list, check_factors, check_lines,
                          check_intensities, check_mac, clip_negative, float_dtype, fraction_uncertainty,
                          mask_map, nav_parameter, take_off, weight_to_atomic)
from .data import check_density, mac_mixture


def _cl(intensities, k, acf):
    u = intensities * k * acf
    s = u.sum(-1, keepdims=True)
    ok = s > 0
    return jnp.where(ok, u / jnp.where(ok, s, 1), 0)


@pytree.dataclass
class CliffLorimerState:
    """Absorption-correction iteration state over the navigation shape (…) and lines (n).

    Attributes:
        weights: (..., n) weight fractions.
        acf: (..., n) absorption correction factors used for ``weights``.
        converged: (...) bool.
        iterations: (...) int32 steps taken.
    """

    weights: jax.Array
    acf: jax.Array
    converged: jax.Array
    iterations: jax.Array


def cliff_lorimer_init(intensities, k_factors) -> CliffLorimerState:
    """Uncorrected Cliff–Lorimer quantification (ACF = 1) as the starting state.

    Args:
        intensities: (..., n) net counts (≥ 0; clip negative values first).
        k_factors: (n,) weight-based k-factors.
    """
    check_lines(k_factors, jnp.shape(intensities)[-1] if jnp.ndim(intensities) else 0, "k_factors",
                "one per line of intensities")
    acf = jnp.ones_like(intensities)
    empty = jnp.sum(intensities, -1) <= 0
    return CliffLorimerState(_cl(intensities, k_factors, acf), acf, empty, jnp.zeros(empty.shape, jnp.int32))


@validate.typed
def cliff_lorimer_step(state: CliffLorimerState, intensities, k_factors, mass_thickness, mac, take_off_deg,
                       tol) -> CliffLorimerState:
    """One absorption-correction step C ← Q_CL(I·ACF(C, ρt)); converged pixels are left unchanged.

    Args:
        state: the current :class:`CliffLorimerState`.
        intensities: (..., n) net counts (≥ 0). k_factors: (n,).
        mass_thickness: (...) ρt [g/cm²]. mac: (n, n) μ/ρ [cm²/g]. take_off_deg: [deg].
        tol: convergence tolerance on the weight fractions.
    """
    new_acf = absorption_factor(absorption_chi(mac_mixture(state.weights, mac), mass_thickness, take_off_deg))
    new_w = _cl(intensities, k_factors, new_acf)
    done = jnp.max(jnp.abs(new_w - state.weights), -1) < tol
    keep = state.converged
    return CliffLorimerState(weights=jnp.where(keep[..., None], state.weights, new_w),
                             acf=jnp.where(keep[..., None], state.acf, new_acf),
                             converged=keep | done,
                             iterations=state.iterations + (~keep).astype(jnp.int32))


def _solve(intensities, k, mass_thickness, mac, take_off_deg, tol, max_iter, absorb):
    """The driver: ``cliff_lorimer_init`` then ``cliff_lorimer_step`` under ``lax.while_loop``."""
    ic, status = clip_negative(intensities)
    state = cliff_lorimer_init(ic, k)
    if absorb:
        def cond(c):
            st, n = c
            return (n < max_iter) & ~jnp.all(st.converged)

        def body(c):
            st, n = c
            return cliff_lorimer_step(st, ic, k, mass_thickness, mac, take_off_deg, tol), n + 1

        state, _ = jax.lax.while_loop(cond, body, (state, jnp.int32(0)))
        status = status | jnp.where(~state.converged, NOT_CONVERGED, OK).astype(jnp.int32)
    return state.weights, state.acf, ic, state.iterations, status


@pytree.dataclass
class CliffLorimerResult:
    """Per-pixel Cliff–Lorimer result (navigation shape ``...``, ``n`` lines).

    Attributes:
        weight_fractions, atomic_fractions: (..., n); 0 for ``NO_SIGNAL`` and ``BAD_INPUT`` pixels.
        weight_sigma, atomic_sigma: (..., n) 1σ Poisson uncertainties.
        absorption_factors: (..., n) ACF (1 without absorption correction).
        iterations: (...) absorption-correction steps.
        status: (...) int32 flags (:data:`jaxem.eds.composition.STATUS`).
        bad_pixels: (n_bad, nav_ndim) indices of the masked input pixels (status ``BAD_INPUT``).
    """

    weight_fractions: jax.Array
    atomic_fractions: jax.Array
    weight_sigma: jax.Array
    atomic_sigma: jax.Array
    absorption_factors: jax.Array
    iterations: jax.Array
    status: jax.Array
    bad_pixels: np.ndarray = None


def cliff_lorimer_quantification(intensities, k_factors, atomic_weights, *, mass_thickness=None, mac=None,
                                 take_off_deg=None, thickness_nm=None, density=None, tol: float = 1e-6,
                                 max_iter: int = 50, variance=None, precision=None) -> CliffLorimerResult:
    """Cliff–Lorimer quantification of every pixel, optionally absorption-corrected.

    Bad pixels of a map (NaN/inf in ``intensities`` or ``variance``) are masked: status
    ``BAD_INPUT``, outputs 0, listed in ``bad_pixels``; the other pixels equal the result without
    them. A single pixel (1-D ``intensities``) with NaN is rejected.

    Args:
        intensities: (..., n) net counts, one line per element (last axis).
        k_factors: (n,) weight-based k-factors (any common scale; usually k_ref = 1), > 0.
        atomic_weights: (n,) [g/mol], > 0.
        mass_thickness: ρt [g/cm²] ≥ 0 (scalar or navigation-shaped) = density × thickness; needed
            (with ``mac`` and ``take_off_deg``) for absorption correction.
        mac: (n, n) μ/ρ matrix [cm²/g] (:func:`jaxem.eds.data.mac_matrix`).
        take_off_deg: take-off angle [deg] in (0, 90).
        thickness_nm, density: alternative to ``mass_thickness``: thickness [nm] ≥ 0 (scalar or
            navigation-shaped) and phase density [g/cm³] > 0; ρt = density × thickness.
        tol: convergence tolerance on the weight fractions (> 0).
        max_iter: maximum absorption-correction steps (≥ 1).
        variance: optional (..., n) variance of the intensities (default: Poisson).
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (default: follows ``intensities``).
    """
    a, var, bad = mask_map(intensities, variance)
    n = a.shape[-1]
    nav = a.shape[:-1]
    k = check_factors(k_factors, n, "k_factors")
    aw = check_factors(atomic_weights, n, "atomic_weights", "g/mol")
    tol = validate.scalar(tol, "tol", positive=True)
    max_iter = validate.integer(max_iter, "max_iter", lo=1)  # checked even without absorption
    if thickness_nm is not None:
        if mass_thickness is not None:
            raise validate.InputError("give either mass_thickness or thickness_nm (+ density), not both")
        if density is None:
            raise validate.InputError("thickness_nm needs the phase density [g/cm³] (density=...)")
        d = float(check_density(density))
        mass_thickness = d * nav_parameter(thickness_nm, "thickness_nm", nav, "nm", nonnegative=True) * 1e-7
    absorb = mac is not None or mass_thickness is not None
    if absorb:
        if mass_thickness is None:
            raise validate.InputError("Cliff–Lorimer absorption correction needs mass_thickness [g/cm²] "
                                      "(density × thickness); CL cannot measure it")
        if mac is None:
            raise validate.InputError("Cliff–Lorimer absorption correction needs mac (n_lines × n_elements) "
                                      "[cm²/g]")
        mac = check_mac(mac, n, n)
        rt = nav_parameter(mass_thickness, "mass_thickness", nav, "g/cm²", nonnegative=True)
        toa = take_off(take_off_deg)
    else:
        mac, rt, toa = np.zeros((n, n)), np.zeros(()), 90.0
        if take_off_deg is not None:
            take_off(take_off_deg)
    dt = float_dtype(intensities, precision)
    var = None if var is None else jnp.asarray(var, dt)
    r = _solve_all(jnp.asarray(a, dt), jnp.asarray(k, dt), jnp.asarray(rt, dt), jnp.asarray(mac, dt),
                   jnp.asarray(toa, dt), jnp.asarray(tol, dt), jnp.asarray(aw, dt), var, jnp.asarray(bad),
                   int(max_iter), absorb)
    return r.replace(bad_pixels=bad_pixel_list(bad))


@partial(jax.jit, static_argnames=("max_iter", "absorb"))
def _solve_all(intensities, k, rt, mac, take_off_deg, tol, aw, variance, bad, max_iter, absorb):
    w, acf, ic, it, status = _solve(intensities, k, rt, mac, take_off_deg, tol, max_iter, absorb)
    at = weight_to_atomic(w, aw)
    return CliffLorimerResult(w, at, fraction_uncertainty(w, ic, variance),
                              fraction_uncertainty(at, ic, variance), acf, it,
                              jnp.where(bad, BAD_INPUT, status).astype(jnp.int32))


def fit_k_factors(intensities, weight_fractions, *, reference: int = 0, mass_thickness=None,
                  mac=None, take_off_deg=None):
    """k-factors (weight basis, k_reference = 1) from a standard region of known composition.

    Args:
        intensities: (..., n) net counts over the standard's pixels (all are used; finite).
        weight_fractions: (n,) known weight fractions of the standard (> 0, summing to 1).
        reference: index of the reference line (k = 1).
        mass_thickness, mac, take_off_deg: optional absorption correction of the standard
            (ρt [g/cm²] ≥ 0, μ/ρ matrix [cm²/g], take-off angle [deg] in (0, 90)).

    Returns:
        (k (n,), relative 1σ uncertainty (n,) from counting statistics).
    """
    from .zeta import _weight_fractions

    a = check_intensities(intensities)
    n = a.shape[-1]
    c = _weight_fractions(weight_fractions, n, positive=True)
    reference = validate.integer(reference, "reference", lo=0, hi=n - 1)
    acf = np.ones_like(a, dtype=float)
    if mass_thickness is not None:
        if mac is None or take_off_deg is None:
            raise validate.InputError("absorption correction of the standard needs mac [cm²/g] and "
                                      "take_off_deg [deg]")
        mac = check_mac(mac, n, n)
        toa = take_off(take_off_deg)
        rt = np.broadcast_to(nav_parameter(mass_thickness, "mass_thickness", a.shape[:-1], "g/cm²",
                                           nonnegative=True), a.shape[:-1])
        acf = np.asarray(absorption_factor(absorption_chi(jnp.asarray(c @ mac.T), jnp.asarray(rt), toa)))
    tot = (a * acf).reshape(-1, n).sum(0)
    raw = a.reshape(-1, n).sum(0)
    if np.any(raw <= 0):
        raise validate.InputError(f"intensities: the standard has no counts in line(s) {np.nonzero(raw <= 0)[0]}")
    k = (c / c[reference]) * tot[reference] / tot
    rel = np.sqrt(1 / raw + 1 / raw[reference])
    rel[reference] = 0.0
    return k, rel
