"""Synthetic 4D-STEM data for tests and demos: a periodic single-slice weak-phase-object model.

The object is a transmission function ``t(x) = exp(i φ(x))`` on a periodic grid of ``(n, n)``
pixels of size ``sampling`` [Å]; the probe is ``ψ(k) = A(k)·exp(−iχ(k))`` with a soft-edged round
aperture of semi-angle ``semiangle`` [mrad]. For every scan position ``r`` (integer multiples of
``step`` object pixels) the diffraction pattern is

    I(r, k) = |FFT[t(x) · IFFT[ψ(k) e^{−2πi k·r}]](k)|²,

fft-shifted so that k = 0 sits at pixel ``(n//2, n//2)``, optionally cropped to the central
``crop × crop`` pixels and rotated/transposed to emulate a detector that is rotated with respect to
the scan. This is private helper code (the forward model that the phase-retrieval tests and the demo
use as an independent reference); it implements its own aperture so that it shares no code with the
reconstruction kernels.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import physics
from ..optics.aberrations import Aberrations, chi_from_frequencies


def white_noise_phase(n: int, sigma: float = 0.02, seed: int = 0, kmax: float | None = None,
                      sampling: float = 0.25) -> np.ndarray:
    """Real white-noise phase φ(x) [rad] on an (n, n) grid: flat |FFT|, random phase, zero mean.

    Args:
        n: grid points per side.
        sigma: standard deviation of φ [rad].
        seed: random seed.
        kmax: optional band limit [1/Å] (frequencies above it are zeroed).
        sampling: pixel size [Å] (only used with ``kmax``).
    """
    rng = np.random.default_rng(seed)
    spec = np.exp(2j * np.pi * rng.random((n, n)))
    phi = np.real(np.fft.ifft2(spec))  # Hermitian part: flat modulus up to a factor ½..1
    spec = np.fft.fft2(phi)
    spec[0, 0] = 0.0
    spec[n // 2, :] = 0.0
    spec[:, n // 2] = 0.0
    if kmax is not None:
        k = np.fft.fftfreq(n, sampling)
        spec[np.hypot(k[:, None], k[None, :]) > kmax] = 0.0
    phi = np.real(np.fft.ifft2(spec))
    return phi * (sigma / phi.std())


def _aperture(k, cutoff, edge):
    # linear ramp of width ``edge`` [1/Å] centred on ``cutoff``; independent of jaxem.phase.geometry
    return jnp.clip((cutoff - k) / edge + 0.5, 0.0, 1.0)


def probe_spectrum(n: int, sampling: float, energy: float, semiangle: float,
                   aberrations: Aberrations | None = None, edge_px: float = 1.0):
    """Probe ψ(k) = A(k)·exp(−iχ(k)) on the (n, n) FFT grid of the object, normalised to Σ|ψ|² = 1."""
    lam = physics.wavelength(energy)
    k = np.fft.fftfreq(n, sampling)
    ky, kx = jnp.asarray(k), jnp.asarray(k)
    kabs = jnp.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)
    dk = 1.0 / (n * sampling)
    amp = _aperture(kabs, semiangle * 1e-3 / lam, edge_px * dk)
    ab = aberrations if aberrations is not None else Aberrations()
    psi = amp * jnp.exp(-1j * chi_from_frequencies(ab, ky, kx, lam))
    return (psi / jnp.sqrt(jnp.sum(jnp.abs(psi) ** 2))).astype(jax.dtypes.canonicalize_dtype(jnp.complex128))


def simulate_4dstem(phase, sampling: float, energy: float, semiangle: float,
                    aberrations: Aberrations | None = None, step: int = 1, crop: int | None = None,
                    rotation: float = 0.0, transpose: bool = False, dose: float | None = None,
                    seed: int = 0, batch: int = 256, edge_px: float = 1.0, rows: int | None = None) -> np.ndarray:
    """4D-STEM intensities (scan_y, scan_x, ky, kx) of the phase object ``phase`` [rad].

    Args:
        phase: (n, n) object phase φ [rad] (the object is ``exp(iφ)``).
        sampling: object pixel size [Å]; detector pixel = 1/(n·sampling) [1/Å].
        energy: beam energy [eV].
        semiangle: probe semi-angle [mrad].
        aberrations: probe aberrations (C10 = −defocus [Å], …).
        step: scan step in object pixels (scan sampling = step·sampling [Å]).
        crop: keep the central ``crop × crop`` detector pixels (centre at ``crop//2``).
        rotation: detector rotation θ [rad]: the scan-frame frequency of detector frequency k_det is
            R(θ)·k_det (after the optional transpose of (ky, kx)). Non-zero values resample the
            patterns with cubic splines.
        transpose: swap the detector axes.
        dose: electrons per pattern; if given, Poisson noise is added (else the patterns sum to 1).
        seed: seed for the Poisson noise.
        batch: scan positions per FFT batch.
        edge_px: width of the aperture edge [detector pixels].
        rows: simulate only the first ``rows`` scan rows (for generating large data in pieces).
    Returns:
        float64 array (float32 unless jax_enable_x64) of shape (n/step, n/step, crop, crop) (or (…, n, n) without crop).
    """
    phase = jnp.asarray(phase, jax.dtypes.canonicalize_dtype(jnp.float64))
    n = phase.shape[0]
    if phase.shape != (n, n) or n % step:
        raise ValueError(f"phase must be square with a size divisible by step, got {phase.shape}, step {step}")
    psi = probe_spectrum(n, sampling, energy, semiangle, aberrations, edge_px)
    t = jnp.exp(1j * phase)
    k = jnp.asarray(np.fft.fftfreq(n, sampling))
    pos = np.arange(0, n, step) * sampling
    ns = n // step
    nrows = ns if rows is None else int(rows)
    ry, rx = np.meshgrid(pos[:nrows], pos, indexing="ij")
    r = jnp.asarray(np.stack([ry.ravel(), rx.ravel()], -1))

    def one(rr):
        ramp = jnp.exp(-2j * jnp.pi * (k[:, None] * rr[0] + k[None, :] * rr[1]))
        wave = jnp.fft.fft2(t * jnp.fft.ifft2(psi * ramp))  # Σ|wave|² = Σ|ψ|² = 1
        return jnp.fft.fftshift(jnp.abs(wave) ** 2)

    pats = jax.lax.map(one, r, batch_size=batch)
    pats = np.asarray(pats)
    pats = pats.reshape(nrows, ns, n, n)
    if rotation != 0.0 or transpose:
        pats = _resample_detector(pats, rotation, transpose)
    if crop is not None:
        c0 = n // 2 - crop // 2
        pats = pats[:, :, c0:c0 + crop, c0:c0 + crop]
    if dose is not None:
        rng = np.random.default_rng(seed)
        pats = rng.poisson(np.clip(pats, 0, None) * dose).astype(np.float64)
    return pats


def _resample_detector(pats: np.ndarray, rotation: float, transpose: bool) -> np.ndarray:
    """Resample patterns so that detector pixel k_det shows the physical intensity at R(θ)·T·k_det."""
    from scipy import ndimage

    n = pats.shape[-1]
    c = n // 2
    iy, ix = np.meshgrid(np.arange(n) - c, np.arange(n) - c, indexing="ij")
    ky, kx = (ix, iy) if transpose else (iy, ix)
    cs, sn = np.cos(rotation), np.sin(rotation)
    kx_s = cs * kx - sn * ky
    ky_s = sn * kx + cs * ky
    flat = pats.reshape(-1, n, n)
    out = np.empty_like(flat)
    coords = np.stack([ky_s + c, kx_s + c])
    for i in range(flat.shape[0]):  # test-helper resampling, not a hot path
        out[i] = ndimage.map_coordinates(flat[i], coords, order=3, mode="constant")
    return out.reshape(pats.shape)
