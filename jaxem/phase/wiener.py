"""CTF-corrected (Wiener-deconvolved) parallax and tilt-corrected bright field (tcBF).

A direct reconstruction is the object spectrum filtered by an analytic transfer function plus noise,

    P(q) = T(q)·σφ̃(q) + n(q),

(:mod:`jaxem.phase.transfer`; for parallax T = [|ψ̂|⋆|ψ̂|](q)·sin χ(q), with the HRTEM-like zeros of
sin χ). The minimum-mean-square-error estimate of σφ̃ is the Wiener filter

    σφ̃_W(q) = P(q)·T*(q) / (|T(q)|² + N/S(q)),

with N the noise power per frequency and S(q) the object power spectrum (Wiener 1949; the same
filter as the noise-aware CTF correction of HRTEM). Both are estimated from the data:

* N — from the Poisson statistics when the dose is known: each vBF image v_k = I_k/I₀ has variance
  ⟨v_k⟩/I₀ per scan position, so the parallax spectrum ½·u²·Σ_k G_k e^{−2πiq·s_k} has the flat noise
  power N = (u²/2)²·N_scan·Σ_k⟨v_k⟩/I₀ (I₀ = electrons per pattern); otherwise from the spectrum
  outside the bright-field band |q| > 2k_probe + edge, where T = 0 and only noise (and, on an
  upsampled grid, the aliasing residue that cannot be signal) remains;
* S(q) — per ring of |q|: (⟨|P|²⟩ − N)/⟨|T|²⟩, floored at a small fraction of N.

N also carries a model-error floor ``model_error``·⟨|P|²⟩ (mean over the band): the weak-phase
transfer is exact only to first order in σφ, and without it a noise-free dataset would be divided by
|T| ≈ 0 next to every zero of sin χ (measured on the benchmark's white-noise object, σφ = 0.01 rad:
correlation with the band-limited phase 0.975 without the floor, 0.987 at 10⁻⁶, 0.93 at 10⁻³).

As the signal-to-noise ratio → ∞ the filter becomes 1/T (full CTF correction); as it → 0 it becomes
(S/N)·T*, the matched filter, whose sign is the phase flip sgn(sin χ(q)) of
:func:`jaxem.phase.direct.parallax` ``flip=True`` (the phase flip is the low-SNR limit, tested).
Frequencies outside the band are set to zero. The filter is a per-frequency multiplication after the
(jitted, batched) parallax kernel and the analytic transfer, so it costs one extra pass over the
bright-field pixels (the transfer) at most.

**Channel-resolved Wiener** (:func:`wiener_direct`). Deconvolving the summed parallax image cannot restore
the frequencies near the zeros of sin χ: the two sidebands of every vBF image cancel there in the sum.
Kept apart, they do not: each channel k measures G(q, k) = σφ̃(q)·iΓ̂(q, k) + n_k(q) with the
aperture-overlap function Γ̂ (:mod:`jaxem.phase.direct`), whose single-sideband parts carry the
signal wherever sin χ = 0. The MMSE estimate from all channels, for white channel noise of power
ν per frequency, is

    σφ̃(q) = Σ_k (−i)Γ̂*(q, k)·G(q, k) / (Σ_k |Γ̂(q, k)|² + ν/S(q)),

the least-squares (normal-equation) solution Σ_k(−i)Γ̂*G / Σ_k|Γ̂|² regularised by the noise-to-signal
ratio — the Wiener form of the phase-compensated SSB/parallax family (its transfer has no zeros
inside 0 < |q| < 2k_probe). ν comes from the dose (ν = N_scan·⟨v_k⟩/I₀) or from the plain
bright-field sum outside the band (Σ_k G carries n·ν there); S(q) per ring from the excess of the
least-squares estimate over its noise ν/Σ|Γ̂|². With aberrations fitted from the data
(:func:`~jaxem.phase.fit_parallax`) this is the CTF-corrected tilt-corrected bright field
(:func:`tcbf`).
"""
from __future__ import annotations

import numpy as np

import jax.numpy as jnp

from .. import validate
from . import geometry
from .direct import reconstruct_spectrum
from .stack import BFStack
from .transfer import stack_transfer


def _ring_index(shape, sampling, n_rings):
    qy = np.fft.fftfreq(shape[0], sampling[0])
    qx = np.fft.fftfreq(shape[1], sampling[1])
    q = np.hypot(qy[:, None], qx[None, :])
    edges = np.linspace(0, q.max() * (1 + 1e-9), n_rings + 1)
    return q, np.clip(np.digitize(q, edges) - 1, 0, n_rings - 1)


def noise_power_outside(spec, sampling, qmax: float) -> float:
    """Mean |P(q)|² over the frequencies |q| > ``qmax`` [1/Å] of a spectrum on a grid of real-space
    ``sampling`` (dy, dx) [Å]; raises when the grid has none (Nyquist ≤ qmax)."""
    validate.array(spec, "spec", ndim=2)
    sampling = validate.pair(sampling, "sampling", "Å", positive=True, allow_traced=False)
    qmax = validate.scalar(qmax, "qmax", "1/Å", positive=True, allow_traced=False)
    p = np.abs(np.asarray(spec)) ** 2
    q, _ = _ring_index(p.shape, sampling, 1)
    out = q > qmax
    if out.sum() < 16:
        raise validate.InputError(
            f"dose: the noise power cannot be estimated from the data: the scan grid has {int(out.sum())} "
            f"frequencies beyond the bright-field band {qmax:.4g} 1/Å (need ≥ 16; its Nyquist frequency is "
            f"{q.max():.4g} 1/Å); give dose= [e⁻ per pattern] or noise= [spectral power]")
    return float(np.mean(p[out]))


def wiener_filter(spec, transfer, sampling, qmax: float, noise: float, n_rings: int = 48, floor: float = 1e-3):
    """The Wiener-deconvolved spectrum P·T*/(|T|² + N/S(q)) (module docstring), 0 for |q| > ``qmax``.

    Args:
        spec: P(q) (ny, nx) complex, FFT order; transfer: T(q) on the same grid.
        sampling: real-space sampling (dy, dx) [Å] of the grid; qmax: band limit [1/Å].
        noise: N, the noise power per frequency of ``spec`` (≥ 0; 0 gives the plain inverse where
            T ≠ 0).
        n_rings: rings of |q| for the object power S(q); floor: S ≥ floor·N/max|T|².
    Returns:
        (filtered spectrum, filter W(q)) as NumPy arrays.
    """
    validate.array(spec, "spec", ndim=2)
    validate.array(transfer, "transfer", ndim=2, shape=np.shape(spec))
    noise = validate.scalar(noise, "noise", nonnegative=True, allow_traced=False)
    p = np.asarray(spec)
    t = np.asarray(transfer)
    # numerical zeros of T (rounding residue of an FFT-evaluated transfer) are zeros: a 1/T gain of
    # more than 10⁴ would only amplify rounding
    t = np.where(np.abs(t) > 1e-4 * np.abs(t).max(), t, 0.0)
    q, ring = _ring_index(p.shape, sampling, n_rings)
    inside = q <= qmax
    p2 = np.abs(p) ** 2
    t2 = np.abs(t) ** 2
    r = ring[inside]
    cnt = np.maximum(np.bincount(r, minlength=n_rings), 1)
    pp = np.bincount(r, p2[inside], n_rings) / cnt
    tt = np.bincount(r, t2[inside], n_rings) / cnt
    tiny = np.finfo(np.float64).tiny
    has_t = tt > 0
    s_obj = np.where(has_t, np.maximum(pp - noise, floor * noise) / np.where(has_t, tt, 1.0), np.inf)
    ratio = noise / np.maximum(s_obj[ring], tiny)  # rings without transfer: ratio 0, filter 0 (T = 0)
    den = t2 + ratio
    w = np.where(inside & (den > 0), np.conj(t) / np.where(den > 0, den, 1.0), 0.0)
    return p * w, w


def _noise_from_dose(stack: BFStack, dose, upsampling):
    dose = stack.i0 if isinstance(dose, str) and dose == "counts" else dose
    dose = validate.scalar(dose, "dose", "e⁻ per pattern", positive=True, allow_traced=False)
    n_scan = stack.scan_shape[0] * stack.scan_shape[1]
    bf = float(jnp.sum(jnp.mean(stack.vbf, axis=(1, 2))))  # Σ_k ⟨v_k⟩
    return (upsampling**2 / 2) ** 2 * n_scan * bf / dose


@validate.typed
def wiener_parallax(stack: BFStack, aberrations=None, rotation=0.0, upsampling: int = 1, dose=None,
                    noise=None, model_error: float = 1e-6, return_filter: bool = False, memory_budget=None):
    """Parallax image deconvolved by its transfer function with a noise-aware Wiener filter [rad]
    ((u·Sy, u·Sx); module docstring).

    Args:
        stack: virtual bright-field stack.
        aberrations: probe aberrations (C10 = −Δf [Å], …; known or from
            :func:`~jaxem.phase.fit_parallax`); rotation: detector rotation θ [rad].
        upsampling: output upsampling u ≥ 1 (tcBF; output sampling Δr/u [Å]).
        dose: electrons per pattern (> 0) for the Poisson noise power, or ``"counts"`` when the data
            are electron counts (the mean pattern total is the dose). Default: the noise is measured
            outside the bright-field band (an error names ``dose`` when the grid has no such band).
        noise: the noise power per frequency, if known (overrides ``dose``).
        model_error: relative floor of the noise power (module docstring; ≥ 0).
        return_filter: also return (filter W(q), transfer T(q), noise N).
        memory_budget: bytes (or '2G') for the bright-field batches.
    """
    if not isinstance(stack, BFStack):
        raise validate.InputTypeError(f"stack must be a BFStack (phase.bright_field_stack), got {type(stack).__name__}")
    ab = geometry.check_aberrations(aberrations)
    rotation = geometry.check_rotation(rotation)
    u = validate.integer(upsampling, "upsampling", lo=1)
    model_error = validate.scalar(model_error, "model_error", nonnegative=True, allow_traced=False)
    spec = np.asarray(reconstruct_spectrum(stack, "parallax", ab, rotation, u, memory_budget))
    t = np.asarray(stack_transfer("parallax", stack, ab, rotation, u, memory_budget))
    fine = (stack.scan_sampling[0] / u, stack.scan_sampling[1] / u)
    qmax = 2 * stack.cutoff + stack.edge
    if noise is not None:
        n = validate.scalar(noise, "noise", nonnegative=True, allow_traced=False)
    elif dose is not None:
        n = _noise_from_dose(stack, dose, u)
    else:
        n = noise_power_outside(spec, fine, qmax * 1.02)
    q, _ = _ring_index(spec.shape, fine, 1)
    n = n + model_error * float(np.mean(np.abs(spec[q <= qmax]) ** 2))
    out, w = wiener_filter(spec, t, fine, qmax, n)
    img = np.real(np.fft.ifft2(out)).astype(np.asarray(stack.vbf[:1, :1, :1]).dtype)
    if return_filter:
        return img, (w, t, n)
    return img


@validate.typed
def wiener_direct(stack: BFStack, aberrations=None, rotation=0.0, upsampling: int = 1, dose=None, noise=None,
           model_error: float = 1e-6, return_info: bool = False, memory_budget=None):
    """Channel-resolved Wiener (MMSE) phase [rad] ((u·Sy, u·Sx); module docstring).

    Args:
        stack: virtual bright-field stack; aberrations, rotation [rad]: the probe (known or fitted).
        upsampling: output upsampling u ≥ 1 (each channel's spectrum tiled u×u).
        dose: electrons per pattern or ``"counts"`` (Poisson channel noise); default: measured from
            the bright-field sum outside the band (an error names ``dose`` when the grid has none).
        noise: the channel noise power ν, if known.
        model_error: ν floor relative to the mean channel power (first-order model error).
        return_info: also return dict(noise=ν, lsq_power=Σ|Γ̂|² (u·Sy, u·Sx)).
        memory_budget: bytes (or '2G') for the bright-field batches.
    """
    from .direct import _spectra

    if not isinstance(stack, BFStack):
        raise validate.InputTypeError(f"stack must be a BFStack (phase.bright_field_stack), got {type(stack).__name__}")
    u = validate.integer(upsampling, "upsampling", lo=1)
    model_error = validate.scalar(model_error, "model_error", nonnegative=True, allow_traced=False)
    num, den = _spectra(stack, "lsq", aberrations, rotation, u, memory_budget)
    num = np.asarray(num, np.complex128) * (2.0 / u**2)  # Σ_k (−i)Γ̂*G
    den = np.asarray(den, np.float64)
    n_ch, sy, sx = stack.vbf.shape
    fine = (stack.scan_sampling[0] / u, stack.scan_sampling[1] / u)
    qmax = 2 * stack.cutoff + stack.edge
    if noise is not None:
        nu = validate.scalar(noise, "noise", nonnegative=True, allow_traced=False)
    elif dose is not None:
        nu = _noise_from_dose(stack, dose, 1) * 4 / n_ch  # per channel (that helper's sum is over ½Σ_k)
    else:
        bf = np.fft.fft2(np.asarray(jnp.sum(stack.vbf, 0), np.float64))
        nu = noise_power_outside(bf, stack.scan_sampling, qmax * 1.02) / n_ch
    q, ring = _ring_index(num.shape, fine, 48)
    inside = (q <= qmax) & (den > 1e-4 * den.max())
    ls = np.where(inside, num / np.where(inside, den, 1.0), 0.0)
    r = ring[inside]
    cnt = np.maximum(np.bincount(r, minlength=48), 1)
    excess = np.bincount(r, (np.abs(ls) ** 2 - nu / np.where(inside, den, 1.0))[inside], 48) / cnt
    floor = 1e-3 * nu / den.max()
    s_obj = np.maximum(excess, floor)[ring]
    nu_eff = nu + model_error * float(np.mean(np.abs(num[inside]) ** 2 / den[inside]))
    est = np.zeros_like(num)
    est[inside] = num[inside] / (den[inside] + nu_eff / s_obj[inside])
    img = np.real(np.fft.ifft2(est)).astype(np.asarray(stack.vbf[:1, :1, :1]).dtype)
    if return_info:
        return img, {"noise": float(nu), "lsq_power": den}
    return img


@validate.typed
def tcbf(stack: BFStack, fit=None, upsampling: int = 1, dose=None, noise=None, model_error: float = 1e-6,
         memory_budget=None, **fit_kwargs):
    """CTF-corrected tilt-corrected bright field from the data alone: the aberrations and rotation
    fitted from the vBF shifts (:func:`~jaxem.phase.fit_parallax`, unless ``fit`` is given), then the
    channel-resolved Wiener estimate (:func:`wiener_direct`) at those aberrations. Returns (image [rad], fit)."""
    from .parallax_fit import fit_parallax

    if fit is None:
        fit = fit_parallax(stack, memory_budget=memory_budget, **fit_kwargs)
    else:
        from .alignment import AberrationFit
        validate.instance(fit, "fit", AberrationFit)
    img = wiener_direct(stack, fit.aberrations, fit.rotation, upsampling, dose=dose, noise=noise,
                 model_error=model_error, memory_budget=memory_budget)
    return img, fit
