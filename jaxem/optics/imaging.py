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

``"linear"`` (linear imaging, the linear-envelope TCC model; Dr. Probe ``wavimg`` model 3)
    With the exit wave split into its central beam and the rest, Ψ_e(k) = N c₀ δ_k0 + Ψ_s(k)
    (c₀ the mean of ψ_e, N the number of pixels), only the interference of every beam with the
    central beam is kept:
    I = |c₀ H(0)|² + 2 Re[(c₀ H(0))* · IFFT[Ψ_s H]],  H = A e^{−iχ} E_t E_s,
    i.e. the transmission cross-coefficient TCC(k, 0) = H(k) H*(0) (Ishizuka 1980; Kirkland 2010
    §6.7). The neglected non-linear term is |IFFT[Ψ_s H]|²; adding it back with these envelopes
    gives exactly the ``"envelope"`` image, so the two models agree to first order in the
    scattered wave and differ by the (dark-field) self-interference of the scattered beams: small
    for weak objects, large for thick, strongly scattering crystals (then I may even be negative).
``"explicit"`` (Dr. Probe ``wavimg`` model 2: explicit averaging of coherent sub-images)
    I = Σ_{j,l} w_j w_l |IFFT[Ψ_e^{(j)}(q) A(q + K_j) e^{−i[χ(q + K_j; C10 + δ_l) − χ(K_j; C10 + δ_l)]}]|²,
    K_j = β_j/λ,
    over incident-beam tilts β_j and defocus offsets δ_l. Tilts: a Gaussian distribution
    p(β) ∝ exp(−|β|²/θ_s²) with θ_s = ``source_angle`` the 1/e half-width [mrad] (std θ_s/√2 per
    Cartesian component, the convention of E_s and of ``wavimg``'s s_c), integrated by the
    ``n_tilt`` × ``n_tilt`` tensor-product Gauss–Hermite rule β_j = θ_s (x_a, x_b), w_j = w_a w_b
    (:func:`tilt_nodes`), exact for polynomials of degree < 2·n_tilt in each component. Defocus:
    the ``n_focal`` rule of ``"focal_average"``. Every node is a coherent image, so all cross terms
    and non-linearities are kept; no envelope is applied. The exit wave of the frame that follows
    the tilted beam (``jaxem.propagate`` convention: the carrier exp(2πi β·r/λ) factored out) is
    ``exit_wave`` itself when ``tilted_exit_waves`` is False — the object then does not depend on
    the tilt (projection approximation, thin specimens) — or, with ``tilted_exit_waves=True``,
    ``exit_wave[j]`` recomputed by multislice for node j
    (:func:`jaxem.propagate.multislice_tilts`, which :class:`jaxem.hrtem.HRTEMModel` uses). The
    constant phase χ(β_j/λ) is subtracted (it does not change |·|²). Nodes run under ``vmap`` in
    batches sized by the memory budget, accumulated by ``lax.scan``; the product weights are
    rounded so that they sum to exactly 1 (vacuum image exactly 1 while all tilts pass the
    aperture).

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
from .aberrations import Aberrations, chi_cartesian
from .apertures import aperture_function, as_aperture
from .ctf import transfer_function
from .detector import DetectorMTF, blur_intensity, check_image_spread

METHODS = ("envelope", "focal_average", "coherent", "linear", "explicit")


def gauss_hermite(n: int, bits: int = 52):
    """Nodes x_j and normalised weights w_j (Σ w_j = 1) so that E[f(δ)] ≈ Σ_j w_j f(√2 Δ x_j) for
    δ ~ N(0, Δ²) (numpy's physicists' Hermite rule divided by √π).

    The weights are rounded to multiples of 2^−``bits`` with an exact sum of 1, so that their
    floating-point sum is exactly 1 in any order (24 bits for float32, 52 for float64): a vacuum
    image stays exactly 1.
    """
    x, w = np.polynomial.hermite.hermgauss(n)
    return x, _round_weights(w / math.sqrt(math.pi), bits)


def _round_weights(w, bits):
    """Weights rounded to multiples of 2^−bits whose exact sum is 1 (any summation order)."""
    q = 2**bits
    wi = np.round(np.asarray(w, np.float64) / np.sum(w) * q).astype(np.int64)
    wi[np.argmax(wi)] += q - int(wi.sum())
    return wi.astype(np.float64) / q


def tilt_nodes(n_tilt: int, bits: int = 52):
    """Unit tilt nodes u_j (n_tilt², 2) (y, x) and weights w_j (Σ w_j = 1) so that
    E[f(β)] ≈ Σ_j w_j f(θ_s u_j) for β ~ p(β) ∝ exp(−|β|²/θ_s²) (θ_s the 1/e half-width).

    The tensor product of the ``n_tilt``-point Gauss–Hermite rule with itself (each component of β
    is Gaussian with std θ_s/√2, and ∫ e^{−x²} f(x) dx ≈ Σ ω_a f(x_a) with β = θ_s x); exact for
    polynomials of degree ≤ 2 n_tilt − 1 in each component. Weights rounded as in
    :func:`gauss_hermite`. The node order is row-major in (y, x); for odd ``n_tilt`` the centre
    node (0, 0) is number n_tilt²//2.
    """
    if isinstance(n_tilt, bool) or not isinstance(n_tilt, (int, np.integer)) or n_tilt < 1:
        raise ValueError(f"n_tilt must be an integer ≥ 1 (Gauss–Hermite nodes per tilt axis), got {n_tilt!r}")
    x, w = np.polynomial.hermite.hermgauss(int(n_tilt))
    uy, ux = np.meshgrid(x, x, indexing="ij")
    return np.stack([uy.ravel(), ux.ravel()], axis=1), _round_weights(np.outer(w, w).ravel(), bits)


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
                method: str = "envelope", n_focal: int = 16, n_tilt: int = 3, tilted_exit_waves: bool = False,
                precision=None, budget=None):
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
        method: ``"envelope"``, ``"focal_average"``, ``"coherent"``, ``"linear"`` or ``"explicit"``
            (see the module docstring).
        n_focal: number of Gauss–Hermite defocus nodes for ``"focal_average"`` (static, ≥ 1). The
            error falls quickly with n once n exceeds a few times b = π λ Δ k_max² (k_max the
            largest transmitted frequency): for b ≈ 4, 8/16/24 nodes give 1e-2/1e-6/1e-12
            relative error against a dense defocus integral (``tests/optics/test_imaging.py``).
            ``"explicit"`` uses it too (defocus nodes of every tilt node).
        n_tilt: Gauss–Hermite tilt nodes per axis for ``"explicit"`` (n_tilt² nodes; static, ≥ 1).
        tilted_exit_waves: ``"explicit"`` only: ``exit_wave`` has a leading axis of n_tilt² exit
            waves, one per node of :func:`tilt_nodes` (same order), each computed for the incident
            tilt θ_s·u_j [mrad] (``jaxem.propagate.multislice_tilts``).
        precision: None (from ``exit_wave``), ``"float32"`` or ``"float64"``.
        budget: memory budget for batching focal (and tilt) nodes (bytes or '2G'; default from ``accel``).

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
    tilt_nodes(n_tilt)  # validates n_tilt
    if tilted_exit_waves:
        if method != "explicit":
            raise ValueError(f"tilted_exit_waves=True needs method='explicit', got method={method!r}")
        if jnp.ndim(exit_wave) < 3 or jnp.shape(exit_wave)[0] != n_tilt**2:
            raise ValueError(f"with tilted_exit_waves=True exit_wave must have shape "
                             f"(n_tilt² = {n_tilt**2}, …, ny, nx), "
                             f"got {tuple(jnp.shape(exit_wave))}")

    dtype = resolve_real_dtype(precision, exit_wave)
    wave = jnp.asarray(exit_wave).astype(complex_of(dtype))
    bs = 1
    if method == "focal_average":
        bs = accel.batch_size(4 * wave.size * wave.dtype.itemsize, n_focal, budget)
    elif method == "explicit":
        per_node = wave.size // (n_tilt**2 if tilted_exit_waves else 1)
        bs = accel.batch_size(4 * per_node * wave.dtype.itemsize, n_focal * n_tilt**2, budget)
    params = (ab, ap, focal_spread, source_angle, image_spread, mtf)
    return _image(wave, params, grid=grid, wavelength=physics.wavelength(e), method=method,
                  n_focal=int(n_focal), batch=bs, n_tilt=int(n_tilt), per_tilt=bool(tilted_exit_waves))


@functools.partial(jax.jit, static_argnames=("grid", "wavelength", "method", "n_focal", "batch", "n_tilt",
                                             "per_tilt"))
def _image(wave, params, *, grid, wavelength, method, n_focal, batch, n_tilt=3, per_tilt=False):
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
    elif method == "linear":
        intensity = _linear_image(wave_k, transfer_function(ab, ky, kx, wavelength, ap, focal_spread, source_angle))
    elif method == "explicit":
        intensity = _explicit_average(wave_k, ab, ky, kx, wavelength, ap, focal_spread, source_angle, n_focal,
                                      n_tilt, per_tilt, dtype, batch)
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


def _linear_image(wave_k, h):
    """Linear image |c₀H(0)|² + 2 Re[(c₀H(0))* IFFT[Ψ_s H]] (module docstring, ``"linear"``)."""
    n = wave_k.shape[-1] * wave_k.shape[-2]
    c0 = (wave_k[..., 0, 0] / n * h[0, 0])[..., None, None]
    scattered = jnp.fft.ifft2(wave_k.at[..., 0, 0].set(0) * h)
    return jnp.abs(c0) ** 2 + 2 * jnp.real(jnp.conj(c0) * scattered)


def _explicit_average(wave_k, ab, ky, kx, lam, ap, focal_spread, source_angle, n_focal, n_tilt, per_tilt, dtype,
                      bs):
    """Σ over (tilt, defocus) nodes of weighted coherent images (module docstring, ``"explicit"``)."""
    bits = 52 if dtype == jnp.float64 else 24
    u, wt = tilt_nodes(n_tilt)
    xf, wf = gauss_hermite(n_focal)
    n_t, n_f = len(wt), len(wf)
    w = _round_weights(np.outer(wt, wf).ravel(), bits)
    it = np.repeat(np.arange(n_t), n_f)
    cols = [it, u[it, 0], u[it, 1], np.tile(xf, n_t), w]
    n = n_t * n_f
    n_chunks = -(-n // bs)
    pad = n_chunks * bs - n
    cols = [np.concatenate([c, np.zeros(pad, c.dtype)]).reshape(n_chunks, bs) for c in cols]
    theta = jnp.asarray(source_angle, dtype) * 1e-3
    scale = math.sqrt(2.0) * jnp.asarray(focal_spread, dtype)
    base_c10 = jnp.asarray(ab.C10, dtype)
    ly, lx = lam * ky, lam * kx
    out_shape = wave_k.shape[1:] if per_tilt else wave_k.shape

    def one(j, uy, ux, xj, wj):
        ay = ly + theta * uy + jnp.zeros_like(lx)
        ax = lx + theta * ux + jnp.zeros_like(ly)
        x = chi_cartesian(ab.replace(C10=base_c10 + scale * xj), ay, ax, lam)
        h = jnp.exp(-1j * (x - x[0, 0]).astype(dtype))
        if ap is not None:
            h = h * aperture_function(1e3 * ay, 1e3 * ax, ap)
        wk = wave_k[j] if per_tilt else wave_k
        return wj * jnp.abs(jnp.fft.ifft2(wk * h.astype(wave_k.dtype))) ** 2

    def body(acc, chunk):
        j, uy, ux, xj, wj = chunk
        return acc + jnp.sum(jax.vmap(one)(j, uy, ux, xj, wj), axis=0), None

    xs = (jnp.asarray(cols[0], jnp.int32),) + tuple(jnp.asarray(c, dtype) for c in cols[1:])
    acc, _ = jax.lax.scan(body, jnp.zeros(out_shape, dtype), xs)
    return acc
