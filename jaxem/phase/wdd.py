"""Wigner-distribution deconvolution (WDD) with a Wiener (ε) regulariser.

With G(q, K) the 4D data Fourier-transformed over the scan (full detector, normalised by the mean
pattern intensity), its inverse transform over the detector factorises (Rodenburg & Bates, Phil.
Trans. R. Soc. A 339 (1992) 521):

    H(ρ, q) = IFFT_K[G(q, K)](ρ) = W(ρ, q) · D(ρ, q),   W(ρ, q) = IFFT_K[ψ̂*(K) ψ̂(K − q)](ρ),
    D(ρ, q) = Σ_q'' O(q'' + q) O*(q'') e^{2πi q''·ρ},

so the deconvolution D ≈ W* H / (|W|² + ε) with ε = ε_rel·|W(0, 0)|² gives, summed over ρ, the
object spectrum O(q)·O*(0). The object is IFFT[O/O(0)] (complex; its phase is returned in rad).
The scan frequencies are processed in batches sized by the memory budget (``lax.map``); ψ̂(K − q)
is evaluated analytically at the scan-frame detector frequencies, so any detector rotation works.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..optics.aberrations import Aberrations
from . import geometry
from .dataset import Dataset4D
from .stack import phase_batch_size


@partial(jax.jit, static_argnames=("b", "wavelength", "cutoff", "edge", "orders"))
def _wdd(G, ky, kx, qs, ab, eps_rel, *, b, wavelength, cutoff, edge, orders=None):
    amp = geometry.aperture(jnp.sqrt(ky**2 + kx**2), cutoff, edge)
    norm = jnp.sum(amp**2)
    pk = geometry.probe(ab, ky, kx, wavelength, cutoff, edge, orders) / jnp.sqrt(norm)
    w00 = jnp.abs(jnp.fft.ifft2(jnp.conj(pk) * pk)[0, 0])
    eps = eps_rel * w00**2

    def one(args):
        g, q = args
        h = jnp.fft.ifft2(g)
        pm = geometry.probe(ab, ky - q[0], kx - q[1], wavelength, cutoff, edge, orders) / jnp.sqrt(norm)
        w = jnp.fft.ifft2(jnp.conj(pk) * pm)
        d = jnp.conj(w) * h / (jnp.abs(w) ** 2 + eps)
        return jnp.sum(d)

    return jax.lax.map(one, (G, qs), batch_size=b)


def wdd(ds: Dataset4D, aberrations: Aberrations | None = None, rotation=None, epsilon: float = 1e-2,
        edge=None, budget=None, return_complex: bool = False, precision=None):
    """WDD reconstruction of a calibrated dataset: phase [rad] (Sy, Sx) (or the complex object).

    Args:
        ds: dataset with energy, semiangle, center, detector_sampling (and rotation/transpose).
        aberrations: probe aberrations (default ``ds.aberrations``).
        rotation: detector rotation θ [rad] (default ``ds.rotation``).
        epsilon: relative Wiener regulariser ε_rel (> 0; 1e-3…1e-1 typical).
        edge: aperture edge width [1/Å] (default one detector pixel).
        budget: memory budget [bytes]; return_complex: return O(r) instead of its phase.
        precision: 'float32' (default; float64 input → 'float64').
    """
    ds.require("energy", "semiangle", "center", "detector_sampling")
    if not (epsilon > 0 and np.isfinite(epsilon)):
        raise ValueError(f"epsilon must be a finite relative regulariser > 0, got {epsilon!r}")
    ab = aberrations if aberrations is not None else ds.aberrations
    rot = ds.rotation if rotation is None else rotation
    f64 = precision == "float64" or (precision is None and np.dtype(ds.array.dtype) == np.float64)
    rdt = jnp.float64 if f64 else jnp.float32
    edge = float(np.mean(ds.detector_sampling)) if edge is None else float(edge)
    arr = ds.array.compute() if ds.is_lazy else ds.array
    data = jnp.asarray(arr, rdt)
    sy, sx, ny, nx = data.shape
    i0 = jnp.mean(jnp.sum(data, (2, 3)))
    G = jnp.fft.fft2(data / i0, axes=(0, 1)).reshape(sy * sx, ny, nx)
    ky, kx = geometry.detector_frequencies((ny, nx), ds.center, ds.detector_sampling, rot, ds.transpose, rdt)
    qy = np.fft.fftfreq(sy, ds.scan_sampling[0])
    qx = np.fft.fftfreq(sx, ds.scan_sampling[1])
    qs = jnp.asarray(np.stack(np.meshgrid(qy, qx, indexing="ij"), -1).reshape(-1, 2), rdt)
    b = phase_batch_size(10 * ny * nx * 16, sy * sx, budget)
    O = _wdd(G, ky, kx, qs, ab, jnp.asarray(epsilon, rdt), b=b, wavelength=ds.wavelength,
             cutoff=ds.probe_cutoff, edge=edge, orders=geometry.active_orders(ab)).reshape(sy, sx)
    obj = jnp.fft.ifft2(O / O[0, 0]) * (sy * sx)
    if return_complex:
        return obj
    ph = jnp.angle(obj)
    return ph - jnp.mean(ph)
