"""Simulated 4D-STEM data of a weak phase object: a periodic single-slice model for tests, demos and
notebooks.

This is a *synthetic* model, not a multislice simulation: the specimen is one thin phase object
t(x) = exp(iφ(x)) on a periodic grid of ``(n, n)`` pixels of size ``sampling`` [Å] (thick crystals:
simulate with :func:`jaxem.stem.stem_scan` and a ``PixelatedDetector``). The probe is
ψ(k) = A(λk)·exp(−iχ(k)) from :mod:`jaxem.optics` (:func:`jaxem.optics.ctf.transfer_function` with a
raised-cosine aperture of semi-angle ``semiangle`` [mrad]). For every scan position r (integer
multiples of ``step`` object pixels) the diffraction pattern is

    I(r, k) = |FFT[t(x) · IFFT[ψ(k) e^{−2πi k·r}]](k)|²,

fft-shifted so that k = 0 sits at pixel ``(n//2, n//2)``, optionally cropped to the central
``crop × crop`` pixels and rotated/transposed to emulate a detector that is rotated with respect to
the scan. :func:`simulate_dataset` returns it as a calibrated :class:`~jaxem.phase.Dataset4D`;
:func:`white_noise_phase` and :func:`lattice_phase` are test objects.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, noise, validate
from ..beam import as_beam
from ..optics.aberrations import Aberrations
from ..optics.apertures import Aperture
from ..optics.ctf import transfer_function
from . import geometry
from .dataset import Dataset4D


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
    n = validate.integer(n, "n", lo=4)
    sigma = validate.scalar(sigma, "sigma", "rad", nonnegative=True)
    rng = np.random.default_rng(seed)
    spec = np.exp(2j * np.pi * rng.random((n, n)))
    phi = np.real(np.fft.ifft2(spec))  # Hermitian part: flat modulus up to a factor ½..1
    spec = np.fft.fft2(phi)
    spec[0, 0] = 0.0
    spec[n // 2, :] = 0.0
    spec[:, n // 2] = 0.0
    if kmax is not None:
        k = np.fft.fftfreq(n, validate.scalar(sampling, "sampling", "Å", positive=True))
        spec[np.hypot(k[:, None], k[None, :]) > validate.scalar(kmax, "kmax", "1/Å", positive=True)] = 0.0
    phi = np.real(np.fft.ifft2(spec))
    return phi * (sigma / phi.std())


def lattice_phase(n: int, sampling: float, a: float = 2.46, sigma_rad: float = 0.05, width: float = 0.3) -> np.ndarray:
    """Phase φ(x) [rad] of a periodic hexagonal lattice (constant ≈ ``a`` [Å]) of Gaussian atoms of
    width ``width`` [Å] with one vacancy, on an (n, n) grid of ``sampling`` [Å]; zero mean, maximum
    ``sigma_rad``."""
    n = validate.integer(n, "n", lo=4)
    sampling = validate.scalar(sampling, "sampling", "Å", positive=True)
    a = validate.scalar(a, "a", "Å", positive=True)
    cell = n * sampling
    nx = max(1, int(round(cell / a)))
    ny = max(1, int(round(cell / (a * np.sqrt(3) / 2))))
    j, i = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    keep = ~((i == nx // 2) & (j == ny // 2))  # vacancy
    cx = ((i + 0.5 * (j % 2)) * (cell / nx))[keep]
    cy = (j * (cell / ny))[keep]
    x = np.arange(n) * sampling
    # separable Gaussians with periodic (minimum-image) distances: Σ_atoms g(y − cy) g(x − cx)
    gy = np.exp(-(((x[None, :] - cy[:, None] + cell / 2) % cell - cell / 2) ** 2) / (2 * width**2))
    gx = np.exp(-(((x[None, :] - cx[:, None] + cell / 2) % cell - cell / 2) ** 2) / (2 * width**2))
    phi = gy.T @ gx
    phi -= phi.mean()
    return phi * sigma_rad / phi.max()


def probe_spectrum(n: int, sampling: float, energy, semiangle: float, aberrations: Aberrations | None = None,
                   edge_px: float = 1.0):
    """Probe ψ(k) = A(λk)·exp(−iχ(k)) on the (n, n) FFT grid of the object, normalised to Σ|ψ|² = 1.

    Args:
        n, sampling: object grid (n × n pixels of ``sampling`` [Å]).
        energy: beam energy [eV] (or a :class:`~jaxem.beam.Beam`, or e.g. ``"300 kV"``).
        semiangle: probe semi-angle [mrad]; edge_px: aperture edge width [detector pixels].
        aberrations: probe aberrations (C10 = −Δf [Å], …).
    """
    beam = as_beam(energy, "energy")
    n = validate.integer(n, "n", lo=2)
    sampling = validate.scalar(sampling, "sampling", "Å", positive=True)
    semiangle = validate.scalar(semiangle, "semiangle", "mrad", positive=True)
    edge_px = validate.scalar(edge_px, "edge_px", "px", nonnegative=True)
    k = jnp.asarray(np.fft.fftfreq(n, sampling))  # float64 in JAX's 64-bit mode, else float32
    edge = float(beam.frequency_to_mrad(edge_px / (n * sampling)))
    ab = aberrations if aberrations is not None else Aberrations()
    psi = transfer_function(ab, k[:, None], k[None, :], beam.wavelength, Aperture(semi_angle=semiangle, edge_width=edge))
    return psi / jnp.sqrt(jnp.sum(jnp.abs(psi) ** 2))


@validate.typed
def simulate_4dstem(phase, sampling: float, energy, semiangle: float, aberrations: Aberrations | None = None,
                    step: int = 1, crop: int | None = None, rotation: float = 0.0, transpose: bool = False,
                    dose: float | None = None, seed: int = 0, edge_px: float = 1.0, rows: int | None = None,
                    memory_budget=None, log_amplitude=None) -> np.ndarray:
    """4D-STEM intensities (scan_y, scan_x, ky, kx) of the object exp(a + iφ): ``phase`` φ [rad] and
    the optional ``log_amplitude`` a [Np] (same shape; a < 0 absorbs; default 0, a pure phase object).

    Args:
        phase: (n, n) object phase φ [rad] (the object is ``exp(iφ)``).
        sampling: object pixel size [Å]; detector pixel = 1/(n·sampling) [1/Å].
        energy: beam energy [eV] (or a Beam, or e.g. ``"300 kV"``).
        semiangle: probe semi-angle [mrad].
        aberrations: probe aberrations (C10 = −defocus [Å], …).
        step: scan step in object pixels (scan sampling = step·sampling [Å]).
        crop: keep the central ``crop × crop`` detector pixels (centre at ``crop//2``).
        rotation: detector rotation θ [rad]: the scan-frame frequency of detector frequency k_det is
            R(θ)·k_det (after the optional transpose of (ky, kx)). Non-zero values resample the
            patterns with cubic splines.
        transpose: swap the detector axes.
        dose: electrons per pattern; if given, Poisson noise is added (else the patterns sum to 1;
            with a log-amplitude, to the probe-weighted transmission Σ|t·ψ|²).
        seed: seed for the Poisson noise.
        edge_px: width of the aperture edge [detector pixels].
        rows: simulate only the first ``rows`` scan rows (for generating large data in pieces).
        memory_budget: bytes (or '2G') for the batches of scan positions (default: accel policy).
    Returns:
        NumPy array of shape (n/step, n/step, crop, crop) (or (…, n, n) without crop); float64 in
        JAX's 64-bit mode, else float32.
    """
    validate.array(phase, "phase", ndim=2, kind="real", units="rad")
    if log_amplitude is not None:
        validate.array(log_amplitude, "log_amplitude", shape=np.shape(phase), kind="real", finite=True, units="Np")
    sampling = validate.scalar(sampling, "sampling", "Å", positive=True)
    semiangle = validate.scalar(semiangle, "semiangle", "mrad", positive=True)
    step = validate.integer(step, "step", lo=1)
    n = np.shape(phase)[0]
    if np.shape(phase) != (n, n) or n % step:
        raise validate.InputError(f"phase must be square with a size divisible by step, got shape "
                                  f"{np.shape(phase)}, step {step}")
    if crop is not None:
        crop = validate.integer(crop, "crop", lo=2, hi=n)
    if dose is not None:
        dose = validate.scalar(dose, "dose", "e⁻ per pattern", positive=True)
    rotation = geometry.check_rotation(rotation, "rotation")
    psi = probe_spectrum(n, sampling, energy, semiangle, aberrations, edge_px)
    t = jnp.exp(1j * jnp.asarray(phase, psi.real.dtype))
    if log_amplitude is not None:
        t = t * jnp.exp(jnp.asarray(log_amplitude, psi.real.dtype))
    k = jnp.asarray(np.fft.fftfreq(n, sampling), psi.real.dtype)
    pos = np.arange(0, n, step) * sampling
    ns = n // step
    nrows = ns if rows is None else validate.integer(rows, "rows", lo=1, hi=ns)
    ry, rx = np.meshgrid(pos[:nrows], pos, indexing="ij")
    r = jnp.asarray(np.stack([ry.ravel(), rx.ravel()], -1), psi.real.dtype)

    def one(rr):
        ramp = jnp.exp(-2j * jnp.pi * (k[:, None] * rr[0] + k[None, :] * rr[1]))
        wave = jnp.fft.fft2(t * jnp.fft.ifft2(psi * ramp))  # Σ|wave|² = Σ|tψ|² (= 1 for |t| = 1)
        return jnp.fft.fftshift(jnp.abs(wave) ** 2)

    b = accel.batch_size(6 * n * n * np.dtype(psi.dtype).itemsize, r.shape[0], memory_budget)
    pats = np.asarray(jax.lax.map(one, r, batch_size=b)).reshape(nrows, ns, n, n)
    if rotation != 0.0 or transpose:
        pats = _resample_detector(pats, rotation, transpose)
    if crop is not None:
        c0 = n // 2 - crop // 2
        pats = pats[:, :, c0:c0 + crop, c0:c0 + crop]
    if dose is not None:
        rng = np.random.default_rng(seed)
        pats = noise.poisson_numpy(rng, np.clip(pats, 0, None) * dose).astype(pats.dtype)
    return pats


@validate.typed
def simulate_dataset(phase, sampling: float, energy, semiangle: float, aberrations: Aberrations | None = None,
                     step: int = 1, crop: int | None = None, rotation: float = 0.0, transpose: bool = False,
                     dose: float | None = None, seed: int = 0, edge_px: float = 1.0, memory_budget=None,
                     log_amplitude=None) -> Dataset4D:
    """Simulated 4D-STEM data of the weak phase object ``phase`` [rad] as a calibrated
    :class:`~jaxem.phase.Dataset4D` (the true calibration: energy, semi-angle, samplings, centre,
    rotation, transpose and aberrations). Arguments as for :func:`simulate_4dstem`.

    Example::

        phi = phase.white_noise_phase(64, 0.01)
        ds = phase.simulate_dataset(phi, 0.25, 300e3, 20.0, jaxem.Aberrations(C10=150.0))
        img = phase.reconstruct(ds, "ssb")
    """
    data = simulate_4dstem(phase, sampling, energy, semiangle, aberrations, step=step, crop=crop,
                           rotation=rotation, transpose=transpose, dose=dose, seed=seed, edge_px=edge_px,
                           memory_budget=memory_budget, log_amplitude=log_amplitude)
    n = np.shape(phase)[0]
    nd = data.shape[-1]
    return Dataset4D(data, (step * sampling,) * 2, as_beam(energy, "energy"),
                     detector_sampling=(1 / (n * sampling),) * 2, semiangle=semiangle, center=(nd // 2, nd // 2),
                     rotation=rotation, transpose=transpose,
                     aberrations=aberrations if aberrations is not None else Aberrations(),
                     metadata={"simulation": "jaxem.phase.synthetic (periodic single-slice weak "
                               + ("phase" if log_amplitude is None else "complex") + " object)"})


def _resample_detector(pats: np.ndarray, rotation: float, transpose: bool) -> np.ndarray:
    """Resample patterns so that detector pixel k_det shows the physical intensity at R(θ)·T·k_det
    (cubic splines; one call over all frames: at integer frame coordinates the spline reproduces
    each frame's own 2-D interpolant)."""
    from scipy import ndimage

    n = pats.shape[-1]
    c = n // 2
    iy, ix = np.meshgrid(np.arange(n) - c, np.arange(n) - c, indexing="ij")
    ky, kx = (ix, iy) if transpose else (iy, ix)
    cs, sn = np.cos(rotation), np.sin(rotation)
    kx_s = cs * kx - sn * ky
    ky_s = sn * kx + cs * ky
    flat = pats.reshape(-1, n, n)
    f = np.broadcast_to(np.arange(flat.shape[0])[:, None, None], flat.shape)
    coords = np.stack([f, np.broadcast_to(ky_s + c, flat.shape), np.broadcast_to(kx_s + c, flat.shape)])
    return ndimage.map_coordinates(flat, coords, order=3, mode="constant").reshape(pats.shape)
