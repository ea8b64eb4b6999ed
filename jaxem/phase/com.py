"""Centre-of-mass (CoM/DPC) imaging and integrated CoM (iCoM) by Fourier integration.

The CoM of a pattern, in scan-frame spatial frequency [1/Å], is the probe-averaged phase gradient:
for a weak phase object exp(iσφ) its Fourier transform over the scan is

    F[CoM](q) = i q σφ̃(q) C(q),    C(q) = Σ_k ψ̂*(k) ψ̂(k − q)  (probe autocorrelation),

so the Fourier integration  φ̃_iCoM(q) = −i q·F[CoM](q) / |q|²  (q = 0 set to 0) returns σφ filtered
by C(q) [rad] (Lazić, Bosch & Lazar, Ultramicroscopy 160 (2016) 265; the detector-moment form of
quantem's 'icom' kernel). The DPC signal is the CoM field itself.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import geometry
from .calibration import center_of_mass, fit_descan
from .dataset import Dataset4D


def com_field(ds: Dataset4D, descan_order: int | None = None, rotation=None, transpose=None, budget=None):
    """Scan-frame CoM field (Sy, Sx, 2) ordered (y, x) [1/Å].

    Args:
        ds: dataset with ``center`` and ``detector_sampling`` calibrated.
        descan_order: None (no descan correction), 0 (remove the mean) or 1 (remove a fitted plane).
        rotation, transpose: detector orientation (default: the dataset's) [rad].
        budget: memory budget [bytes].
    """
    ds.require("center", "detector_sampling")
    com = center_of_mass(ds, ds.center, budget)
    if descan_order is not None:
        com, _ = fit_descan(com, descan_order)
    ck = com * np.asarray(ds.detector_sampling)[None, None, :]
    rot = ds.rotation if rotation is None else rotation
    tr = ds.transpose if transpose is None else transpose
    ky, kx = geometry.rotate_frequencies(jnp.asarray(ck[..., 0]), jnp.asarray(ck[..., 1]), rot, tr)
    return jnp.stack([ky, kx], -1)


@jax.jit
def _icom(com, sy_dy, sx_dx):
    sy, sx = com.shape[:2]
    qy = jnp.fft.fftfreq(sy, sy_dy).astype(com.dtype)[:, None]
    qx = jnp.fft.fftfreq(sx, sx_dx).astype(com.dtype)[None, :]
    fy = jnp.fft.fft2(com[..., 0])
    fx = jnp.fft.fft2(com[..., 1])
    q2 = qy**2 + qx**2
    q2s = jnp.where(q2 > 0, q2, 1.0)
    spec = jnp.where(q2 > 0, -1j * (qy * fy + qx * fx) / q2s, 0.0)
    return spec


def icom_spectrum(com, scan_sampling):
    """φ̃_iCoM(q) (Sy, Sx) complex from a scan-frame CoM field (Sy, Sx, 2) [1/Å]; scan step (dy, dx) [Å]."""
    com = jnp.asarray(com)
    if com.ndim != 3 or com.shape[-1] != 2:
        raise ValueError(f"com must have shape (Sy, Sx, 2) [1/Å], got {com.shape}")
    if not jnp.issubdtype(com.dtype, jnp.floating):
        com = com.astype(jnp.float32)
    return _icom(com, float(scan_sampling[0]), float(scan_sampling[1]))


def icom(com, scan_sampling):
    """Integrated CoM image [rad] (Sy, Sx): transfer C(q) (module docstring)."""
    return jnp.real(jnp.fft.ifft2(icom_spectrum(com, scan_sampling)))


def divergence(com, scan_sampling):
    """∇·CoM [1/Å²] (periodic central differences) of a scan-frame field (Sy, Sx, 2) [1/Å]."""
    com = jnp.asarray(com)
    dy = (jnp.roll(com[..., 0], -1, 0) - jnp.roll(com[..., 0], 1, 0)) / (2 * scan_sampling[0])
    dx = (jnp.roll(com[..., 1], -1, 1) - jnp.roll(com[..., 1], 1, 1)) / (2 * scan_sampling[1])
    return dy + dx
