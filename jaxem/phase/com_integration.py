"""DPC / iCoM with regularised (Wiener) integration, rotation and transpose from the data, descan.

For a weak phase object exp(iσφ) the scan-frame centre-of-mass field [1/Å] has the spectrum
F[CoM](q) = i q σφ̃(q) C(q) + n(q), with C(q) = [ψ̂⋆ψ̂](q) the probe autocorrelation and n white
(each frame's CoM noise is independent). Projecting on q̂ = q/|q| gives a flat-noise scalar spectrum

    D(q) = −i q̂·F[CoM](q) = |q|·C(q)·σφ̃(q) + n′(q),

i.e. a deconvolution problem with transfer T(q) = |q|·C(q). Plain Fourier integration (iCoM) is
D/|q|, which amplifies the noise and the descan residue at q → 0 and keeps the contrast reversals of
C(q) at large defocus. Here D is Wiener-filtered (:func:`jaxem.phase.wiener.wiener_filter`): noise
power from the frequencies outside the probe band |q| > 2k_probe + edge (C = 0 there), object power
per ring of |q|. With ``aberrations`` the full T = |q|·C(q) is deconvolved (the probe's
autocorrelation from :mod:`jaxem.phase.transfer`); without, T = |q|·C₀(q) with the aberration-free
C₀ (a noise-aware high-pass integration). Either way the result is regularised where the data carry
no signal and is the ordinary iCoM where the signal-to-noise ratio is high.

Calibration from the data: the descan (a plane fitted to the CoM over the scan,
:func:`~jaxem.phase.calibration.fit_descan`), the rotation θ and transpose (curl-free field,
:func:`rotation_from_curl`). A rotation given by the user is checked against
the data (closed-form spectral curl, :func:`rotation_from_curl`): if the curl power at the given θ
exceeds twice the minimum and the data define the minimum
clearly, an error names the rotation and the value the data prefer. The curl cannot tell θ from
θ + π (the image changes sign): this is resolved by the sign of the skewness of the phase (specimen
potentials are positive peaks), and reported as ambiguous (a warning) when the skewness is too small.
"""
from __future__ import annotations

import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from . import geometry
from .calibration import center_of_mass_with_report, fit_descan
from .com import to_scan_frame
from .dataset import Dataset4D
from .masking import BadData
from .wiener import noise_power_outside, wiener_filter


@pytree.dataclass
class DPCResult:
    """``image`` phase [rad] (Sy, Sx); ``rotation`` θ [rad] and ``transpose`` used; ``rotation_source``
    ('given', 'dataset', 'data'); ``curl_ratio`` (curl at θ / median over angles); ``sign`` (+1 or
    −1 chosen for the θ/θ + π ambiguity, 0 when not resolved); ``noise`` power of D; ``bad`` masked
    non-finite values."""

    image: jnp.ndarray
    rotation: float = pytree.field(static=True, units="rad")
    transpose: bool = pytree.field(static=True)
    rotation_source: str = pytree.field(static=True)
    curl_ratio: float = pytree.field(static=True)
    sign: int = pytree.field(static=True)
    noise: float = pytree.field(static=True)
    bad: BadData = pytree.field(static=True, default_factory=BadData)


@pytree.dataclass
class SpectralRotation:
    """Closed-form rotation from the spectral curl: ``rotation`` θ [rad] in (−π/2, π/2], ``transpose``,
    ``curl_ratio`` (curl power at θ / its mean over θ; small = well defined), ``other_ratio`` (the
    same for the other transpose) and the quadratic form (``mean``, ``a``, ``b``) of each transpose:
    curl power(θ) = mean + a·cos 2θ + b·sin 2θ."""

    rotation: float = pytree.field(static=True, units="rad")
    transpose: bool = pytree.field(static=True)
    curl_ratio: float = pytree.field(static=True)
    other_ratio: float = pytree.field(static=True)
    forms: dict = pytree.field(static=True, default_factory=dict)

    def curl_power(self, theta, transpose):
        m, a, b = self.forms[bool(transpose)]
        return m + a * np.cos(2 * theta) + b * np.sin(2 * theta)


def _scan_q(shape, scan_sampling):
    qy = np.fft.fftfreq(shape[0], scan_sampling[0])[:, None]
    qx = np.fft.fftfreq(shape[1], scan_sampling[1])[None, :]
    return qy, qx, np.hypot(qy, qx)


def _checked_field(field, name, scan_sampling):
    validate.array(field, name, ndim=3, shape=(None, None, 2), kind="real", units="1/Å")
    scan_sampling = validate.pair(scan_sampling, "scan_sampling", "Å", positive=True, allow_traced=False)
    f = np.asarray(field, np.float64)
    return f, scan_sampling, _scan_q(f.shape[:2], scan_sampling)


def rotation_from_curl(com_k, scan_sampling, qmax=None, allow_transpose: bool = True) -> SpectralRotation:
    """Detector rotation θ [rad] (and transpose) that makes the CoM field curl-free, in closed form.

    Rotating the detector-frame field c by θ gives the scan-frame curl cos θ·K − sin θ·D, with
    K = ∂y c_x − ∂x c_y and D = ∂y c_y + ∂x c_x (spectral derivatives, exact on the periodic scan,
    restricted to 0 < |q| ≤ ``qmax`` where the CoM carries signal). Its power
    ½(KK + DD) + ½(KK − DD) cos 2θ − KD sin 2θ is minimal at θ = ½·atan2(KD, DD − KK) (mod π). Finite
    differences (:func:`~jaxem.phase.calibration.rotation_from_com`) mix the curl with the
    truncation error of the derivative near the scan Nyquist frequency; this estimate does not.

    Args:
        com_k: (Sy, Sx, 2) detector-frame CoM (y, x) [1/Å], descan removed.
        scan_sampling: (dy, dx) [Å]; qmax: band [1/Å] (default all frequencies).
    """
    c, scan_sampling, (qy, qx, q) = _checked_field(com_k, "com_k", scan_sampling)
    band = (q > 0) & (q <= (q.max() if qmax is None else qmax))
    forms, best = {}, []
    f = np.fft.fft2(c, axes=(0, 1))[band]  # (n_band, 2): the transposed detector swaps the columns
    iqy, iqx = 2j * np.pi * np.broadcast_to(qy, q.shape)[band], 2j * np.pi * np.broadcast_to(qx, q.shape)[band]
    for tr in ((False, True) if allow_transpose else (False,)):
        fy, fx = (f[:, 1], f[:, 0]) if tr else (f[:, 0], f[:, 1])
        k = iqy * fx - iqx * fy
        d = iqy * fy + iqx * fx
        kk, dd, kd = np.vdot(k, k).real, np.vdot(d, d).real, np.vdot(d, k).real
        m, a, b = 0.5 * (kk + dd), 0.5 * (kk - dd), -kd
        theta = 0.5 * np.arctan2(-b, -a)
        theta = (theta + np.pi / 2) % np.pi - np.pi / 2
        forms[tr] = (m, a, b)
        best.append(((m + a * np.cos(2 * theta) + b * np.sin(2 * theta)) / max(m, 1e-300), float(theta), tr))
    best.sort()
    ratio, theta, tr = best[0]
    other = best[1][0] if len(best) > 1 else float("nan")
    return SpectralRotation(theta, tr, float(ratio), float(other), forms)


def integrate(field, scan_sampling, transfer_c=None, qmax=None, noise=None, model_error: float = 1e-6):
    """Wiener integration of a scan-frame CoM field (Sy, Sx, 2) [1/Å] (module docstring) [rad].

    Args:
        transfer_c: C(q) on the scan grid (complex, FFT order; default 1 inside ``qmax``).
        qmax: band limit 2k_probe + edge [1/Å] (default: the grid's Nyquist, no band limit).
        noise: power of D per frequency (default: measured outside ``qmax``).
        model_error: relative floor of the noise power (see :mod:`jaxem.phase.wiener`).
    Returns:
        (image [rad], noise power).
    """
    f, scan_sampling, (qy, qx, q) = _checked_field(field, "field", scan_sampling)
    sy, sx = f.shape[:2]
    qs = np.where(q > 0, q, 1.0)
    d = np.where(q > 0, -1j * (qy * np.fft.fft2(f[..., 0]) + qx * np.fft.fft2(f[..., 1])) / qs, 0.0)
    c = np.ones((sy, sx)) if transfer_c is None else np.asarray(transfer_c)
    t = q * c
    qmax = float(q.max()) * 1.001 if qmax is None else validate.scalar(qmax, "qmax", "1/Å", positive=True)
    if noise is None:
        noise = noise_power_outside(d, scan_sampling, qmax * 1.02)
    noise = validate.scalar(noise, "noise", nonnegative=True, allow_traced=False)
    inside = q <= qmax
    noise = noise + model_error * float(np.mean(np.abs(d[inside]) ** 2))
    out, _ = wiener_filter(d, t, scan_sampling, qmax, noise)
    return np.real(np.fft.ifft2(out)), noise


def probe_autocorrelation(scan_shape, scan_sampling, wavelength: float, cutoff: float, edge: float,
                          aberrations=None):
    """C(q) = Σ_k ψ̂*(k) ψ̂(k − q) (Sy, Sx) complex on the scan-frequency grid (FFT order), through the
    probe intensity: C is the Fourier transform of |p(r)|² (p the probe in real space), evaluated on
    a grid of the scan's frequency pitch wide enough (≥ 4k_probe) that the autocorrelation does not
    wrap. The same quantity as ``transfer_function("icom", …)`` summed over the frequencies of that
    grid instead of the detector pixels (tested), at the cost of two FFTs.

    Args: scan shape (Sy, Sx); scan step (dy, dx) [Å]; λ [Å]; aperture radius and edge [1/Å];
    aberrations (scan frame).
    """
    scan_shape = validate.pair(scan_shape, "scan_shape", kind=int, lo=1)
    scan_sampling = validate.pair(scan_sampling, "scan_sampling", "Å", positive=True)
    for v, n in ((wavelength, "wavelength"), (cutoff, "cutoff"), (edge, "edge")):
        validate.scalar(v, n, "Å" if n == "wavelength" else "1/Å", nonnegative=n == "edge", positive=n != "edge")
    ab = geometry.check_aberrations(aberrations)
    out = []
    for n, d in zip(scan_shape, scan_sampling):
        dq = 1.0 / (n * d)
        m = max(n, int(np.ceil((4 * cutoff + 2 * edge) / dq)) + 2)
        m += m % 2
        out.append((m, dq, np.mod(np.fft.fftfreq(n, 1.0 / n).astype(int), m)))
    (my, dqy, iy), (mx, dqx, ix) = out
    c = _autocorrelation_grid(ab, dqy, dqx, wavelength, cutoff, edge, (my, mx), geometry.active_orders(ab))
    return np.asarray(c)[np.ix_(iy, ix)]


@partial(jax.jit, static_argnames=("shape", "orders"))
def _autocorrelation_grid(ab, dqy, dqx, wavelength, cutoff, edge, shape, orders):
    """C(q) on the (my, mx) grid of pitch (dqy, dqx) [1/Å] (one program per grid and aberration set)."""
    my, mx = shape
    dt = jnp.result_type(float)
    qy = (jnp.fft.fftfreq(my, 1.0 / my).astype(dt) * dqy)[:, None]
    qx = (jnp.fft.fftfreq(mx, 1.0 / mx).astype(dt) * dqx)[None, :]
    psi = geometry.probe_at(ab, qy, qx, wavelength, cutoff, edge, orders)
    p = jnp.fft.ifft2(psi)
    return jnp.fft.ifft2(jnp.abs(p) ** 2) * (my * mx) ** 2 / jnp.sum(jnp.abs(psi) ** 2)


def dpc(ds: Dataset4D, aberrations=None, rotation=None, transpose=None, descan_order: int | None = 1,
        noise=None, model_error: float = 1e-6, check_rotation: bool = True, memory_budget=None) -> DPCResult:
    """Phase [rad] from the centre-of-mass field by Wiener-regularised integration (module docstring).

    Args:
        ds: calibrated dataset (energy, semiangle, center, detector_sampling).
        aberrations: probe aberrations to deconvolve C(q) (default: none, the aberration-free C₀).
        rotation: detector rotation θ [rad]; ``None`` takes the dataset's if it is non-zero, else
            fits it (and the transpose) from the curl of the CoM field; ``"data"`` always fits it.
        transpose: detector transpose (default: the dataset's, or fitted with the rotation).
        descan_order: None, 0 or 1 — the polynomial of the scan position removed from the CoM.
        noise: noise power of D (default: measured outside the probe band).
        check_rotation: raise when a given rotation disagrees with the data (module docstring).
        memory_budget: bytes (or '2G') for the frame batches.
    """
    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a Dataset4D, got {type(ds).__name__}")
    validate.scalar(model_error, "model_error", nonnegative=True)
    ds.require("beam", "semiangle", "center", "detector_sampling")
    if descan_order is not None:
        validate.choice(descan_order, "descan_order", (None, 0, 1))
    if transpose is not None:
        validate.flag(transpose, "transpose")
    com, bad = center_of_mass_with_report(ds, ds.center, memory_budget)
    if descan_order is not None:
        com, _ = fit_descan(com, descan_order)
    com_k = com * np.asarray(ds.detector_sampling)[None, None, :]
    fit_rot = isinstance(rotation, str) or (rotation is None and ds.rotation == 0.0 and not ds.transpose)
    if isinstance(rotation, str) and rotation != "data":
        raise validate.InputError(f"rotation must be an angle [rad], None or 'data', got {rotation!r}")
    edge = float(np.mean(ds.detector_sampling))
    qmax = 2 * ds.probe_cutoff + edge
    found = rotation_from_curl(com_k, ds.scan_sampling, qmax, allow_transpose=transpose is None)
    weak = found.curl_ratio > 0.3 or (found.other_ratio < 1.5 * found.curl_ratio)
    if fit_rot:
        theta, tr, source = found.rotation, found.transpose if transpose is None else bool(transpose), "data"
        if weak:
            warnings.warn(f"rotation from the CoM curl is ill-defined: curl power at θ = {theta:.4g} rad is "
                          f"{found.curl_ratio:.3g} of its mean (other transpose {found.other_ratio:.3g}); give "
                          f"rotation explicitly", UserWarning, stacklevel=2)
    else:
        theta = geometry.check_rotation(ds.rotation if rotation is None else rotation)
        tr = ds.transpose if transpose is None else bool(transpose)
        source = "dataset" if rotation is None else "given"
        if check_rotation and not weak:
            c_given = found.curl_power(theta, tr)
            c_best = found.curl_power(found.rotation, found.transpose)
            off = (theta - found.rotation + np.pi / 2) % np.pi - np.pi / 2
            if c_given > 2 * c_best and (abs(off) > np.deg2rad(2.0) or tr != found.transpose):
                raise validate.InputError(
                    f"rotation {theta:.4g} rad ({np.rad2deg(theta):.2f}°, transpose={tr}) disagrees with the data: "
                    f"the CoM field's curl is {c_given / c_best:.3g}× its minimum, which is at "
                    f"{found.rotation:.4g} rad ({np.rad2deg(found.rotation):.2f}°, transpose={found.transpose}) "
                    f"(mod π); pass that, rotation='data', or check_rotation=False")
    ky, kx = to_scan_frame(com_k[..., 0], com_k[..., 1], theta, tr)
    field = np.stack([np.asarray(ky), np.asarray(kx)], -1)
    c = probe_autocorrelation(ds.scan_shape, ds.scan_sampling, ds.wavelength, ds.probe_cutoff, edge, aberrations)
    img, n = integrate(field, ds.scan_sampling, c, qmax, noise, model_error)
    sign = 1
    if fit_rot:  # θ or θ + π: positive phase peaks (skewness of the phase)
        z = (img - img.mean()) / max(img.std(), 1e-300)
        skew = float(np.mean(z**3))
        if abs(skew) < 0.1:
            sign = 0
            warnings.warn(f"rotation from the data is known modulo π only and the phase skewness {skew:.3g} is "
                          f"too small to choose θ or θ + π: the image sign is ambiguous", UserWarning, stacklevel=2)
        elif skew < 0:
            sign = -1
            img = -img
            theta = theta - np.pi if theta > 0 else theta + np.pi
    return DPCResult(jnp.asarray(img), float(theta), bool(tr), source, float(found.curl_ratio), sign, float(n), bad)
