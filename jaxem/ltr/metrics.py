"""Image-quality metrics against a known truth: PSNR, SSIM and the dose-equivalence factor.

* PSNR = 10 log₁₀(peak² / MSE) [dB] with peak = max(truth) (per image, or over a batch of images).
* SSIM (Wang, Bovik, Sheikh & Simoncelli, IEEE TIP 13 (2004) 600): Gaussian window σ = 1.5 px,
  K₁ = 0.01, K₂ = 0.03, data range = max(truth) − min(truth), mean over valid pixels, for 2D images.
* Dose-equivalence factor: the exposure fraction f* at which a denoiser applied to data recorded
  with the fraction f of the dose (and rescaled by 1/f) reaches the PSNR of the plain sum at the full
  dose. f* < 1 means the denoiser saves dose (the reference reports f* ≈ 0.16); found by
  interpolating PSNR(log f) between measured fractions.
"""
from __future__ import annotations

import numpy as np

from .. import validate


def psnr(estimate, truth, axis=None) -> np.ndarray:
    """Peak signal-to-noise ratio [dB] (peak = max of ``truth`` over ``axis``)."""
    validate.array(truth, "truth", kind="real")
    t = np.asarray(truth, np.float64)
    validate.array(estimate, "estimate", shape=t.shape, kind="real")
    e = np.asarray(estimate, np.float64)
    if e.shape != t.shape:
        raise validate.InputError(f"estimate {e.shape} and truth {t.shape} must have the same shape")
    mse = np.mean((e - t) ** 2, axis=axis)
    peak = np.max(t, axis=axis)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(peak ** 2 / mse)


def _gauss_filter(x, sigma=1.5, truncate=3.5):
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, sigma, truncate=truncate, mode="reflect")


def ssim(estimate, truth, data_range=None) -> float:
    """Structural similarity of two 2D images (Wang et al. 2004, Gaussian-weighted)."""
    validate.array(truth, "truth", ndim=2, kind="real")
    validate.array(estimate, "estimate", ndim=2, kind="real")
    x = np.asarray(estimate, np.float64)
    y = np.asarray(truth, np.float64)
    if x.shape != y.shape or min(x.shape) < 11:
        raise validate.InputError(f"ssim needs two 2D images of the same shape, at least 11 × 11 (the window), "
                                  f"got {x.shape} and {y.shape}")
    L = float(y.max() - y.min()) if data_range is None else validate.scalar(data_range, "data_range", positive=True)
    if L <= 0:
        raise validate.InputError("data_range must be > 0 (truth is constant)")
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    mx, my = _gauss_filter(x), _gauss_filter(y)
    # unbiased (sample) covariance as in skimage's use_sample_covariance default
    n = 7 * 7  # skimage's effective window size for σ = 1.5
    cov_norm = n / (n - 1)
    vx = cov_norm * (_gauss_filter(x * x) - mx * mx)
    vy = cov_norm * (_gauss_filter(y * y) - my * my)
    vxy = cov_norm * (_gauss_filter(x * y) - mx * my)
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    pad = 5  # crop the border like skimage ((win_size − 1)/2 with win_size = 2·⌈3.5σ⌉ + 1 = 11)
    return float(s[pad:-pad, pad:-pad].mean())


def dose_equivalence_factor(fractions, psnr_denoised, psnr_reference: float) -> float:
    """Exposure fraction f* where the denoised PSNR(f) reaches ``psnr_reference`` [dB].

    Args:
        fractions: increasing dose fractions f (0 < f ≤ 1).
        psnr_denoised: PSNR [dB] of the denoised, 1/f-rescaled data at each fraction.
        psnr_reference: PSNR [dB] of the plain sum at the full dose.

    Returns:
        f* by linear interpolation in log f (``nan`` if never reached, the smallest fraction if
        already exceeded there).
    """
    validate.array(fractions, "fractions", ndim=1, kind="real")
    f = np.asarray(fractions, np.float64)
    validate.array(psnr_denoised, "psnr_denoised", shape=f.shape, kind="real", finite=False)
    p = np.asarray(psnr_denoised, np.float64)
    psnr_reference = validate.scalar(psnr_reference, "psnr_reference", "dB")
    if np.any(np.isnan(p)):
        raise validate.InputError("psnr_denoised holds NaN (an undefined PSNR); +inf (a perfect estimate) is allowed")
    if np.any(np.diff(f) <= 0) or f[0] <= 0:
        raise validate.InputError("fractions must be increasing, > 0 and match psnr_denoised")
    above = np.nonzero(p >= psnr_reference)[0]
    if above.size == 0:
        return float("nan")
    i = above[0]
    if i == 0:
        return float(f[0])
    lf = np.log(f[i - 1]) + (psnr_reference - p[i - 1]) * (np.log(f[i]) - np.log(f[i - 1])) / (p[i] - p[i - 1])
    return float(np.exp(lf))
