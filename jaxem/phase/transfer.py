"""Analytic transfer functions of the direct methods, measured transfer functions, and radial averages.

For a weak phase object exp(iσφ) every direct reconstruction is σφ filtered by a transfer function
T(q) (module :mod:`jaxem.phase.direct` for the notation, Γ̂ and d_k):

* SSB:      T(q) = ½ Σ_k w_k |Γ̂(q, k)|                 (positive, zero at q → 0 and q ≥ 2 k_probe)
* OBF, phase object (``object_type="phase"``):
            T(q) = ½ Σ_k w_k |Γ̂|²/d_k / sqrt(Σ_k w_k² |Γ̂|²/d_k)   (½ sqrt(Σ_k |Γ̂|²/d_k) at w_k = 1)
* OBF, complex object (default): the phase channel's gain ½ (1 + ρ − |r|²)·sqrt(S_φφ)/sqrt(var)
            (direct module docstring, "Complex object"; ½ sqrt(S_φφ − |S_φa|²/S_aa) at w_k = 1, ρ = 0)
* parallax: T(q) = ½ Σ_k w_k iΓ̂(q, k) e^{−2πi q·s_k}    (the kernel applied to the weak-object data;
            for a quadratic χ (C10, C12) and a centro-symmetric pixel set it is
            Σ_k w_k|ψ(k)||ψ(k − q)| / Σ_k|ψ(k)|² · sin χ(q), [|ψ̂|⋆|ψ̂|](q)·sin χ(q) at w_k = 1, with
            HRTEM-like zeros; with C30 and higher orders that form is 13–16 % off the measured transfer
            (``tests/phase/test_peer_diff.py``), so the exact sum is evaluated)
* iCoM:     T(q) = Σ_k ψ̂*(k) ψ̂(k − q) = [ψ̂⋆ψ̂](q)      (complex probe autocorrelation)

Sums run over the bright-field pixels of the detector (the Riemann sums of the integrals of
Yang et al., Ultramicroscopy 171 (2016) 117, and of the EM000008 article "Evaluating the Transfer of
Information in Phase Retrieval STEM Techniques", Elemental Microscopy). A measured transfer function
is FFT(reconstruction)/FFT(σφ) for a known object (white noise makes it defined at every q).
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..optics.aberrations import Aberrations
from . import geometry
from .direct import (COMPLEX_RIDGE, OBJECT_TYPES, _solve_complex, check_pixel_weights, complex_columns, complex_gram,
                     fine_frequencies, gamma)
from .stack import CPU_BATCH_BYTES

TRANSFER_METHODS = ("ssb", "obf", "parallax", "icom")


@partial(jax.jit, static_argnames=("method", "shape", "scan_sampling", "upsampling", "wavelength", "cutoff",
                                   "edge", "b", "nb", "orders"))
def _transfer(k, ab, w, *, method, shape, scan_sampling, upsampling, wavelength, cutoff, edge, b, nb, orders=None):
    rdt = k.dtype
    n = k.shape[0]
    qy, qx = fine_frequencies(shape, scan_sampling, upsampling, rdt)
    amp_k = geometry.aperture_amplitude(k[:, 0], k[:, 1], wavelength, cutoff, edge)
    norm = jnp.sum(amp_k**2)
    pad = b * nb - n
    kp = jnp.pad(k, ((0, pad), (0, 0))).reshape(nb, b, 2)
    wp = jnp.pad(w.astype(rdt), (0, pad)).reshape(nb, b)
    _, cdt = accel.dtypes(rdt)

    def body(acc, xs):
        kk, ww = xs
        ww = ww[:, None, None]
        if method == "obf_complex":
            c0, c1, d = complex_columns(ab, kk, qy, qx, wavelength, cutoff, edge, norm, n, orders)
            return acc + complex_gram(c0, c1, d, ww[:, 0, 0], ww[:, 0, 0] ** 2).astype(cdt), None
        if method in ("ssb", "obf"):
            gam = gamma(ab, kk, qy, qx, wavelength, cutoff, edge, norm, orders)
            if method == "ssb":
                return acc + jnp.sum(ww * jnp.abs(gam), 0).astype(cdt), None
            pk = geometry.probe_at(ab, kk[:, 0], kk[:, 1], wavelength, cutoff, edge, orders)
            d = jnp.maximum(jnp.abs(pk) ** 2 / norm, 1e-3 / n)[:, None, None]
            g2 = jnp.abs(gam) ** 2 / d
            # signal Σ w|Γ̂|²/d (real part) and noise power Σ w²|Γ̂|²/d (imaginary part) of one sum
            return acc + (jnp.sum(ww * g2, 0) + 1j * jnp.sum(ww * ww * g2, 0)).astype(cdt), None
        if method == "parallax":  # ½ Σ_k w_k iΓ̂(q, k) e^{−2πi q·s_k}: the kernel applied to the model data
            gam = gamma(ab, kk, qy, qx, wavelength, cutoff, edge, norm, orders)
            s = geometry.parallax_shifts(ab, kk[:, 0], kk[:, 1], wavelength)
            ramp = jnp.exp(-2j * jnp.pi * (qy[None, :, None] * s[:, 0, None, None]
                                            + qx[None, None, :] * s[:, 1, None, None]))
            return acc + jnp.sum(ww * 0.5j * gam * ramp, 0).astype(cdt), None
        ky, kx = kk[:, 0, None, None], kk[:, 1, None, None]
        pk = geometry.probe_at(ab, ky, kx, wavelength, cutoff, edge, orders)
        pm = geometry.probe_at(ab, ky - qy[None, :, None], kx - qx[None, None, :], wavelength, cutoff, edge, orders)
        return acc + jnp.sum(ww * jnp.conj(pk) * pm, 0), None

    size = (upsampling * shape[0], upsampling * shape[1])
    acc, _ = jax.lax.scan(body, jnp.zeros(((6,) if method == "obf_complex" else ()) + size, cdt), (kp, wp))
    if method == "obf_complex":
        return (_solve_complex(None, acc, COMPLEX_RIDGE, transfer=True)[0] / 2).astype(cdt)
    if method == "ssb":
        return (acc.real / 2).astype(cdt)
    if method == "obf":
        ok = acc.imag > 1e-12
        return jnp.where(ok, acc.real / (2 * jnp.sqrt(jnp.where(ok, acc.imag, 1.0))), 0.0).astype(cdt)
    if method == "parallax":
        return acc
    return acc / norm


def transfer_function(method: str, k_bf, shape, scan_sampling, wavelength: float, cutoff: float, edge: float,
                      aberrations: Aberrations | None = None, upsampling: int = 1, memory_budget=None,
                      weights=None, object_type: str = "complex"):
    """Analytic transfer function T(q) on the (u·Sy, u·Sx) scan-frequency grid (FFT order).

    Args:
        method: 'ssb', 'obf', 'parallax' or 'icom'.
        k_bf: (N, 2) scan-frame bright-field frequencies (ky, kx) [1/Å] (e.g. ``stack.k_scan(θ)``).
        shape: scan shape (Sy, Sx); scan_sampling: (dy, dx) [Å].
        wavelength: λ [Å]; cutoff: aperture radius [1/Å]; edge: aperture edge width [1/Å].
        aberrations: probe aberrations; upsampling: output upsampling u ≥ 1.
        memory_budget: bytes (or '2G') for the bright-field batches (default: accel policy).
        weights: per-pixel weights w_k (N,) of the vBF images (default 1; e.g.
            :func:`jaxem.phase.direct.contrast_weights`); not for 'icom'.
        object_type: OBF only: ``"complex"`` (default) or ``"phase"``, as :func:`jaxem.phase.direct.obf`.
    Returns:
        complex array; real for SSB/OBF, real up to rounding for parallax, complex for iCoM.
    """
    method = validate.choice(method, "method", TRANSFER_METHODS)
    object_type = validate.choice(object_type, "object_type", OBJECT_TYPES)
    validate.array(k_bf, "k_bf", ndim=2, shape=(None, 2), kind="real", units="1/Å")
    k = jnp.asarray(k_bf)
    u = validate.integer(upsampling, "upsampling", lo=1)
    shape = validate.pair(shape, "shape", kind=int, lo=1)
    scan_sampling = validate.pair(scan_sampling, "scan_sampling", "Å", positive=True, allow_traced=False)
    wavelength = validate.scalar(wavelength, "wavelength", "Å", positive=True, allow_traced=False)
    cutoff = validate.scalar(cutoff, "cutoff", "1/Å", positive=True, allow_traced=False)
    edge = validate.scalar(edge, "edge", "1/Å", positive=True, allow_traced=False)
    per = (24 if method == "obf" and object_type == "complex" else 12) * u * u * shape[0] * shape[1] * 16
    b = accel.batch_size(per, k.shape[0], memory_budget, cpu_cap=CPU_BATCH_BYTES)
    nb = -(-k.shape[0] // b)
    ab = geometry.check_aberrations(aberrations)
    if weights is None:
        w = jnp.ones((k.shape[0],), k.dtype)
    elif method == "icom":
        raise validate.InputError(f"weights: per-pixel weights apply to methods 'ssb', 'obf' and 'parallax', got "
                                  f"method {method!r}")
    else:
        w = check_pixel_weights(weights, k.shape[0], k.dtype)
    if method == "obf" and object_type == "complex":
        method = "obf_complex"
    return _transfer(k, ab, w, method=method, shape=shape, scan_sampling=scan_sampling, upsampling=u,
                     wavelength=wavelength, cutoff=cutoff, edge=edge, b=b, nb=nb,
                     orders=geometry.active_orders(ab))


def stack_transfer(method: str, stack, aberrations=None, rotation=0.0, upsampling: int = 1, memory_budget=None,
                   weights=None, object_type: str = "complex"):
    """:func:`transfer_function` with the geometry of a :class:`~jaxem.phase.stack.BFStack`."""
    from .stack import BFStack

    validate.instance(stack, "stack", BFStack, "a BFStack (phase.bright_field_stack)")
    return transfer_function(method, stack.k_scan(geometry.check_rotation(rotation)), stack.scan_shape,
                             stack.scan_sampling, stack.wavelength, stack.cutoff, stack.edge, aberrations,
                             upsampling, memory_budget, weights, object_type)


def measured_transfer(reconstruction, true_phase, min_amplitude: float = 1e-12):
    """T(q) = FFT(reconstruction)/FFT(true_phase) (0 where the object spectrum vanishes)."""
    validate.array(reconstruction, "reconstruction", ndim=2, kind="real")
    validate.array(true_phase, "true_phase", ndim=2, kind="real")
    min_amplitude = validate.scalar(min_amplitude, "min_amplitude", nonnegative=True, allow_traced=False)
    r = np.fft.fft2(np.asarray(reconstruction))
    t = np.fft.fft2(np.asarray(true_phase))
    if r.shape != t.shape:
        raise validate.InputError(f"reconstruction {r.shape} and true_phase {t.shape} must have the same shape")
    ok = np.abs(t) > min_amplitude * np.abs(t).max()
    return np.where(ok, r / np.where(ok, t, 1.0), 0.0)


def radial_average(values, shape_sampling, bins: int = 32, qmax=None):
    """Azimuthal average of ``values`` (ny, nx, FFT order) in |q| bins.

    Args:
        values: (ny, nx) array in FFT order.
        shape_sampling: real-space sampling (dy, dx) [Å] of the grid.
        bins: number of bins; qmax: largest |q| [1/Å] (default: Nyquist).
    Returns:
        (q_centres [1/Å], mean per bin) as NumPy arrays (NaN in empty bins).
    """
    validate.array(values, "values", ndim=2)
    shape_sampling = validate.pair(shape_sampling, "shape_sampling", "Å", positive=True, allow_traced=False)
    bins = validate.integer(bins, "bins", lo=1)
    if qmax is not None:
        qmax = validate.scalar(qmax, "qmax", "1/Å", positive=True, allow_traced=False)
    v = np.asarray(values)
    ny, nx = v.shape
    qy = np.fft.fftfreq(ny, shape_sampling[0])
    qx = np.fft.fftfreq(nx, shape_sampling[1])
    q = np.hypot(qy[:, None], qx[None, :])
    qmax = q.max() if qmax is None else qmax
    edges = np.linspace(0, qmax, bins + 1)
    idx = np.digitize(q.ravel(), edges) - 1
    ok = (idx >= 0) & (idx < bins)
    cnt = np.bincount(idx[ok], minlength=bins)
    if np.iscomplexobj(v):
        s = np.bincount(idx[ok], v.real.ravel()[ok], bins) + 1j * np.bincount(idx[ok], v.imag.ravel()[ok], bins)
    else:
        s = np.bincount(idx[ok], v.ravel()[ok], bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * (edges[1:] + edges[:-1]), s / cnt
