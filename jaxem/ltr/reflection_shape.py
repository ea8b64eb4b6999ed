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

from .. import accel, pytree, validate
from .poisson import fisher_scoring, run_bucketed

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def gaussian_spot(theta, coords):
    """λ = B + A·exp(−r²/(2σ²)) at pixel ``coords`` (P, 2) [px]; θ = (B, A, c_y, c_x, log σ)."""
    r2 = (coords[:, 0] - theta[2]) ** 2 + (coords[:, 1] - theta[3]) ** 2
    return theta[0] + theta[1] * jnp.exp(-0.5 * r2 / jnp.exp(2 * theta[4]))


@pytree.dataclass
class SpotFit:
    """Per-frame spot parameters: centre (c_y, c_x) [px in the window], σ [px], amplitude A and
    background B [counts/pixel], Wald standard errors of centre and σ, convergence flags."""

    center: np.ndarray = pytree.field(units="px")
    sigma: np.ndarray = pytree.field(units="px")
    amplitude: np.ndarray = pytree.field(units="counts/pixel")
    background: np.ndarray = pytree.field(units="counts/pixel")
    center_se: np.ndarray = pytree.field(units="px")
    sigma_se: np.ndarray = pytree.field(units="px")
    converged: np.ndarray


@functools.lru_cache(maxsize=8)
def _compiled(n_iter: int):
    def one(img, t0, coords, lo, hi):
        th, ll, conv, F = fisher_scoring(gaussian_spot, t0, coords, img, n_iter, lo, hi)
        se = jnp.sqrt(jnp.maximum(jnp.diag(jnp.linalg.pinv(F)), 0.0))
        return th, conv, se
    return jax.jit(jax.vmap(one, in_axes=(0, 0, None, None, None)))


def fit_spots(stack, n_iter: int = 60, precision=None, memory_budget=None) -> SpotFit:
    """Fit a Gaussian spot to every image of ``stack`` (n, h, w) [counts].

    Args:
        stack: non-negative counts per frame (bin), e.g. ``window_series(...).array``.
        n_iter: fixed Fisher-scoring iterations (≥ 1).
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (float32 default).
        memory_budget: memory budget [bytes or '256M'] for the number of images fitted at once.
    """
    validate.array(stack, "stack", ndim=3, kind="real", units="counts", nonnegative=True)
    s = np.asarray(stack, np.float64)
    if min(s.shape[1:]) < 5 or s.shape[0] < 1:
        raise validate.InputError(f"stack must be (n, h, w) with n ≥ 1 and h, w ≥ 5 pixels, got shape {s.shape}")
    n_iter = validate.integer(n_iter, "n_iter", lo=1)
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
    # working set per image: pixels × parameters (Jacobian) and the per-iteration temporaries
    th, conv, se = run_bucketed(_compiled(n_iter), (flat, t0), (coords, lo, hi), dt, 16,
                                8 * h * w * 5 * 8, memory_budget)
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
    sampling = validate.scalar(sampling, "sampling", "1/Å", positive=True)
    scherrer_k = validate.scalar(scherrer_k, "scherrer_k", positive=True)
    origin = np.asarray(validate.pair(window_origin, "window_origin", "px"))
    bc = np.asarray(validate.pair(beam_center, "beam_center", "px"))
    fit = fit_spots(stack, **kwargs)
    pos = fit.center + origin[None]
    gvec = (pos - bc[None]) * sampling
    g = np.hypot(gvec[:, 0], gvec[:, 1])
    if not g[reference].size:
        raise validate.InputError(f"reference {reference} selects no frame of the {g.size} fitted")
    g_ref = np.mean(g[reference])
    fwhm = FWHM_PER_SIGMA * fit.sigma * sampling
    return {"fwhm": fwhm, "size": scherrer_k / fwhm, "g": g, "strain": g_ref / g - 1.0, "position": pos,
            "sigma_px": fit.sigma, "sigma_se_px": fit.sigma_se, "converged": fit.converged}
