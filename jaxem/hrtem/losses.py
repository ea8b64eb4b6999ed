"""Image-similarity losses between a simulated and an experimental HRTEM image (lower is better).

* :func:`l2` — mean squared difference, optionally normalised by the data variance (absolute
  contrast: it sees intensity offsets and contrast scale).
* :func:`ncc_loss` — 1 − normalised cross-correlation (insensitive to background and contrast).
* :func:`local_contrast_loss` — 1 − mean SSIM-like index (Wang et al., IEEE TIP 13 (2004) 600)
  computed with a periodic Gaussian window of width ``sigma`` [pixels]: local means, local
  variances and local covariance, so local features count as much as global ones.
* :func:`combined_loss` — w_l2·L2 + w_ncc·(1 − NCC) + w_ssim·(1 − SSIM).

All are pure, jit-able and differentiable; inputs are (…, ny, nx) real arrays.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import validate


def _images(a, b, names=("sim", "data")):
    """Concrete inputs (outside jit) must be real finite (…, ny, nx) images of one shape."""
    for x, name in zip((a, b), names):
        if not validate.is_traced(x):
            validate.array(x, name, min_ndim=2, kind="real")
    if jnp.shape(a)[-2:] != jnp.shape(b)[-2:]:
        raise validate.InputError(f"{names[0]} and {names[1]} must be images of the same (ny, nx) shape, got "
                                  f"{tuple(jnp.shape(a))} and {tuple(jnp.shape(b))}")


def l2(sim, data, normalise: bool = True):
    """Mean squared difference [intensity²]; divided by var(data) when ``normalise`` (dimensionless)."""
    _images(sim, data)
    if normalise and not validate.is_traced(data) and np.any(np.asarray(jnp.var(data, axis=(-2, -1))) == 0):
        raise validate.InputError("data is a constant image: its variance is 0, so the normalised L2 is undefined; "
                                  "use normalise=False")
    r = jnp.mean((sim - data) ** 2, axis=(-2, -1))
    return r / jnp.var(data, axis=(-2, -1)) if normalise else r


def ncc(a, b, eps: float = 1e-12):
    """Normalised cross-correlation ∈ [−1, 1] over the last two axes."""
    _images(a, b, ("a", "b"))
    a = a - jnp.mean(a, axis=(-2, -1), keepdims=True)
    b = b - jnp.mean(b, axis=(-2, -1), keepdims=True)
    num = jnp.sum(a * b, axis=(-2, -1))
    den = jnp.sqrt(jnp.sum(a * a, axis=(-2, -1)) * jnp.sum(b * b, axis=(-2, -1)) + eps)
    return num / den


def ncc_loss(sim, data):
    """1 − NCC (0 for images equal up to an affine intensity change)."""
    return 1.0 - ncc(sim, data)


def _gaussian_filter(img, sigma):
    ny, nx = img.shape[-2:]
    fy = jnp.fft.fftfreq(ny)[:, None]
    fx = jnp.fft.fftfreq(nx)[None, :]
    g = jnp.exp(-2 * jnp.pi**2 * sigma**2 * (fy**2 + fx**2)).astype(img.dtype)
    return jnp.fft.ifft2(jnp.fft.fft2(img) * g).real.astype(img.dtype)


def ssim(a, b, sigma: float = 3.0, c1: float = 1e-4, c2: float = 9e-4):
    """Mean SSIM-like index with a periodic Gaussian window of rms ``sigma`` [pixels].

    ``c1``, ``c2`` are the stabilising constants relative to the data's squared dynamic range
    (the usual (0.01 L)², (0.03 L)² with L = max − min of ``b``).
    """
    _images(a, b, ("a", "b"))
    validate.scalar(sigma, "sigma", "pixels", positive=True)
    validate.scalar(c1, "c1", nonnegative=True)
    validate.scalar(c2, "c2", nonnegative=True)
    rng = jnp.max(b, axis=(-2, -1), keepdims=True) - jnp.min(b, axis=(-2, -1), keepdims=True)
    k1, k2 = c1 * rng**2, c2 * rng**2
    ma, mb = _gaussian_filter(a, sigma), _gaussian_filter(b, sigma)
    va = _gaussian_filter(a * a, sigma) - ma**2
    vb = _gaussian_filter(b * b, sigma) - mb**2
    cab = _gaussian_filter(a * b, sigma) - ma * mb
    s = ((2 * ma * mb + k1) * (2 * cab + k2)) / ((ma**2 + mb**2 + k1) * (va + vb + k2))
    return jnp.mean(s, axis=(-2, -1))


def local_contrast_loss(sim, data, sigma: float = 3.0):
    """1 − SSIM(sim, data) (see :func:`ssim`)."""
    return 1.0 - ssim(sim, data, sigma)


def combined_loss(sim, data, w_l2: float = 1.0, w_ncc: float = 0.0, w_ssim: float = 0.0, sigma: float = 3.0):
    """w_l2·L2/var(data) + w_ncc·(1 − NCC) + w_ssim·(1 − SSIM) (dimensionless)."""
    for w, name in ((w_l2, "w_l2"), (w_ncc, "w_ncc"), (w_ssim, "w_ssim")):
        validate.scalar(w, name, nonnegative=True)
    out = w_l2 * l2(sim, data)
    if w_ncc:
        out = out + w_ncc * ncc_loss(sim, data)
    if w_ssim:
        out = out + w_ssim * local_contrast_loss(sim, data, sigma)
    return out


LOSSES = {"l2": l2, "ncc": ncc_loss, "ssim": local_contrast_loss}


def get_loss(name_or_fn):
    """A loss function from its name ('l2', 'ncc', 'ssim') or a callable (passed through)."""
    if callable(name_or_fn):
        return name_or_fn
    if not isinstance(name_or_fn, str):
        raise validate.InputTypeError(f"loss must be one of {sorted(LOSSES)} or a callable loss(sim, data), got "
                                      f"{type(name_or_fn).__name__}")
    return LOSSES[validate.choice(name_or_fn, "loss", sorted(LOSSES))]
