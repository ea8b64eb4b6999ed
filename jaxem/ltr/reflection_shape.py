"""Reflection width (crystal size) and position (strain) against dose.

Each frame (or frame bin) of the crop around one reflection (:func:`jaxem.ltr.reduce.window_series`)
is fitted by Poisson maximum likelihood with a 2D Gaussian on a flat background,

    λ(y, x) = B + A·exp(−[(y − c_y)² + (x − c_x)²] / (2σ²))      [counts/pixel],

parameters (B, A, c_y, c_x, log σ), vectorised over frames with ``vmap``
(:func:`jaxem.ltr.poisson.fisher_scoring`, started from background-subtracted moments).

Derived quantities: FWHM = 2√(2 ln 2)·σ·Δk [1/Å] (Δk the detector sampling); a Scherrer-type size
L = K_s/FWHM [Å] (K_s ≈ 0.9; meaningful only when the reflection width is dominated by the crystal
size rather than by the probe convergence: use with parallel or nearly parallel illumination, or
after deconvolving the disk); the lattice strain along g relative to a reference frame range,
ε = |g_ref|/|g| − 1 (a larger |g| is a smaller d-spacing: compression).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from .. import accel
from .poisson import fisher_scoring

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def gaussian_spot(theta, coords):
    """λ = B + A·exp(−r²/(2σ²)) at pixel ``coords`` (P, 2) [px]; θ = (B, A, c_y, c_x, log σ)."""
    r2 = (coords[:, 0] - theta[2]) ** 2 + (coords[:, 1] - theta[3]) ** 2
    return theta[0] + theta[1] * jnp.exp(-0.5 * r2 / jnp.exp(2 * theta[4]))


@struct.dataclass
class SpotFit:
    """Per-frame spot parameters: centre (c_y, c_x) [px in the window], σ [px], amplitude A and
    background B [counts/pixel], Wald standard errors of centre and σ, convergence flags."""

    center: np.ndarray
    sigma: np.ndarray
    amplitude: np.ndarray
    background: np.ndarray
    center_se: np.ndarray
    sigma_se: np.ndarray
    converged: np.ndarray


@functools.lru_cache(maxsize=8)
def _compiled(n_iter: int):
    def one(img, coords, t0, lo, hi):
        th, ll, conv, F = fisher_scoring(gaussian_spot, t0, coords, img, n_iter, lo, hi)
        se = jnp.sqrt(jnp.maximum(jnp.diag(jnp.linalg.pinv(F)), 0.0))
        return th, conv, se
    return jax.jit(jax.vmap(one, in_axes=(0, None, 0, None, None)))


def fit_spots(stack, n_iter: int = 60, precision=None) -> SpotFit:
    """Fit a Gaussian spot to every image of ``stack`` (n, h, w) [counts].

    Args:
        stack: non-negative counts per frame (bin), e.g. ``window_series(...).array``.
        n_iter: fixed Fisher-scoring iterations.
        precision: 'float32' (default) or 'float64'.
    """
    s = np.asarray(stack, np.float64)
    if s.ndim != 3 or min(s.shape[1:]) < 5:
        raise ValueError(f"stack must be (n, h, w) with h, w ≥ 5 pixels, got shape {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("stack must be finite and ≥ 0 [counts]")
    n, h, w = s.shape
    yy, xx = np.mgrid[:h, :w]
    coords = np.stack([yy.ravel(), xx.ravel()], -1).astype(np.float64)
    flat = s.reshape(n, -1)
    border = np.concatenate([s[:, 0], s[:, -1], s[:, 1:-1, 0], s[:, 1:-1, -1]], 1).mean(1)
    sig = np.maximum(flat - border[:, None], 0)
    tot = np.maximum(sig.sum(1), 1e-9)
    cy = (sig * coords[:, 0]).sum(1) / tot
    cx = (sig * coords[:, 1]).sum(1) / tot
    var = (sig * ((coords[:, 0] - cy[:, None]) ** 2 + (coords[:, 1] - cx[:, None]) ** 2)).sum(1) / (2 * tot)
    sd = np.sqrt(np.clip(var, 0.25, (min(h, w) / 3) ** 2))
    amp = np.maximum(tot / (2 * np.pi * sd ** 2), 1e-3)
    t0 = np.stack([np.maximum(border, 1e-3), amp, cy, cx, np.log(sd)], -1)
    lo = np.array([0.0, 0.0, -0.5, -0.5, np.log(0.2)])
    hi = np.array([np.inf, np.inf, h - 0.5, w - 0.5, np.log(max(h, w))])
    dt = accel.real_dtype(precision)
    nb = 16 * int(np.ceil(n / 16))                  # bucketed batch size: fewer recompilations
    flat_p = np.concatenate([flat, np.repeat(flat[:1], nb - n, 0)])
    t0_p = np.concatenate([t0, np.repeat(t0[:1], nb - n, 0)])
    th, conv, se = (np.asarray(a, np.float64)[:n] for a in _compiled(int(n_iter))(
        jnp.asarray(flat_p, dt), jnp.asarray(coords, dt), jnp.asarray(t0_p, dt), jnp.asarray(lo, dt),
        jnp.asarray(hi, dt)))
    sigma = np.exp(th[:, 4])
    return SpotFit(center=th[:, 2:4], sigma=sigma, amplitude=th[:, 1], background=th[:, 0],
                   center_se=se[:, 2:4], sigma_se=sigma * se[:, 4], converged=conv.astype(bool))


def shape_vs_dose(stack, window_origin, beam_center, sampling: float, reference=slice(0, 3),
                  scherrer_k: float = 0.9, **kwargs) -> dict:
    """Width, size and strain of one reflection per frame (bin).

    Args:
        stack: (n, h, w) crops [counts] (one per frame or frame bin).
        window_origin: detector pixel (ky, kx) of the crop's [0, 0].
        beam_center: direct-beam position (ky, kx) [px] (origin of g).
        sampling: detector pixel size [1/Å].
        reference: frames whose mean |g| is the unstrained reference.
        scherrer_k: Scherrer constant K_s.

    Returns:
        dict of arrays per frame: ``fwhm`` [1/Å], ``size`` [Å], ``g`` |g| [1/Å], ``strain`` [1],
        ``position`` (ky, kx) [px], ``converged``.
    """
    if sampling <= 0:
        raise ValueError(f"sampling must be > 0 [1/Å], got {sampling}")
    fit = fit_spots(stack, **kwargs)
    pos = fit.center + np.asarray(window_origin, np.float64)[None]
    gvec = (pos - np.asarray(beam_center, np.float64)[None]) * sampling
    g = np.hypot(gvec[:, 0], gvec[:, 1])
    g_ref = np.mean(g[reference])
    fwhm = FWHM_PER_SIGMA * fit.sigma * sampling
    return {"fwhm": fwhm, "size": scherrer_k / fwhm, "g": g, "strain": g_ref / g - 1.0, "position": pos,
            "sigma_px": fit.sigma, "sigma_se_px": fit.sigma_se, "converged": fit.converged}
