"""ζ-factor quantification with built-in absorption correction (Watanabe & Williams 2006).

For every pixel and element A (one X-ray line each),

    ρt = ζ_A · I_A · ACF_A / (C_A · N_e)   ⇒   C_A = ζ_A I_A ACF_A / Σ_j ζ_j I_j ACF_j,
                                              ρt  = Σ_j ζ_j I_j ACF_j / N_e,

with C_A weight fractions, I_A net counts, N_e = i_p·τ/e the number of incident electrons during
the live time τ (the *dose*), ζ_A [kg/m²] (per count per electron; the convention of
M. Watanabe & D. B. Williams, J. Microsc. 221, 89 (2006) with the dose in electrons, as in
HyperSpy/exspy), and ACF the thin-film absorption factor of :mod:`jaxem.eds.absorption`, which
depends on (C, ρt) — hence a fixed-point iteration started from ACF = 1:

    (C, ρt)_{n+1} = Q(I · ACF(C_n, ρt_n)),

run per pixel until max|ΔC| < ``tol`` and |Δρt| < ``tol``·ρt, or ``max_iter``. The map is a
contraction for thin films (for ZnO at ≤ 300 nm it converges in < 10 steps); pixels that do not
converge (or whose absorption path saturates, χ > 50) are flagged ``NOT_CONVERGED``, pixels with
no counts ``NO_SIGNAL``. Units here: ρt reported in **g/cm²** (= 0.1 × kg/m²); thickness [nm].

The iteration is an ``init`` / ``step`` pair of pure functions on a :class:`ZetaState`; the
driver :func:`zeta_factor` runs them under ``lax.while_loop`` over all pixels at once, freezing
pixels that have converged.

Cross-section variant (MacArthur et al., Microsc. Microanal. 22, 71 (2016)): with X-ray
production cross sections σ_A, ζ_A = A_A / (N_A σ_A), and the number of atoms per area is
N_A^area = I_A ACF_A / (σ_A N_e) — implemented on the same engine by :func:`cross_section_quantification`.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from ..physics import ELEMENTARY_CHARGE
from .absorption import absorption_chi, absorption_factor
from .composition import (BAD_INPUT, NO_SIGNAL, NOT_CONVERGED, OK, bad_pixel_list, check_factors, check_lines,
                          check_intensities, check_mac, clip_negative, float_dtype, fraction_uncertainty,
                          mask_map, nav_parameter, relative_mass_thickness_uncertainty, take_off,
                          weight_to_atomic)
from .data import check_density, mac_mixture

AVOGADRO = 6.02214076e23  # [1/mol], exact (SI 2019)
CHI_MAX = 50.0


def _positive_values(value, name: str, units: str) -> np.ndarray:
    """A positive finite scalar or array argument (float64 NumPy); strings with units are parsed."""
    if isinstance(value, str) or np.ndim(value) == 0:
        return np.asarray(validate.scalar(value, name, units, positive=True))
    return nav_parameter(value, name, np.shape(value), units, positive=True)


def electron_dose(beam_current_nA, live_time_s):
    """Number of incident electrons N_e = i_p·τ/e [electrons] from current [nA] and live time [s].

    Both must be finite and > 0 (scalars, per-pixel arrays, or strings with units such as ``'1 nA'``).
    """
    i = _positive_values(beam_current_nA, "beam_current_nA", "nA")
    t = _positive_values(live_time_s, "live_time_s", "s")
    return i * 1e-9 * t / ELEMENTARY_CHARGE


def thickness_nm(mass_thickness, density):
    """Thickness t = ρt/ρ [nm] from mass thickness [g/cm²] (finite, ≥ 0) and phase density [g/cm³] (> 0)."""
    if density is None:
        raise validate.InputError("density [g/cm³] is required to convert mass thickness to thickness")
    d = check_density(density) if not validate.is_traced(density) else density
    if not validate.is_traced(mass_thickness):
        nav_parameter(mass_thickness, "mass_thickness", np.shape(mass_thickness), "g/cm²", nonnegative=True)
    rt = jnp.asarray(mass_thickness)
    if not jnp.issubdtype(rt.dtype, jnp.floating):
        rt = rt.astype(float_dtype(rt))
    return rt / jnp.asarray(d, rt.dtype) * 1e7


@pytree.dataclass
class ZetaState:
    """Iteration state, all arrays over the navigation shape (…) and lines (n).

    Attributes:
        weights: (..., n) weight fractions.
        mass_thickness: (...) ρt [g/cm²].
        acf: (..., n) absorption correction factors used for ``weights``.
        converged: (...) bool.
        saturated: (...) bool, χ exceeded :data:`CHI_MAX` at some step.
        iterations: (...) int32 steps taken.
    """

    weights: jax.Array
    mass_thickness: jax.Array = pytree.field(units="g/cm²")
    acf: jax.Array
    converged: jax.Array
    saturated: jax.Array
    iterations: jax.Array


def _quantify(intensities, zeta, dose, acf):
    u = intensities * zeta * acf
    s = u.sum(-1)
    ok = s > 0
    w = jnp.where(ok[..., None], u / jnp.where(ok, s, 1)[..., None], 0)
    return w, 0.1 * s / dose  # kg/m² → g/cm²


def zeta_init(intensities, zeta, dose) -> ZetaState:
    """Uncorrected quantification (ACF = 1) as the starting state."""
    check_lines(zeta, jnp.shape(intensities)[-1] if jnp.ndim(intensities) else 0, "zeta",
                "one per line of intensities")
    w, rt = _quantify(intensities, zeta, dose, jnp.ones_like(intensities))
    empty = rt <= 0
    return ZetaState(w, rt, jnp.ones_like(intensities), empty, jnp.zeros_like(empty),
                     jnp.zeros(rt.shape, jnp.int32))


@validate.typed
def zeta_step(state: ZetaState, intensities, zeta, dose, mac, take_off_deg, tol) -> ZetaState:
    """One absorption-correction step; converged pixels are left unchanged."""
    chi = absorption_chi(mac_mixture(state.weights, mac), state.mass_thickness, take_off_deg)
    sat = jnp.any(chi > CHI_MAX, -1)
    acf = absorption_factor(jnp.minimum(chi, CHI_MAX))
    w, rt = _quantify(intensities, zeta, dose, acf)
    dw = jnp.max(jnp.abs(w - state.weights), -1)
    drt = jnp.abs(rt - state.mass_thickness)
    conv = (dw < tol) & (drt <= tol * jnp.maximum(rt, jnp.finfo(rt.dtype).tiny))
    keep = state.converged
    return ZetaState(
        weights=jnp.where(keep[..., None], state.weights, w),
        mass_thickness=jnp.where(keep, state.mass_thickness, rt),
        acf=jnp.where(keep[..., None], state.acf, acf),
        converged=keep | conv,
        saturated=state.saturated | (sat & ~keep),
        iterations=state.iterations + (~keep).astype(jnp.int32),
    )


@partial(jax.jit, static_argnames=("max_iter", "absorb"))
def _solve_all(intensities, zeta, dose, mac, take_off_deg, tol, aw, variance, bad, max_iter, absorb):
    state, ic, status = _solve(intensities, zeta, dose, mac, take_off_deg, tol, max_iter, absorb)
    at = weight_to_atomic(state.weights, aw)
    return ZetaResult(
        weight_fractions=state.weights,
        atomic_fractions=at,
        mass_thickness=state.mass_thickness,
        absorption_factors=state.acf,
        weight_sigma=fraction_uncertainty(state.weights, ic, variance),
        atomic_sigma=fraction_uncertainty(at, ic, variance),
        mass_thickness_sigma=state.mass_thickness * relative_mass_thickness_uncertainty(
            state.weights, ic, variance),
        iterations=state.iterations,
        status=jnp.where(bad, BAD_INPUT, status).astype(jnp.int32),
    )


def _solve(intensities, zeta, dose, mac, take_off_deg, tol, max_iter, absorb):
    """The driver: ``zeta_init`` then ``zeta_step`` under ``lax.while_loop`` until every pixel has
    converged or ``max_iter`` steps; pixels that did not converge are flagged."""
    ic, status = clip_negative(intensities)
    state = zeta_init(ic, zeta, dose)
    if absorb:
        def cond(carry):
            st, it = carry
            return (it < max_iter) & ~jnp.all(st.converged)

        def body(carry):
            st, it = carry
            return zeta_step(st, ic, zeta, dose, mac, take_off_deg, tol), it + 1

        state, _ = jax.lax.while_loop(cond, body, (state, jnp.int32(0)))
        bad = (~state.converged | state.saturated) & ((status & NO_SIGNAL) == 0)
        status = status | jnp.where(bad, NOT_CONVERGED, OK).astype(jnp.int32)
    return state, ic, status


@pytree.dataclass
class ZetaResult:
    """Per-pixel ζ-factor result (navigation shape ``...``, ``n`` lines).

    Attributes:
        weight_fractions: (..., n); 0 for ``NO_SIGNAL`` and ``BAD_INPUT`` pixels.
        atomic_fractions: (..., n).
        mass_thickness: (...) ρt [g/cm²].
        absorption_factors: (..., n) final ACF.
        weight_sigma, atomic_sigma: (..., n) 1σ Poisson uncertainties.
        mass_thickness_sigma: (...) 1σ [g/cm²].
        iterations: (...) absorption-correction steps taken.
        status: (...) int32 flags (:data:`jaxem.eds.composition.STATUS`).
        bad_pixels: (n_bad, nav_ndim) indices of the masked input pixels (NaN/inf intensity or
            variance; status ``BAD_INPUT``), empty when the map was clean.
    """

    weight_fractions: jax.Array
    atomic_fractions: jax.Array
    mass_thickness: jax.Array = pytree.field(units="g/cm²")
    absorption_factors: jax.Array
    weight_sigma: jax.Array
    atomic_sigma: jax.Array
    mass_thickness_sigma: jax.Array = pytree.field(units="g/cm²")
    iterations: jax.Array
    status: jax.Array
    bad_pixels: np.ndarray = None

    def thickness_nm(self, density):
        """Thickness [nm] with the phase density [g/cm³]."""
        return thickness_nm(self.mass_thickness, density)


def _absorption_inputs(mac, take_off_deg, max_iter, n, n_el=None):
    mac = check_mac(mac, n, n if n_el is None else n_el)
    toa = take_off(take_off_deg)
    validate.integer(max_iter, "max_iter", lo=1)
    return mac, toa


def zeta_factor(intensities, zeta_factors, dose, atomic_weights, *, mac=None, take_off_deg=None,
                tol: float = 1e-6, max_iter: int = 50, variance=None, precision=None) -> ZetaResult:
    """ζ-factor quantification of every pixel, with optional iterative absorption correction.

    Bad pixels of a map (NaN/inf in ``intensities`` or ``variance``) are masked: status
    ``BAD_INPUT``, outputs 0, listed in ``bad_pixels``; every other pixel equals the result without
    them. A single pixel (1-D ``intensities``) with NaN is rejected.

    Args:
        intensities: (..., n) net X-ray counts, one line per element (last axis).
        zeta_factors: (n,) ζ-factors [kg/m²] (per count per electron), > 0.
        dose: number of electrons N_e = i_p τ/e (scalar or navigation-shaped), > 0, see
            :func:`electron_dose`.
        atomic_weights: (n,) atomic weights [g/mol] of the elements (for atomic fractions).
        mac: (n, n) μ/ρ matrix [cm²/g] of the lines in the specimen elements
            (:func:`jaxem.eds.data.mac_matrix`); ``None`` = no absorption correction.
        take_off_deg: take-off angle [deg] in (0, 90) (required with ``mac``).
        tol: convergence tolerance on weight fractions (absolute) and on ρt (relative), > 0.
        max_iter: maximum absorption-correction steps (≥ 1).
        variance: optional (..., n) variance of the intensities (default Poisson = counts).
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (default: follows ``intensities``).
    """
    a, var, bad = mask_map(intensities, variance)
    n = a.shape[-1]
    z = check_factors(zeta_factors, n, "zeta_factors", "kg/m²")
    aw = check_factors(atomic_weights, n, "atomic_weights", "g/mol")
    if dose is None:
        raise validate.InputError("dose (number of electrons, see electron_dose) is required for ζ-factors")
    d = nav_parameter(dose, "dose", a.shape[:-1], "electrons", positive=True)
    tol = validate.scalar(tol, "tol", positive=True)
    max_iter = validate.integer(max_iter, "max_iter", lo=1)  # checked even without absorption
    absorb = mac is not None
    if absorb:
        mac, toa = _absorption_inputs(mac, take_off_deg, max_iter, n)
    else:
        mac, toa = np.zeros((n, n)), 90.0
        if take_off_deg is not None:
            take_off(take_off_deg)
    dt = float_dtype(intensities, precision)
    r = _solve_all(jnp.asarray(a, dt), jnp.asarray(z, dt), jnp.asarray(d, dt), jnp.asarray(mac, dt),
                   jnp.asarray(toa, dt), jnp.asarray(tol, dt), jnp.asarray(aw, dt),
                   None if var is None else jnp.asarray(var, dt), jnp.asarray(bad), int(max_iter), absorb)
    return r.replace(bad_pixels=bad_pixel_list(bad))


def zeta_from_standard(intensities, weight_fractions, mass_thickness, dose, *, mac=None,
                       take_off_deg=None):
    """ζ-factors [kg/m²] from a standard of known composition and mass thickness.

    ζ_A = Σ_p C_A ρt_p N_p / ACF_Ap / Σ_p I_Ap over the standard's pixels p (ratio of sums,
    the maximum-likelihood estimate for Poisson counts), with the ACF of the known film.

    Args:
        intensities: (..., n) net counts on the standard (finite: a standard has no bad pixels).
        weight_fractions: (n,) known weight fractions (≥ 0, summing to 1).
        mass_thickness: ρt [g/cm²] (scalar or navigation-shaped) = density × thickness, > 0.
        dose: electrons per pixel (scalar or navigation-shaped), > 0.
        mac, take_off_deg: as in :func:`zeta_factor` (absorption in the standard), optional.

    Returns:
        (zeta [kg/m²] (n,), relative 1σ uncertainty (n,) from counting statistics).
    """
    a = check_intensities(intensities)
    n = a.shape[-1]
    c = _weight_fractions(weight_fractions, n)
    rt = np.broadcast_to(nav_parameter(mass_thickness, "mass_thickness", a.shape[:-1], "g/cm²", positive=True),
                         a.shape[:-1])
    d = np.broadcast_to(nav_parameter(dose, "dose", a.shape[:-1], "electrons", positive=True), a.shape[:-1])
    acf = np.ones_like(a, dtype=float)
    if mac is not None:
        mac, toa = _absorption_inputs(mac, take_off_deg, 1, n)
        acf = np.asarray(absorption_factor(absorption_chi(np.asarray(c @ mac.T), jnp.asarray(rt), toa)))
    tot = a.reshape(-1, n).sum(0)
    if np.any(tot <= 0):
        raise validate.InputError(f"intensities: the standard has no counts in line(s) {np.nonzero(tot <= 0)[0]}")
    num = (c * (10.0 * rt * d)[..., None] / acf).reshape(-1, n).sum(0)  # g/cm² → kg/m²
    return num / tot, 1 / np.sqrt(tot)


def _weight_fractions(weight_fractions, n, positive: bool = False):
    validate.array(weight_fractions, "weight_fractions", kind="real", nonnegative=True)
    c = np.asarray(weight_fractions, dtype=float)
    if c.shape != (n,) or (positive and np.any(c <= 0)) or not np.isclose(c.sum(), 1, atol=1e-6):
        raise validate.InputError(f"weight_fractions must be ({n},) {'positive' if positive else 'non-negative'} "
                                  f"summing to 1, got {c}")
    return c


def cross_section_to_zeta(cross_sections_barn, atomic_weights):
    """ζ [kg/m²] = A / (N_A σ) from X-ray production cross sections [barn] (> 0) and A [g/mol] (> 0)."""
    s = _positive_values(cross_sections_barn, "cross_sections_barn", "barn")
    aw = _positive_values(atomic_weights, "atomic_weights", "g/mol")
    return aw * 1e-3 / (AVOGADRO * s * 1e-28)


def zeta_to_cross_section(zeta_factors, atomic_weights):
    """σ [barn] = A / (N_A ζ), inverse of :func:`cross_section_to_zeta` (ζ [kg/m²] > 0, A [g/mol] > 0)."""
    z = _positive_values(zeta_factors, "zeta_factors", "kg/m²")
    aw = _positive_values(atomic_weights, "atomic_weights", "g/mol")
    return aw * 1e-3 / (AVOGADRO * z) * 1e28


def cross_section_quantification(intensities, cross_sections_barn, dose, atomic_weights, **kwargs):
    """Cross-section quantification: atomic fractions and atoms per area [1/nm²].

    Args:
        intensities: (..., n) net counts.
        cross_sections_barn: (n,) X-ray production cross sections σ [barn] (σ_ion ω a ε Ω/4π).
        dose: electrons per pixel N_e (not per area).
        atomic_weights: (n,) [g/mol].
        **kwargs: passed to :func:`zeta_factor` (``mac``, ``take_off_deg``, ``tol``…).

    Returns:
        (ZetaResult, atoms_per_nm2 (..., n)).
    """
    validate.array(intensities, "intensities", min_ndim=1, kind="real", finite=False)
    aw = check_factors(atomic_weights, np.shape(intensities)[-1], "atomic_weights", "g/mol")
    xs = check_factors(cross_sections_barn, aw.size, "cross_sections_barn", "barn")
    res = zeta_factor(intensities, cross_section_to_zeta(xs, aw), dose, aw, **kwargs)
    x = res.atomic_fractions
    mean_mass = jnp.sum(x * jnp.asarray(aw, x.dtype), -1) * 1e-3 / AVOGADRO  # kg per atom
    total = jnp.where(mean_mass > 0, res.mass_thickness * 10.0 / jnp.where(mean_mass > 0, mean_mass, 1), 0)
    return res, x * total[..., None] * 1e-18
