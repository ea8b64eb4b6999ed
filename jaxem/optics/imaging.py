"""HRTEM image formation with partial coherence, from an exit wave.

Given an exit wave ψ_e(r) (…, ny, nx) on a :class:`~jaxem.grid.Grid`, the objective lens forms the
image wave ψ_i = IFFT[Ψ_e(k) · A(λk) · exp(−iχ(k))] (:mod:`.ctf`); the recorded intensity is
|ψ_i|² averaged over the partially coherent illumination and then blurred incoherently
(:mod:`.detector`). Three models, chosen by ``method``:

``"coherent"``
    I = |IFFT[Ψ_e A e^{−iχ}]|² (no focal spread or source size).
``"envelope"`` (quasi-coherent; Kirkland 2010 §3.3, Dr. Probe ``wavimg`` model 6)
    I = |IFFT[Ψ_e A e^{−iχ} E_t E_s]|². Exact for the linear (weak-object) part of the image;
    damps the non-linear (dark-field) interference terms too strongly for thick specimens.
``"focal_average"``
    I = Σ_j w_j |IFFT[Ψ_e A e^{−iχ(k; C10 + δ_j)} E_s(k; C10 + δ_j)]|², an incoherent average over a
    Gaussian defocus distribution of rms Δ by Gauss–Hermite quadrature (δ_j = √2 Δ x_j,
    w_j = ω_j/√π with (x_j, ω_j) the ``n_focal``-point Gauss–Hermite rule). Exact for all terms
    (to quadrature accuracy) in the focal spread; the source-size spread still enters as the
    quasi-coherent envelope E_s of each partial wave. Nodes are evaluated under ``vmap`` in
    batches sized from the memory budget (``jaxem.accel``), accumulated by ``lax.scan``.

Afterwards image spread and detector MTF multiply the Fourier transform of the intensity.
A vacuum exit wave (all ones) gives an image of exactly 1 (for an aperture containing k = 0,
a normalised MTF and any envelope, since E_t(0) = E_s(0) = 1).

Precision: complex64/float32 by default, complex128/float64 for a complex128 exit wave or
``precision="float64"``.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, physics
from ._checks import (check_aberrations, check_energy, check_finite_array, check_scalar, complex_of,
                      resolve_real_dtype)
from .aberrations import Aberrations
from .apertures import as_aperture
from .ctf import transfer_function
from .detector import DetectorMTF, blur_intensity, check_image_spread

METHODS = ("envelope", "focal_average", "coherent")


def gauss_hermite(n: int, bits: int = 52):
    """Nodes x_j and normalised weights w_j (Σ w_j = 1) so that E[f(δ)] ≈ Σ_j w_j f(√2 Δ x_j) for
    δ ~ N(0, Δ²) (numpy's physicists' Hermite rule divided by √π).

    The weights are rounded to multiples of 2^−``bits`` with an exact sum of 1, so that their
    floating-point sum is exactly 1 in any order (24 bits for float32, 52 for float64): a vacuum
    image stays exactly 1.
    """
    x, w = np.polynomial.hermite.hermgauss(n)
    q = 2**bits
    wi = np.round(w / math.sqrt(math.pi) * q).astype(np.int64)
    wi[np.argmax(wi)] += q - int(wi.sum())
    return x, wi.astype(np.float64) / q


def _check_exit_wave(exit_wave, grid):
    shape = jnp.shape(exit_wave)
    if len(shape) < 2 or tuple(shape[-2:]) != tuple(grid.gpts):
        raise ValueError(f"exit_wave must have shape (..., ny, nx) = (..., {grid.gpts[0]}, {grid.gpts[1]}) "
                         f"to match grid.gpts, got {tuple(shape)}")
    dt = jnp.result_type(exit_wave)
    if not (jnp.issubdtype(dt, jnp.complexfloating) or jnp.issubdtype(dt, jnp.floating)):
        raise TypeError(f"exit_wave must be a complex (or real) float array, got dtype {dt}")
    check_finite_array("exit_wave", exit_wave)


def hrtem_image(exit_wave, grid, energy, aberrations: Aberrations | None = None, objective_aperture=None,
                focal_spread=0.0, source_angle=0.0, image_spread=None, mtf: DetectorMTF | None = None,
                method: str = "envelope", n_focal: int = 16, precision=None, budget=None):
    """HRTEM image intensity of ``exit_wave`` with partial coherence, image spread and MTF.

    Args:
        exit_wave: complex exit wave (…, ny, nx) on ``grid`` (dimensionless; vacuum = 1).
        grid: :class:`jaxem.grid.Grid` of the exit wave (sampling [Å]).
        energy: beam energy [eV], > 0.
        aberrations: objective-lens :class:`Aberrations` (C10 = −Δf [Å], C30 = Cs [Å], …).
        objective_aperture: semi-angle [mrad] (hard edge), an ``Aperture``, or None (no aperture).
        focal_spread: rms focal spread Δ [Å], ≥ 0.
        source_angle: 1/e half-width θ_s of the illumination-angle distribution [mrad], ≥ 0.
        image_spread: Gaussian image spread σ [Å] or (σ_y, σ_x) [Å], ≥ 0, or None.
        mtf: :class:`DetectorMTF` or None.
        method: ``"envelope"``, ``"focal_average"`` or ``"coherent"`` (see the module docstring).
        n_focal: number of Gauss–Hermite defocus nodes for ``"focal_average"`` (static, ≥ 1). The
            error falls quickly with n once n exceeds a few times b = π λ Δ k_max² (k_max the
            largest transmitted frequency): for b ≈ 4, 8/16/24 nodes give 1e-2/1e-6/1e-12
            relative error against a dense defocus integral (``tests/optics/test_imaging.py``).
        precision: None (from ``exit_wave``), ``"float32"`` or ``"float64"``.
        budget: memory budget for batching focal nodes (bytes or '2G'; default from ``accel``).

    Returns:
        real intensity (…, ny, nx).

    Raises:
        ValueError / TypeError: bad energy, negative spreads, NaN, wrong exit-wave shape, unknown
            method, bad aperture or MTF.
    """
    e = check_energy(energy)
    _check_exit_wave(exit_wave, grid)
    ab = check_aberrations(aberrations)
    ap = as_aperture(objective_aperture, "objective_aperture")
    check_scalar("focal_spread", focal_spread, "Å", nonnegative=True)
    check_scalar("source_angle", source_angle, "mrad", nonnegative=True)
    image_spread = check_image_spread(image_spread)
    if mtf is not None and not isinstance(mtf, DetectorMTF):
        raise TypeError(f"mtf must be a jaxem.optics.DetectorMTF or None, got {type(mtf).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(n_focal, bool) or not isinstance(n_focal, (int, np.integer)) or n_focal < 1:
        raise ValueError(f"n_focal must be an integer ≥ 1 (Gauss–Hermite nodes), got {n_focal!r}")

    dtype = resolve_real_dtype(precision, exit_wave)
    wave = jnp.asarray(exit_wave).astype(complex_of(dtype))
    bs = 1
    if method == "focal_average":
        bs = accel.batch_size(4 * wave.size * wave.dtype.itemsize, n_focal, budget)
    params = (ab, ap, focal_spread, source_angle, image_spread, mtf)
    return _image(wave, params, grid=grid, wavelength=physics.wavelength(e), method=method,
                  n_focal=int(n_focal), batch=bs)


@functools.partial(jax.jit, static_argnames=("grid", "wavelength", "method", "n_focal", "batch"))
def _image(wave, params, *, grid, wavelength, method, n_focal, batch):
    ab, ap, focal_spread, source_angle, image_spread, mtf = params
    dtype = jnp.float64 if wave.dtype == jnp.complex128 else jnp.float32
    wave_k = jnp.fft.fft2(wave)
    ky, kx = grid.frequencies(dtype)
    ky, kx = ky[:, None], kx[None, :]
    if method == "coherent":
        h = transfer_function(ab, ky, kx, wavelength, ap)
        intensity = jnp.abs(jnp.fft.ifft2(wave_k * h)) ** 2
    elif method == "envelope":
        h = transfer_function(ab, ky, kx, wavelength, ap, focal_spread, source_angle)
        intensity = jnp.abs(jnp.fft.ifft2(wave_k * h)) ** 2
    else:
        intensity = _focal_average(wave_k, ab, ky, kx, wavelength, ap, focal_spread, source_angle, n_focal,
                                   dtype, batch)
    return blur_intensity(intensity.astype(dtype), grid, image_spread, mtf)


def _focal_average(wave_k, ab, ky, kx, lam, ap, focal_spread, source_angle, n_focal, dtype, bs):
    x, w = gauss_hermite(n_focal, 52 if dtype == jnp.float64 else 24)
    n_chunks = -(-n_focal // bs)
    pad = n_chunks * bs - n_focal
    x = np.concatenate([x, np.zeros(pad)]).reshape(n_chunks, bs)
    w = np.concatenate([w, np.zeros(pad)]).reshape(n_chunks, bs)
    scale = math.sqrt(2.0) * jnp.asarray(focal_spread, dtype)
    base_c10 = jnp.asarray(ab.C10, dtype)

    def one(xj, wj):
        abj = ab.replace(C10=base_c10 + scale * xj)
        h = transfer_function(abj, ky, kx, lam, ap, 0.0, source_angle)
        return wj * jnp.abs(jnp.fft.ifft2(wave_k * h)) ** 2

    def body(acc, chunk):
        xs, ws = chunk
        return acc + jnp.sum(jax.vmap(one)(xs, ws), axis=0), None

    acc, _ = jax.lax.scan(body, jnp.zeros(wave_k.shape, dtype), (jnp.asarray(x, dtype), jnp.asarray(w, dtype)))
    return acc
