"""Detector geometry, and the probe and parallax shifts as the phase-retrieval kernels see them.

Frames: a detector pixel ``(i, j)`` (row, column) of a pattern with centre ``(cy, cx)`` [px] and
pixel size ``(dky, dkx)`` [1/Å] has the detector-frame frequency ``k_det = ((i − cy)·dky,
(j − cx)·dkx)``. The scan-frame frequency used by every kernel is

    k = R(θ) · T · k_det,    R(θ): kx' = cos θ·kx − sin θ·ky,  ky' = sin θ·kx + cos θ·ky,

with ``T`` the optional transpose (swap of ky and kx) and θ the detector rotation [rad] (an active
counter-clockwise rotation of the detector frequency grid). A flip of the detector ky axis equals
``transpose=True, rotation=−π/2`` (tested). The scan frame is the frame of the scan axes
``(scan_y, scan_x)``.

The optics are those of :mod:`jaxem.optics` (one implementation): the probe is
ψ(k) = A(λk)·exp(−iχ(k)) with the condenser aperture A of :func:`jaxem.optics.apertures.aperture_function`
(semi-angle α₀ = λ·k_probe, raised-cosine edge of full width λ·``edge``; a radius ``cutoff`` and an
edge ``edge`` given in 1/Å are converted to mrad explicitly) and the aberration function χ of
:func:`jaxem.optics.aberrations.chi_cartesian` (C10 = −Δf). Kernels use ψ̂ = ψ / sqrt(Σ_BF |ψ|²).

The parallax shift of bright-field pixel k is s(k) = ∇_k χ(k) / 2π [Å] where
∇_k χ = λ·∇_α χ(α = λk) [rad·Å] and ∇_α χ [rad/rad] is :func:`jaxem.optics.ctf.chi_gradient`.

Orders of χ whose coefficients are concrete zeros are passed to optics as Python zeros
(:func:`restrict`), so the kernels only pay for the aberrations that are set. All functions are
pure and differentiable with respect to the aberrations and θ.
"""
from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from .. import validate
from ..optics.aberrations import ABERRATION_ORDERS, Aberrations, chi_cartesian
from ..optics.apertures import Aperture, aperture_function
from ..optics.ctf import chi_gradient


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


def probe_aperture(wavelength: float, cutoff: float, edge: float) -> Aperture:
    """The condenser aperture of radius ``cutoff`` [1/Å] and edge width ``edge`` [1/Å] as an
    :class:`~jaxem.optics.apertures.Aperture` in mrad (α = 10³·λ·k, λ [Å])."""
    return Aperture(semi_angle=1e3 * wavelength * cutoff, edge_width=1e3 * wavelength * edge)


def aperture_amplitude(ky, kx, wavelength: float, cutoff: float, edge: float):
    """A(λk) ∈ [0, 1] of the probe-forming aperture at frequencies (ky, kx) [1/Å]: 1 inside
    ``cutoff − edge/2``, 0 outside ``cutoff + edge/2``, ½ at ``cutoff`` (raised-cosine edge)."""
    s = 1e3 * wavelength
    return aperture_function(s * ky, s * kx, probe_aperture(wavelength, cutoff, edge))


def active_orders(ab: Aberrations):
    """Static tuple of the (n, m) orders of ``ab`` whose coefficient is traced or non-zero; orders
    with a concrete zero coefficient contribute nothing to χ (or its gradient)."""
    out = []
    for n, m in ABERRATION_ORDERS:
        c = ab.coefficient(n, m)[0]
        if not validate.is_traced(c) and not np.any(np.asarray(c)):
            continue
        out.append((n, m))
    return tuple(out)


def restrict(ab: Aberrations, orders=None) -> Aberrations:
    """``ab`` with the coefficients of the orders not in ``orders`` replaced by the Python number 0
    (concrete zeros even inside ``jit``, so optics can skip their terms); ``orders=None`` keeps all."""
    if orders is None:
        return ab
    keep = {f"C{n}{m}" for n, m in orders} | {f"phi{n}{m}" for n, m in orders if m}
    return Aberrations(**{f.name: (getattr(ab, f.name) if f.name in keep else 0.0)
                          for f in dataclasses.fields(ab)})


def probe_at(ab: Aberrations, ky, kx, wavelength: float, cutoff, edge, orders=None):
    """ψ(k) = A(λk)·exp(−iχ(k)) at frequencies (ky, kx) [1/Å] (any broadcastable shapes);
    unnormalised, complex (dtype follows ky, kx).

    ``orders``: static tuple of the (n, m) orders to include (see :func:`active_orders`); None = all.
    """
    amp = aperture_amplitude(ky, kx, wavelength, cutoff, edge)
    phase = chi_cartesian(restrict(ab, orders), wavelength * ky, wavelength * kx, wavelength)
    return amp * jnp.exp(-1j * phase.astype(amp.dtype))


def parallax_shifts(ab: Aberrations, ky, kx, wavelength: float):
    """Parallax shifts s(k) = ∇_k χ(k)/2π = λ·∇_α χ(λk)/2π (N, 2) ordered (y, x) [Å] of the
    scan-frame frequencies (ky, kx) [1/Å] (1D arrays of equal length).

    ∇_α χ [rad/rad] is :func:`jaxem.optics.ctf.chi_gradient`; the factor λ converts it to
    ∇_k χ [rad·Å]. At k = 0 the gradient is 0 (every term of χ is at least quadratic); that point is
    evaluated away from the origin and masked, so gradients with respect to k stay finite there.
    """
    ay, ax = wavelength * jnp.asarray(ky), wavelength * jnp.asarray(kx)
    origin = (ay == 0) & (ax == 0)
    gy, gx = chi_gradient(ab, jnp.where(origin, 1e-3, ay), jnp.where(origin, 0.0, ax), wavelength)
    g = jnp.stack([jnp.where(origin, 0.0, gy), jnp.where(origin, 0.0, gx)], -1)
    return g * (wavelength / (2 * jnp.pi))


def bright_field_pixels(shape, center, sampling, wavelength: float, cutoff, edge, threshold: float = 1e-3):
    """Detector indices (N, 2) (row, column) [px] of the bright-field pixels.

    A pixel belongs to the bright field if the aperture amplitude A(λk) there
    (:func:`aperture_amplitude`) exceeds ``threshold``. Returned as a NumPy array (static shapes).
    """
    ky = (np.arange(shape[0]) - center[0])[:, None] * sampling[0]
    kx = (np.arange(shape[1]) - center[1])[None, :] * sampling[1]
    amp = np.asarray(aperture_amplitude(jnp.asarray(ky), jnp.asarray(kx), wavelength, cutoff, edge))
    iy, ix = np.nonzero(amp > threshold)
    if iy.size == 0:
        raise validate.InputError(
            f"no bright-field pixel: aperture radius {cutoff:.4g} 1/Å with detector sampling "
            f"{tuple(sampling)} 1/Å and centre {tuple(center)} px; check semiangle, center and "
            f"detector_sampling")
    return np.stack([iy, ix], -1)


def bf_frequencies(indices, center, sampling, rotation=0.0, transpose: bool = False, dtype=jnp.float32):
    """Scan-frame frequencies (N, 2) ordered (ky, kx) [1/Å] of detector pixels ``indices`` (N, 2)."""
    idx = jnp.asarray(indices, dtype)
    ky = (idx[:, 0] - center[0]) * sampling[0]
    kx = (idx[:, 1] - center[1]) * sampling[1]
    ky, kx = rotate_frequencies(ky, kx, jnp.asarray(rotation, dtype), transpose)
    return jnp.stack([ky, kx], -1)


def check_rotation(rotation, name: str = "rotation"):
    """A detector rotation θ [rad]: a finite real scalar in [−2π, 2π] (traced values pass).

    Any angle is equivalent to one in that range, so a larger magnitude is almost always degrees given
    as radians (30 for 30°, which as radians is 30 − 4·2π = 4.87 rad = 279°); it is an error naming
    the value in degrees."""
    if validate.is_traced(rotation):
        return rotation
    theta = validate.scalar(rotation, name, "rad")
    if abs(theta) > 2 * np.pi + 1e-9:
        raise validate.InputError(
            f"{name} must be in [−2π, 2π] rad (detector rotations are radians), got {theta:.6g} rad; "
            f"degrees given as radians? {theta:.6g}° = {np.deg2rad(theta):.6g} rad (pass "
            f"np.deg2rad(...) or a string such as '{theta:g} deg')")
    return theta


def check_aberrations(aberrations, default=None, name: str = "aberrations") -> Aberrations:
    """``aberrations`` (an :class:`~jaxem.optics.Aberrations`, default ``default`` or none), with
    every concrete coefficient a finite real scalar (errors name the argument ``name``)."""
    ab = aberrations if aberrations is not None else (default if default is not None else Aberrations())
    if not isinstance(ab, Aberrations):
        raise validate.InputTypeError(f"{name} must be a jaxem Aberrations, got {type(ab).__name__}")
    for f in dataclasses.fields(ab):
        v = getattr(ab, f.name)
        if not validate.is_traced(v):
            validate.scalar(v, f"{name}.{f.name}", "rad" if f.name.startswith("phi") else "Å")
    return ab

