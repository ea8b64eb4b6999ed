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

from .. import validate
from . import geometry
from .calibration import center_of_mass_with_report, fit_descan, mean_pattern
from .dataset import Dataset4D


#: detector-frame → scan-frame (y, x) components of a CoM field [1/Å] (:func:`geometry.rotate_frequencies`,
#: compiled: one program per field shape and transpose)
to_scan_frame = jax.jit(geometry.rotate_frequencies, static_argnames=("transpose",))


@validate.typed
def com_field(ds: Dataset4D, descan_order: int | None = None, rotation=None, transpose=None, memory_budget=None):
    """Scan-frame CoM field (Sy, Sx, 2) ordered (y, x) [1/Å].

    Non-finite values of the data are masked (:mod:`jaxem.phase.masking`):
    :func:`jaxem.phase.reconstruct` reports them.

    Args:
        ds: dataset with ``center`` and ``detector_sampling`` calibrated.
        descan_order: None (no descan correction), 0 (remove the mean) or 1 (remove a fitted plane).
        rotation, transpose: detector orientation (default: the dataset's) [rad].
        memory_budget: bytes (or '2G') for the frame batches (default: accel policy).
    """
    return com_field_with_report(ds, descan_order, rotation, transpose, memory_budget)[0]


def com_field_with_report(ds: Dataset4D, descan_order=None, rotation=None, transpose=None, memory_budget=None):
    """:func:`com_field` and the :class:`~jaxem.phase.masking.BadData` that was masked."""
    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a Dataset4D, got {type(ds).__name__}")
    ds.require("center", "detector_sampling")
    from .stack import check_disk  # (stack imports calibration lazily; keep com importable first)

    check_disk(mean_pattern(ds), ds)  # the calibration against the measured bright-field disk
    if descan_order is not None:
        validate.choice(descan_order, "descan_order", (None, 0, 1))
    rot = geometry.check_rotation(ds.rotation if rotation is None else rotation)
    tr = ds.transpose if transpose is None else transpose
    validate.flag(tr, "transpose")
    com, bad = center_of_mass_with_report(ds, ds.center, memory_budget)
    if descan_order is not None:
        com, _ = fit_descan(com, descan_order)
    ck = com * np.asarray(ds.detector_sampling)[None, None, :]
    ky, kx = to_scan_frame(ck[..., 0], ck[..., 1], rot, bool(tr))
    return jnp.stack([ky, kx], -1), bad


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


def _check_field(com, scan_sampling):
    validate.array(com, "com", ndim=3, shape=(None, None, 2), kind="real", units="1/Å")
    scan_sampling = validate.pair(scan_sampling, "scan_sampling", "Å", positive=True, allow_traced=False)
    com = jnp.asarray(com)
    if not jnp.issubdtype(com.dtype, jnp.floating):
        com = com.astype(jnp.result_type(float))
    return com, scan_sampling


def icom_spectrum(com, scan_sampling):
    """φ̃_iCoM(q) (Sy, Sx) complex from a real scan-frame CoM field (Sy, Sx, 2) [1/Å] (finite); scan
    step (dy, dx) [Å] (> 0)."""
    com, scan_sampling = _check_field(com, scan_sampling)
    return _icom(com, scan_sampling[0], scan_sampling[1])


def icom(com, scan_sampling):
    """Integrated CoM image [rad] (Sy, Sx): transfer C(q) (module docstring)."""
    return jnp.real(jnp.fft.ifft2(icom_spectrum(com, scan_sampling)))


def divergence(com, scan_sampling):
    """∇·CoM [1/Å²] (periodic central differences) of a scan-frame field (Sy, Sx, 2) [1/Å]."""
    com, scan_sampling = _check_field(com, scan_sampling)
    dy = (jnp.roll(com[..., 0], -1, 0) - jnp.roll(com[..., 0], 1, 0)) / (2 * scan_sampling[0])
    dx = (jnp.roll(com[..., 1], -1, 1) - jnp.roll(com[..., 1], 1, 1)) / (2 * scan_sampling[1])
    return dy + dx
