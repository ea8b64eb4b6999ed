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

Poisson uncertainty: with C_i = u_i / Σ_j u_j, u_j = f_j I_j (f_j a per-line factor: k, ζ·ACF,
…), linear error propagation gives σ²(C_i) = Σ_j (δ_ij − C_i)² C_j² var(I_j)/I_j², with
var(I_j) = I_j for pure counting statistics (a background-subtracted intensity has variance
I_net + 2·I_background, pass it as ``variance``). The same formula holds for atomic fractions with
u_j/A_j. The relative variance of the mass thickness ρt = Σ_j u_j/N_e is Σ_j C_j² var(I_j)/I_j².
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

OK, NO_SIGNAL, NEGATIVE, NOT_CONVERGED = 0, 1, 2, 4


def float_dtype(x, precision=None):
    """float64 if ``precision='float64'`` or ``x`` is float64, else float32."""
    if precision is not None:
        from ..accel import real_dtype

        return real_dtype(precision)
    return jnp.float64 if jnp.asarray(x).dtype == jnp.float64 else jnp.float32


def check_intensities(intensities, n_lines: int | None = None, name: str = "intensities"):
    """Validate an intensity array at the public boundary (outside jit). Returns a NumPy array."""
    a = np.asarray(intensities)
    if a.dtype == object or not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim < 1:
        raise ValueError(f"{name} must have a last axis over X-ray lines, got a scalar")
    if n_lines is not None and a.shape[-1] != n_lines:
        raise ValueError(f"{name} has {a.shape[-1]} lines on its last axis, expected {n_lines}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf; mark bad pixels with zeros instead")
    return a


def check_factors(factors, n_lines: int, name: str):
    f = np.asarray(factors, dtype=float)
    if f.shape != (n_lines,):
        raise ValueError(f"{name} must have shape ({n_lines},) (one per line), got {f.shape}")
    if not np.all(np.isfinite(f)) or np.any(f <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {f}")
    return f


def weight_to_atomic(weight_fractions, atomic_weights):
    """Atomic fractions x_i = (w_i/A_i) / Σ_j (w_j/A_j); zero rows stay zero (no NaN).

    Args:
        weight_fractions: (..., n) weight fractions.
        atomic_weights: (n,) atomic weights [g/mol].
    """
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
