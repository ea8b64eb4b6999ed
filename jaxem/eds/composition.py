"""Compositions: weight ↔ atomic fractions, status flags, input checks and Poisson uncertainties.

Array convention for the whole ``jaxem.eds`` package: the **last** axis of an intensity or
composition array runs over X-ray lines / elements (one element per line), all leading axes are
navigation axes of any shape (a point, a line profile, a map…).

Per-pixel status flags (bit field, ``int32``):

* ``OK = 0``
* ``NO_SIGNAL = 1``: no positive counts in the pixel — composition undetermined (returned as 0,
  mass thickness 0); never NaN.
* ``NEGATIVE = 2``: some net intensities were negative (e.g. after background subtraction) and
  were clipped to 0 for the quantification.
* ``NOT_CONVERGED = 4``: the absorption-correction iteration reached ``max_iter`` before the
  tolerance was met.
* ``BAD_INPUT = 8``: the pixel's input was not a measurement (NaN/inf intensity or variance): it is
  masked — excluded from the computation, its outputs are 0 — and listed in the result's
  ``bad_pixels``. The other pixels are computed exactly as without it (NaN policy of the house plan:
  a map may be partly bad; a single spectrum or a parameter with NaN is rejected).

Poisson uncertainty: with C_i = u_i / Σ_j u_j, u_j = f_j I_j (f_j a per-line factor: k, ζ·ACF,
…), linear error propagation gives σ²(C_i) = Σ_j (δ_ij − C_i)² C_j² var(I_j)/I_j², with
var(I_j) = I_j for pure counting statistics (a background-subtracted intensity has variance
I_net + 2·I_background, pass it as ``variance``). The same formula holds for atomic fractions with
u_j/A_j. The relative variance of the mass thickness ρt = Σ_j u_j/N_e is Σ_j C_j² var(I_j)/I_j².
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..badpixels import bad_mask, indices

from .. import accel, validate

OK, NO_SIGNAL, NEGATIVE, NOT_CONVERGED, BAD_INPUT = 0, 1, 2, 4, 8
#: status bit names (stated in results and files)
STATUS = {"ok": OK, "no_signal": NO_SIGNAL, "negative": NEGATIVE, "not_converged": NOT_CONVERGED,
          "bad_input": BAD_INPUT}


def float_dtype(x, precision=None):
    """Real dtype of a computation: ``precision`` if given (any alias of :mod:`jaxem.accel`), else
    the precision of the input ``x`` (float64 in → float64 out, everything else float32)."""
    if precision is not None:
        return accel.real_dtype(precision)
    return accel.dtypes_of(x if hasattr(x, "dtype") else np.asarray(x))[0]


def check_lines(a, n: int, name: str, what: str = "one value per X-ray line") -> None:
    """Static shape check (also for traced arrays): the last axis of ``a`` has length ``n``."""
    shape = tuple(jnp.shape(a))
    if not shape or shape[-1] != n:
        raise validate.InputError(f"{name} must have {n} entries on its last axis ({what}), got shape {shape}")


def check_intensities(intensities, n_lines: int | None = None, name: str = "intensities"):
    """Validate an intensity array at the public boundary (outside jit); NaN/inf are rejected with
    their count and first index. Returns a NumPy array."""
    validate.array(intensities, name, min_ndim=1, kind="real", finite=False)
    a = np.asarray(intensities)
    if n_lines is not None and a.shape[-1] != n_lines:
        raise validate.InputError(f"{name} has {a.shape[-1]} lines on its last axis, expected {n_lines} "
                                  f"(one per X-ray line)")
    validate.array(a, name, kind="real")
    return a


def mask_intensities(intensities, n_lines: int | None = None, name: str = "intensities"):
    """A map of intensities (…nav, n_lines) with its bad pixels masked (NaN policy for maps).

    A pixel is bad when any of its values is NaN/inf. A single pixel (1-D input) with NaN is rejected
    (it is not a map). Returns ``(a, bad)``: a NumPy array with bad pixels set to 0 and the boolean
    navigation mask ``bad`` (…nav).
    """
    validate.array(intensities, name, min_ndim=1, kind="real", finite=False)
    a = np.asarray(intensities)
    if n_lines is not None and a.shape[-1] != n_lines:
        raise validate.InputError(f"{name} has {a.shape[-1]} lines on its last axis, expected {n_lines} "
                                  f"(one per X-ray line)")
    if a.ndim == 1 or a.dtype.kind in "iu":
        validate.array(a, name, kind="real")
        return a, np.zeros(a.shape[:-1], bool)
    bad = bad_mask(a, axis=-1)
    if bad.any():
        a = np.where(bad[..., None], 0, a)
    return a, bad


def mask_map(intensities, variance=None):
    """Intensities (…nav, n) and their optional variance with the bad pixels of either masked.

    Returns ``(a, var, bad)``: NumPy arrays with the bad pixels set to 0 (``var`` None when not
    given) and the boolean navigation mask ``bad``.
    """
    a, bad = mask_intensities(intensities)
    var = None
    if variance is not None:
        var, bad_v = mask_intensities(variance, a.shape[-1], "variance")
        if var.shape != a.shape:
            raise validate.InputError(f"variance must have the shape of intensities {a.shape}, got {var.shape}")
        bad = bad | bad_v
    if bad.any():
        a = np.where(bad[..., None], 0, a)
        var = None if var is None else np.where(bad[..., None], 0, var)
    return a, var, bad


def bad_pixel_list(bad) -> np.ndarray:
    """(n_bad, nav_ndim) int64 indices of the masked pixels (what results list in ``bad_pixels``;
    :func:`jaxem.badpixels.indices`)."""
    return indices(bad)


def check_factors(factors, n_lines: int, name: str, units: str = ""):
    """One positive finite factor per line (k, ζ, atomic weight …), as float64."""
    validate.array(factors, name, kind="real", units=units)
    f = np.asarray(factors, dtype=float)
    if f.shape != (n_lines,):
        raise validate.InputError(f"{name} must have shape ({n_lines},) (one per line), got {f.shape}")
    if np.any(f <= 0):
        k = int(np.flatnonzero(f <= 0)[0])
        raise validate.InputError(f"{name} must be > 0{f' [{units}]' if units else ''}, got {name}[{k}] = {f[k]:g}")
    return f


def nav_parameter(value, name: str, nav_shape: tuple, units: str, *, positive: bool = False,
                  nonnegative: bool = False):
    """A scalar or navigation-shaped parameter (dose, mass thickness, thickness …), checked: finite,
    signed as asked, broadcastable to ``nav_shape``. Returns a float64 NumPy array."""
    if value is None:
        raise validate.InputError(f"{name} [{units}] is required")
    if isinstance(value, str) or np.ndim(value) == 0:
        return np.asarray(validate.scalar(value, name, units, positive=positive, nonnegative=nonnegative))
    validate.array(value, name, kind="real", units=units)
    v = np.asarray(value, float)
    bad = (v <= 0) if positive else (v < 0) if nonnegative else np.zeros(v.shape, bool)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise validate.InputError(f"{name} must be {'> 0' if positive else '≥ 0'} [{units}]; {int(bad.sum())} "
                                  f"value(s) are not (first at index {first}: {v[first]:g})")
    try:
        np.broadcast_shapes(v.shape, tuple(nav_shape))
    except ValueError:
        raise validate.InputError(f"{name} has shape {v.shape}, which does not broadcast to the navigation "
                                  f"shape {tuple(nav_shape)}") from None
    return v


def take_off(value, name: str = "take_off_deg") -> float:
    """A take-off angle [deg] in (0, 90)."""
    if value is None:
        raise validate.InputError(f"{name} [deg] is required with absorption correction (in (0, 90) deg)")
    return validate.scalar(value, name, "deg", lo=0.0, hi=90.0, lo_open=True, hi_open=True)


def check_mac(mac, n_lines: int, n_elements: int, name: str = "mac"):
    """A (n_lines, n_elements) μ/ρ matrix [cm²/g], finite and ≥ 0."""
    validate.array(mac, name, kind="real", units="cm²/g", nonnegative=True)
    m = np.asarray(mac, float)
    if m.shape != (n_lines, n_elements):
        raise validate.InputError(f"{name} must have shape ({n_lines}, {n_elements}) [lines, elements], "
                                  f"got {m.shape}")
    return m


def _check_conversion(fractions, atomic_weights, name: str) -> None:
    """Concrete inputs (outside jit): (n,) positive atomic weights, (..., n) finite fractions."""
    if validate.is_traced((fractions, atomic_weights)):
        return
    aw = np.asarray(validate.array(atomic_weights, "atomic_weights", ndim=1, kind="real", units="g/mol"))
    if np.any(aw <= 0):
        raise validate.InputError(f"atomic_weights must be > 0 [g/mol], got {aw.tolist()}")
    validate.array(fractions, name, min_ndim=1, shape=(len(aw),), kind="real")


def weight_to_atomic(weight_fractions, atomic_weights):
    """Atomic fractions x_i = (w_i/A_i) / Σ_j (w_j/A_j); zero rows stay zero (no NaN).

    Args:
        weight_fractions: (..., n) weight fractions.
        atomic_weights: (n,) atomic weights [g/mol].
    """
    _check_conversion(weight_fractions, atomic_weights, "weight_fractions")
    w = jnp.asarray(weight_fractions)
    v = w / jnp.asarray(atomic_weights, w.dtype)
    s = v.sum(-1, keepdims=True)
    return jnp.where(s > 0, v / jnp.where(s > 0, s, 1), 0)


def atomic_to_weight(atomic_fractions, atomic_weights):
    """Weight fractions w_i = x_i A_i / Σ_j x_j A_j; zero rows stay zero (no NaN).

    Args:
        atomic_fractions: (..., n) atomic fractions.
        atomic_weights: (n,) atomic weights [g/mol].
    """
    _check_conversion(atomic_fractions, atomic_weights, "atomic_fractions")
    x = jnp.asarray(atomic_fractions)
    v = x * jnp.asarray(atomic_weights, x.dtype)
    s = v.sum(-1, keepdims=True)
    return jnp.where(s > 0, v / jnp.where(s > 0, s, 1), 0)


def fraction_uncertainty(fractions, intensities, variance=None):
    """1σ Poisson uncertainty of fractions C_i = u_i/Σu_j with u_j ∝ I_j (see module docstring).

    Args:
        fractions: (..., n) weight or atomic fractions computed from ``intensities``.
        intensities: (..., n) net counts.
        variance: (..., n) variance of the counts (default: the counts, i.e. Poisson).

    Returns:
        (..., n) standard deviations (0 where a line has no counts).
    """
    c = jnp.asarray(fractions)
    check_lines(intensities, c.shape[-1] if c.ndim else 0, "intensities", "one per fraction")
    if variance is not None:
        check_lines(variance, c.shape[-1], "variance", "one per fraction")
    i = jnp.asarray(intensities, c.dtype)
    var = i if variance is None else jnp.asarray(variance, c.dtype)
    pos = i > 0
    rel = jnp.where(pos, var / jnp.where(pos, i, 1) ** 2, 0)  # var(I_j)/I_j²
    cj2 = c**2 * rel  # (..., n_j)
    eye = jnp.eye(c.shape[-1], dtype=c.dtype)
    d2 = (eye - c[..., :, None]) ** 2  # (..., i, j)
    return jnp.sqrt(jnp.einsum("...ij,...j->...i", d2, cj2))


def relative_mass_thickness_uncertainty(fractions, intensities, variance=None):
    """Relative 1σ uncertainty of ρt = Σ_j u_j / N_e from counting statistics (weight fractions)."""
    c = jnp.asarray(fractions)
    i = jnp.asarray(intensities, c.dtype)
    var = i if variance is None else jnp.asarray(variance, c.dtype)
    pos = i > 0
    rel = jnp.where(pos, var / jnp.where(pos, i, 1) ** 2, 0)
    return jnp.sqrt(jnp.sum(c**2 * rel, -1))


def clip_negative(intensities):
    """Clip negative intensities to 0; return (clipped, status) with NEGATIVE / NO_SIGNAL flags."""
    i = jnp.asarray(intensities)
    neg = jnp.any(i < 0, axis=-1)
    ic = jnp.maximum(i, 0)
    empty = jnp.sum(ic, axis=-1) <= 0
    status = jnp.where(neg, NEGATIVE, OK) | jnp.where(empty, NO_SIGNAL, OK)
    return ic, status.astype(jnp.int32)
