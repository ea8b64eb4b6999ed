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
from flax import struct

from .absorption import absorption_chi, absorption_factor
from .composition import (NO_SIGNAL, NOT_CONVERGED, OK, check_factors, check_intensities,
                          clip_negative, float_dtype, fraction_uncertainty, weight_to_atomic)
from .data import mac_mixture


def _cl(intensities, k, acf):
    u = intensities * k * acf
    s = u.sum(-1, keepdims=True)
    ok = s > 0
    return jnp.where(ok, u / jnp.where(ok, s, 1), 0)


def _solve(intensities, k, mass_thickness, mac, take_off_deg, tol, max_iter, absorb):
    ic, status = clip_negative(intensities)
    acf = jnp.ones_like(ic)
    w = _cl(ic, k, acf)
    it = jnp.zeros(status.shape, jnp.int32)
    if absorb:
        conv0 = (status & NO_SIGNAL) > 0

        def cond(c):
            return (c[4] < max_iter) & ~jnp.all(c[2])

        def body(c):
            w, acf, conv, it, n = c
            new_acf = absorption_factor(absorption_chi(mac_mixture(w, mac), mass_thickness, take_off_deg))
            new_w = _cl(ic, k, new_acf)
            done = jnp.max(jnp.abs(new_w - w), -1) < tol
            w = jnp.where(conv[..., None], w, new_w)
            acf = jnp.where(conv[..., None], acf, new_acf)
            it = it + (~conv).astype(jnp.int32)
            return w, acf, conv | done, it, n + 1

        w, acf, conv, it, _ = jax.lax.while_loop(cond, body, (w, acf, conv0, it, jnp.int32(0)))
        status = status | jnp.where(~conv, NOT_CONVERGED, OK).astype(jnp.int32)
    return w, acf, ic, it, status


@struct.dataclass
class CliffLorimerResult:
    """Per-pixel Cliff–Lorimer result (navigation shape ``...``, ``n`` lines).

    Attributes:
        weight_fractions, atomic_fractions: (..., n); 0 for ``NO_SIGNAL`` pixels.
        weight_sigma, atomic_sigma: (..., n) 1σ Poisson uncertainties.
        absorption_factors: (..., n) ACF (1 without absorption correction).
        iterations: (...) absorption-correction steps.
        status: (...) int32 flags (:mod:`jaxem.eds.composition`).
    """

    weight_fractions: jax.Array
    atomic_fractions: jax.Array
    weight_sigma: jax.Array
    atomic_sigma: jax.Array
    absorption_factors: jax.Array
    iterations: jax.Array
    status: jax.Array


def cliff_lorimer_quantification(intensities, k_factors, atomic_weights, *, mass_thickness=None, mac=None,
                                 take_off_deg=None, thickness_nm=None, density=None, tol: float = 1e-6,
                                 max_iter: int = 50, variance=None, precision=None) -> CliffLorimerResult:
    """Cliff–Lorimer quantification of every pixel, optionally absorption-corrected.

    Args:
        intensities: (..., n) net counts, one line per element (last axis).
        k_factors: (n,) weight-based k-factors (any common scale; usually k_ref = 1).
        atomic_weights: (n,) [g/mol].
        mass_thickness: ρt [g/cm²] (scalar or navigation-shaped) = density × thickness; needed
            (with ``mac`` and ``take_off_deg``) for absorption correction.
        mac: (n, n) μ/ρ matrix [cm²/g] (:func:`jaxem.eds.data.mac_matrix`).
        take_off_deg: take-off angle [deg].
        thickness_nm, density: alternative to ``mass_thickness``: thickness [nm] (scalar or
            navigation-shaped) and phase density [g/cm³]; ρt = density × thickness.
        tol: convergence tolerance on the weight fractions.
        max_iter: maximum absorption-correction steps.
        variance: optional (..., n) variance of the intensities (default: Poisson).
        precision: ``"float32"``/``"float64"``.
    """
    a = check_intensities(intensities)
    n = a.shape[-1]
    k = check_factors(k_factors, n, "k_factors")
    aw = check_factors(atomic_weights, n, "atomic_weights")
    if thickness_nm is not None:
        if mass_thickness is not None:
            raise ValueError("give either mass_thickness or thickness_nm (+ density), not both")
        if density is None:
            raise ValueError("thickness_nm needs the phase density [g/cm³] (density=...)")
        d = float(density)
        if not d > 0:
            raise ValueError(f"density must be > 0 g/cm³, got {density}")
        mass_thickness = d * np.asarray(thickness_nm, float) * 1e-7
    absorb = mac is not None or mass_thickness is not None
    if absorb:
        if mass_thickness is None:
            raise ValueError("Cliff–Lorimer absorption correction needs mass_thickness [g/cm²] "
                             "(density × thickness); CL cannot measure it")
        if mac is None:
            raise ValueError("Cliff–Lorimer absorption correction needs mac (n_lines × n_elements)")
        mac = np.asarray(mac, float)
        if mac.shape != (n, n):
            raise ValueError(f"mac must have shape ({n}, {n}), got {mac.shape}")
        rt = np.asarray(mass_thickness, float)
        if np.any(~np.isfinite(rt)) or np.any(rt < 0):
            raise ValueError(f"mass_thickness must be finite and ≥ 0 g/cm², got {mass_thickness}")
        if take_off_deg is None or not 0 < float(take_off_deg) < 90:
            raise ValueError(f"take_off_deg must be in (0, 90) deg, got {take_off_deg}")
    else:
        mac, rt = np.zeros((n, n)), np.zeros(())
    dt = float_dtype(a, precision)
    var = None if variance is None else jnp.asarray(check_intensities(variance, n, "variance"), dt)
    return _solve_all(jnp.asarray(a, dt), jnp.asarray(k, dt), jnp.asarray(rt, dt), jnp.asarray(mac, dt),
                      jnp.asarray(take_off_deg or 90.0, dt), jnp.asarray(tol, dt), jnp.asarray(aw, dt),
                      var, int(max_iter), absorb)


@partial(jax.jit, static_argnames=("max_iter", "absorb"))
def _solve_all(intensities, k, rt, mac, take_off_deg, tol, aw, variance, max_iter, absorb):
    w, acf, ic, it, status = _solve(intensities, k, rt, mac, take_off_deg, tol, max_iter, absorb)
    at = weight_to_atomic(w, aw)
    return CliffLorimerResult(w, at, fraction_uncertainty(w, ic, variance),
                              fraction_uncertainty(at, ic, variance), acf, it, status)


def fit_k_factors(intensities, weight_fractions, *, reference: int = 0, mass_thickness=None,
                  mac=None, take_off_deg=None):
    """k-factors (weight basis, k_reference = 1) from a standard region of known composition.

    Args:
        intensities: (..., n) net counts over the standard's pixels (all are used).
        weight_fractions: (n,) known weight fractions of the standard.
        reference: index of the reference line (k = 1).
        mass_thickness, mac, take_off_deg: optional absorption correction of the standard
            (ρt [g/cm²], μ/ρ matrix [cm²/g], take-off angle [deg]).

    Returns:
        (k (n,), relative 1σ uncertainty (n,) from counting statistics).
    """
    a = check_intensities(intensities)
    n = a.shape[-1]
    c = np.asarray(weight_fractions, float)
    if c.shape != (n,) or np.any(c <= 0) or not np.isclose(c.sum(), 1, atol=1e-6):
        raise ValueError(f"weight_fractions must be ({n},) positive and sum to 1, got {c}")
    if not 0 <= reference < n:
        raise ValueError(f"reference must be a line index in [0, {n}), got {reference}")
    acf = np.ones_like(a, dtype=float)
    if mass_thickness is not None:
        if mac is None or take_off_deg is None:
            raise ValueError("absorption correction of the standard needs mac and take_off_deg")
        rt = np.broadcast_to(np.asarray(mass_thickness, float), a.shape[:-1])
        acf = np.asarray(absorption_factor(absorption_chi(
            jnp.asarray(c @ np.asarray(mac, float).T), jnp.asarray(rt), take_off_deg)))
    tot = (a * acf).reshape(-1, n).sum(0)
    raw = a.reshape(-1, n).sum(0)
    if np.any(raw <= 0):
        raise ValueError(f"the standard has no counts in line(s) {np.nonzero(raw <= 0)[0]}")
    k = (c / c[reference]) * tot[reference] / tot
    rel = np.sqrt(1 / raw + 1 / raw[reference])
    rel[reference] = 0.0
    return k, rel
