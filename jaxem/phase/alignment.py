"""Sub-pixel alignment of virtual bright-field images and aberration fitting from their shifts.

Each vBF image v_k is, to first order, the object seen through a probe tilted by k, displaced by

    s(k) = ∇_k χ(k) / 2π = λ · P · R(θ) · T · k_det   [Å]   (quadratic χ),
    P = [[C10 − C12 cos 2φ12,  C12 sin 2φ12], [C12 sin 2φ12,  C10 + C12 cos 2φ12]]   (y, x order),

with R(θ), T the detector rotation and transpose (:mod:`jaxem.phase.geometry`). Shifts are measured
by cross-correlation against a reference (peak refined by a matrix-multiply DFT on a fine local grid,
Guizar-Sicairos, Thurman & Fienup, Opt. Lett. 33 (2008) 156), then the 2×2 map M with s = M·k_det is
fitted by least squares and split as M·T = λ P R (P symmetric, R a rotation; closed form, valid also
when |C12| > |C10| makes P indefinite, where a polar decomposition with positive P would fail) into
rotation and C10/C12/φ12. θ is returned in (−π/2, π/2]; θ + π with −P is the same map.
Higher orders (coma C21, three-fold C23, C30, …) are fitted linearly in their Cartesian components
with θ fixed. :func:`fit_parallax` bootstraps from zero aberrations by aligning the inner
bright-field pixels first and growing the radius. The shifts of a model come from
:func:`jaxem.phase.geometry.parallax_shifts` (∇_k χ = λ·∇_α χ with ∇_α χ from :mod:`jaxem.optics`).
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..optics.aberrations import Aberrations
from . import geometry
from .stack import CPU_BATCH_BYTES, BFStack


def shift_images(images, shifts):
    """Shift images (N, Sy, Sx) by ``shifts`` (N, 2) [px] with Fourier phase ramps: out(r) = in(r − s)."""
    validate.array(images, "images", ndim=3, kind="real")
    validate.array(shifts, "shifts", ndim=2, shape=(images.shape[0], 2), kind="real", units="px")
    sy, sx = images.shape[-2:]
    qy = jnp.fft.fftfreq(sy).astype(images.dtype)
    qx = jnp.fft.fftfreq(sx).astype(images.dtype)
    ramp = jnp.exp(-2j * jnp.pi * (qy[None, :, None] * shifts[:, 0, None, None]
                                    + qx[None, None, :] * shifts[:, 1, None, None]))
    return jnp.real(jnp.fft.ifft2(jnp.fft.fft2(images) * ramp))


@partial(jax.jit, static_argnames=("upsample",))
def _xcorr_shift(images, ref, self_weight, qmax, upsample: int = 16):
    sy, sx = images.shape[-2:]
    fr = jnp.fft.fft2(ref - jnp.mean(ref))
    fi = jnp.fft.fft2(images - jnp.mean(images, (-2, -1), keepdims=True))
    # leave-one-out: when ref is a mean that contains each image with weight w, remove it
    x = fi * jnp.conj(fr[None] - self_weight * fi)
    fy = jnp.fft.fftfreq(sy).astype(images.dtype)[:, None]
    fx = jnp.fft.fftfreq(sx).astype(images.dtype)[None, :]
    x = jnp.where(fy**2 + fx**2 <= qmax**2, x, 0.0)  # optional low-pass [cycles/px]
    cc = jnp.real(jnp.fft.ifft2(x))
    flat = jnp.argmax(cc.reshape(cc.shape[0], -1), -1)
    py = (flat // sx).astype(images.dtype)
    px = (flat % sx).astype(images.dtype)
    py = jnp.where(py > sy // 2, py - sy, py)
    px = jnp.where(px > sx // 2, px - sx, px)
    # local DFT around the integer peak: CC(r) = Σ_q X(q) e^{2πi q·r}
    m = 2 * upsample + 1
    d = (jnp.arange(m, dtype=images.dtype) - upsample) * (1.5 / upsample)
    qy = jnp.fft.fftfreq(sy).astype(images.dtype)
    qx = jnp.fft.fftfreq(sx).astype(images.dtype)
    ey = jnp.exp(2j * jnp.pi * (py[:, None] + d[None, :])[:, :, None] * qy[None, None, :])  # (N, m, sy)
    ex = jnp.exp(2j * jnp.pi * (px[:, None] + d[None, :])[:, :, None] * qx[None, None, :])  # (N, m, sx)
    loc = jnp.real(jnp.einsum("nay,nyx,nbx->nab", ey, x, ex))
    j = jnp.argmax(loc.reshape(loc.shape[0], -1), -1)
    jy, jx = j // m, j % m
    jy = jnp.clip(jy, 1, m - 2)
    jx = jnp.clip(jx, 1, m - 2)
    n = jnp.arange(loc.shape[0])

    def parab(a, b, c):
        den = a - 2 * b + c
        return jnp.where(jnp.abs(den) > 0, 0.5 * (a - c) / jnp.where(jnp.abs(den) > 0, den, 1.0), 0.0)

    oy = parab(loc[n, jy - 1, jx], loc[n, jy, jx], loc[n, jy + 1, jx])
    ox = parab(loc[n, jy, jx - 1], loc[n, jy, jx], loc[n, jy, jx + 1])
    step = 1.5 / upsample
    cy = py + d[jy] + oy * step
    cx = px + d[jx] + ox * step
    # images(r) ≈ ref(r − c): moving the image by −c aligns it; return the aligning shift
    return -jnp.stack([cy, cx], -1)


@partial(jax.jit, static_argnames=("upsample", "b"))
def _xcorr_all(images, ref, self_weight, qmax, *, upsample: int, b: int):
    """:func:`_xcorr_shift` over all images in batches of ``b`` inside one compiled program (the
    remainder batch is handled by ``lax.map``; no padded copy)."""
    return jax.lax.map(lambda im: _xcorr_shift(im[None], ref, self_weight, qmax, upsample)[0], images,
                       batch_size=b)


def cross_correlation_shifts(images, ref, upsample: int = 16, memory_budget=None, self_weight: float = 0.0,
                             lowpass: float = 1.0):
    """Shifts (N, 2) [px] that align each image to ``ref``: ``shift_images(images, s)`` ≈ ref.

    Args:
        images: (N, Sy, Sx) real images; ref: (Sy, Sx) reference (periodic boundary).
        self_weight: weight w with which each image enters ``ref`` (1/N for the plain mean of the
            images); w·image is removed from the reference (leave-one-out), which avoids the bias of
            the self-correlation peak at zero shift.
        lowpass: only spatial frequencies |f| ≤ ``lowpass`` [cycles/px] enter the correlation.
        upsample: sub-pixel refinement factor of the local DFT (precision ≈ 1/(10·upsample) px).
        memory_budget: bytes (or '2G') for the image batches (default: accel policy, capped on CPU
            at :data:`~jaxem.phase.stack.CPU_BATCH_BYTES`).
    """
    validate.array(images, "images", ndim=3, kind="real")
    validate.array(ref, "ref", ndim=2, kind="real")
    if tuple(jnp.shape(ref)) != tuple(jnp.shape(images)[1:]):
        raise validate.InputError(f"images must be (N, Sy, Sx) and ref (Sy, Sx), got {jnp.shape(images)}, "
                                  f"{jnp.shape(ref)}")
    upsample = validate.integer(upsample, "upsample", lo=1)
    self_weight = validate.scalar(self_weight, "self_weight", lo=0, hi=1, allow_traced=False)
    lowpass = validate.scalar(lowpass, "lowpass", "cycles/px", positive=True, allow_traced=False)
    images = jnp.asarray(images)
    n, sy, sx = images.shape
    b = accel.batch_size(8 * 6 * (sy * sx + (2 * upsample + 1) * (sy + sx)), n, memory_budget,
                         cpu_cap=CPU_BATCH_BYTES)
    return _xcorr_all(images, jnp.asarray(ref, images.dtype), jnp.asarray(self_weight, images.dtype),
                      jnp.asarray(lowpass, images.dtype), upsample=upsample, b=b)


@pytree.dataclass
class AberrationFit:
    """Result of an aberration fit: ``aberrations`` (C10 = −defocus, C12 [Å], φ12 [rad], …),
    ``rotation`` θ [rad] in (−π/2, π/2], ``transpose``, ``residual`` RMS shift misfit [Å],
    ``shifts`` measured shifts (N, 2) [Å] (scan frame), ``mask`` pixels used."""

    aberrations: Aberrations
    rotation: float = pytree.field(static=True, units="rad")
    transpose: bool = pytree.field(static=True)
    residual: float = pytree.field(static=True, units="Å")
    shifts: jnp.ndarray = None
    mask: jnp.ndarray = None


def fit_linear_map(k_det, shifts, wavelength: float, transpose: bool = False):
    """C10, C12, φ12 [Å, Å, rad] and rotation θ [rad] from shifts (N, 2) [Å] at k_det (N, 2) [1/Å].

    Least squares s = M·k_det, then the decomposition M·T = λ P R (P symmetric, R a rotation; module
    docstring) in closed form.
    Returns (Aberrations, θ, RMS residual [Å]).
    """
    validate.array(k_det, "k_det", ndim=2, shape=(None, 2), kind="real", units="1/Å")
    validate.array(shifts, "shifts", ndim=2, shape=(None, 2), kind="real", units="Å")
    wavelength = validate.scalar(wavelength, "wavelength", "Å", positive=True, allow_traced=False)
    k = np.asarray(k_det, np.float64)
    s = np.asarray(shifts, np.float64)
    if k.shape != s.shape or k.shape[0] < 3:
        raise validate.InputError(f"k_det and shifts must both be (N ≥ 3, 2), got {k.shape}, {s.shape}")
    mt, *_ = np.linalg.lstsq(k, s, rcond=None)  # s = k @ mt  → M = mt.T
    m = mt.T
    if transpose:
        m = m[:, ::-1]  # M·T: T swaps the (y, x) components of k_det
    # M·T = λ P R with P symmetric (any signature: |C12| > |C10| makes it indefinite) and R a
    # rotation: P R Rᵀ symmetric ⇔ (N01 − N10) cos θ = (N00 + N11) sin θ (unique modulo π)
    theta = float(np.arctan2(m[0, 1] - m[1, 0], m[0, 0] + m[1, 1]))
    if theta > np.pi / 2:
        theta -= np.pi
    elif theta <= -np.pi / 2:
        theta += np.pi
    c, sn = np.cos(theta), np.sin(theta)
    r = np.array([[c, sn], [-sn, c]])
    p = m @ r.T
    p = 0.5 * (p + p.T) / wavelength
    c10 = 0.5 * (p[0, 0] + p[1, 1])
    a = 0.5 * (p[1, 1] - p[0, 0])
    b = p[0, 1]
    ab = Aberrations(C10=float(c10), C12=float(np.hypot(a, b)), phi12=float(0.5 * np.arctan2(b, a)))
    resid = float(np.sqrt(np.mean((k @ mt - s) ** 2)))
    return ab, float(theta), resid


#: Cartesian basis for higher-order fits: (n, m) pairs beyond the quadratic terms
HIGHER_ORDERS = ((2, 1), (2, 3), (3, 0))


def fit_higher_orders(k_scan, shifts, wavelength: float, orders=((1, 0), (1, 2)) + HIGHER_ORDERS):
    """Linear least-squares fit of χ coefficients to shifts (N, 2) [Å] at scan-frame k (N, 2) [1/Å].

    The gradient of each Cartesian basis function (2π/λ)·α^{n+1}/(n+1)·{cos mφ, sin mφ} is linear in
    its coefficient, so s = ∇_kχ/2π is a linear model. Returns (Aberrations, RMS residual [Å]).
    """
    validate.array(k_scan, "k_scan", ndim=2, shape=(None, 2), kind="real", units="1/Å")
    validate.array(shifts, "shifts", ndim=2, shape=(None, 2), kind="real", units="Å")
    wavelength = validate.scalar(wavelength, "wavelength", "Å", positive=True, allow_traced=False)
    k = jnp.asarray(k_scan, jnp.result_type(float))
    cols, names = [], []
    for n, m in orders:
        for part in ((0.0,) if m == 0 else (0.0, np.pi / (2 * m))):
            vals = {f"C{n}{m}": 1.0}
            if m:
                vals[f"phi{n}{m}"] = part
            g = geometry.parallax_shifts(Aberrations(**vals), k[:, 0], k[:, 1], wavelength)
            cols.append(np.asarray(g).ravel())
            names.append((n, m, part != 0.0))
    A = np.stack(cols, -1)
    coef, *_ = np.linalg.lstsq(A, np.asarray(shifts, np.float64).ravel(), rcond=None)
    vals, cart = {}, {}
    for (n, m, is_sin), c in zip(names, coef):
        cart[(n, m, is_sin)] = c
    for n, m in orders:
        if m == 0:
            vals[f"C{n}{m}"] = float(cart[(n, m, False)])
        else:
            a, b = cart[(n, m, False)], cart[(n, m, True)]
            vals[f"C{n}{m}"] = float(np.hypot(a, b))
            vals[f"phi{n}{m}"] = float(np.arctan2(b, a) / m)
    resid = float(np.sqrt(np.mean((A @ coef - np.asarray(shifts).ravel()) ** 2)))
    return Aberrations(**vals), resid


@validate.typed
def predicted_shifts(stack: BFStack, aberrations: Aberrations, rotation):
    """Parallax shifts s(k) = ∇_kχ(k)/2π (N, 2) [Å] of the stack's pixels in the scan frame (detector
    rotation θ [rad])."""
    validate.instance(stack, "stack", BFStack, "a BFStack (phase.bright_field_stack)")
    k = stack.k_scan(geometry.check_rotation(rotation))
    return geometry.parallax_shifts(geometry.check_aberrations(aberrations), k[:, 0], k[:, 1], stack.wavelength)
