"""Detector geometry and the probe as seen by the phase-retrieval kernels.

Frames: a detector pixel ``(i, j)`` (row, column) of a pattern with centre ``(cy, cx)`` [px] and
pixel size ``(dky, dkx)`` [1/Å] has the detector-frame frequency ``k_det = ((i − cy)·dky,
(j − cx)·dkx)``. The scan-frame frequency used by every kernel is

    k = R(θ) · T · k_det,    R(θ): kx' = cos θ·kx − sin θ·ky,  ky' = sin θ·kx + cos θ·ky,

with ``T`` the optional transpose (swap of ky and kx) and θ the detector rotation [rad] (an active
counter-clockwise rotation of the detector frequency grid). A flip of the detector ky axis equals
``transpose=True, rotation=−π/2`` (tested). The scan frame is the frame of the scan axes
``(scan_y, scan_x)``.

The probe is ψ(k) = A(k)·exp(−iχ(k)) with a soft round aperture A (linear edge of width ``edge``
[1/Å]) and χ from :mod:`jaxem.optics.aberrations`; kernels use ψ̂ = ψ / sqrt(Σ_BF |ψ|²).
All functions are pure and differentiable with respect to the aberrations and θ.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..optics.aberrations import ABERRATION_ORDERS, Aberrations, chi


def rotate_frequencies(ky, kx, rotation, transpose: bool = False):
    """Scan-frame (ky, kx) [1/Å] of detector-frame frequencies (see module docstring).

    Args:
        ky, kx: detector-frame frequencies [1/Å] (any broadcastable shapes).
        rotation: θ [rad] (may be traced).
        transpose: swap ky and kx before rotating (static).
    """
    if transpose:
        ky, kx = kx, ky
    c, s = jnp.cos(rotation), jnp.sin(rotation)
    return s * kx + c * ky, c * kx - s * ky


def detector_frequencies(shape, center, sampling, rotation=0.0, transpose: bool = False, dtype=jnp.float32):
    """Scan-frame frequencies (ky, kx) [1/Å] of every detector pixel, each of shape ``shape``.

    Args:
        shape: detector shape (ny, nx) [px].
        center: position of k = 0 (cy, cx) [px] (fractional allowed).
        sampling: detector pixel size (dky, dkx) [1/Å].
        rotation: θ [rad]; transpose: see module docstring.
    """
    iy = (jnp.arange(shape[0], dtype=dtype) - center[0]) * sampling[0]
    ix = (jnp.arange(shape[1], dtype=dtype) - center[1]) * sampling[1]
    ky, kx = jnp.meshgrid(iy, ix, indexing="ij")
    return rotate_frequencies(ky, kx, jnp.asarray(rotation, dtype), transpose)


def aperture(k, cutoff, edge):
    """Soft round aperture: 1 inside ``cutoff − edge/2``, 0 outside ``cutoff + edge/2``, linear between.

    Args:
        k: |k| [1/Å]; cutoff: aperture radius [1/Å]; edge: width of the edge [1/Å] (> 0).
    """
    return jnp.clip((cutoff - k) / edge + 0.5, 0.0, 1.0)


def active_orders(ab: Aberrations):
    """Static tuple of the (n, m) orders of ``ab`` whose coefficient is traced or non-zero; orders
    with a concrete zero coefficient contribute nothing to χ (or its gradient) and are skipped."""
    out = []
    for n, m in ABERRATION_ORDERS:
        c = ab.coefficient(n, m)[0]
        try:
            if float(c) == 0.0:
                continue
        except (TypeError, jax.errors.ConcretizationTypeError):
            pass
        out.append((n, m))
    return tuple(out)


def chi_orders(ab: Aberrations, alpha, phi, wavelength: float, orders=None):
    """χ(α, φ) [rad] summed over ``orders`` only (all orders when None); same formula as
    :func:`jaxem.optics.aberrations.chi` (tested equal), cheaper when few coefficients are set."""
    if orders is None:
        return chi(ab, alpha, phi, wavelength)
    out = jnp.zeros(jnp.broadcast_shapes(jnp.shape(alpha), jnp.shape(phi)), alpha.dtype)
    for n, m in orders:
        c, phi_nm = ab.coefficient(n, m)
        term = jnp.asarray(c, alpha.dtype) * alpha ** (n + 1) / (n + 1)
        if m:
            term = term * jnp.cos(m * (phi - jnp.asarray(phi_nm, alpha.dtype)))
        out = out + term
    return (2 * jnp.pi / wavelength) * out


def probe(ab: Aberrations, ky, kx, wavelength: float, cutoff, edge, orders=None):
    """ψ(k) = A(k)·exp(−iχ(k)) at frequencies (ky, kx) [1/Å] (any shape); unnormalised, complex.

    ``orders``: static tuple of (n, m) to include (see :func:`active_orders`); None = all.
    """
    k2 = ky**2 + kx**2
    safe = k2 > 0  # differentiable at k = 0 (sqrt and arctan2 have singular gradients there)
    k = jnp.where(safe, jnp.sqrt(jnp.where(safe, k2, 1.0)), 0.0)
    if orders is not None and not any(m for _, m in orders):
        phi = jnp.zeros((), k.dtype)  # round aberrations only: the azimuth is not needed
    else:
        phi = jnp.arctan2(jnp.where(safe, ky, 0.0), jnp.where(safe, kx, 1.0))
    amp = aperture(k, cutoff, edge)
    phase = chi_orders(ab, wavelength * k, phi, wavelength, orders)
    return amp * jnp.exp(-1j * phase)


def chi_gradient(ab: Aberrations, ky, kx, wavelength: float):
    """∇_k χ(k) [rad·Å] at scan-frame frequencies (ky, kx) [1/Å] (1D arrays of equal length).

    Returns (N, 2) ordered (∂χ/∂ky, ∂χ/∂kx). The parallax shift of bright-field pixel k is
    s(k) = ∇χ(k)/(2π) [Å]. Uses a Cartesian form that is differentiable at k = 0.
    """
    def chi_cart(kk):
        # χ through (α, φ) is singular in φ at k = 0; use a tiny offset that does not change values
        kyy, kxx = kk[0], kk[1]
        r2 = kyy**2 + kxx**2
        safe = r2 > 0
        kyy_s = jnp.where(safe, kyy, 1e-30)
        kxx_s = jnp.where(safe, kxx, 1e-30)
        k = jnp.sqrt(kyy_s**2 + kxx_s**2)
        return chi(ab, wavelength * k, jnp.arctan2(kyy_s, kxx_s), wavelength)

    kk = jnp.stack([ky, kx], -1)
    return jax.vmap(jax.grad(chi_cart))(kk)


def bright_field_pixels(shape, center, sampling, cutoff, edge, threshold: float = 1e-3):
    """Detector indices (N, 2) (row, column) [px] of the bright-field pixels.

    A pixel belongs to the bright field if the aperture amplitude there exceeds ``threshold``
    (|k| < cutoff + edge/2 up to the threshold). Computed with NumPy (static shapes).
    """
    ky = (np.arange(shape[0]) - center[0])[:, None] * sampling[0]
    kx = (np.arange(shape[1]) - center[1])[None, :] * sampling[1]
    amp = np.clip((cutoff - np.sqrt(ky**2 + kx**2)) / edge + 0.5, 0.0, 1.0)
    iy, ix = np.nonzero(amp > threshold)
    if iy.size == 0:
        raise ValueError(f"no bright-field pixel: aperture radius {cutoff:.4g} 1/Å with detector "
                         f"sampling {tuple(sampling)} 1/Å and centre {tuple(center)} px")
    return np.stack([iy, ix], -1)


def bf_frequencies(indices, center, sampling, rotation=0.0, transpose: bool = False, dtype=jnp.float32):
    """Scan-frame frequencies (N, 2) ordered (ky, kx) [1/Å] of detector pixels ``indices`` (N, 2)."""
    idx = jnp.asarray(indices, dtype)
    ky = (idx[:, 0] - center[0]) * sampling[0]
    kx = (idx[:, 1] - center[1]) * sampling[1]
    ky, kx = rotate_frequencies(ky, kx, jnp.asarray(rotation, dtype), transpose)
    return jnp.stack([ky, kx], -1)
