"""Aberration-fitted parallax: C10, C12, φ12 and the detector rotation from the data alone.

Each virtual bright-field image v_k is the object seen through a probe tilted by k, displaced by the
parallax shift s(k) = ∇_kχ(k)/2π = M·k_det [Å] (quadratic χ; :mod:`jaxem.phase.alignment` gives M
in terms of C10, C12, φ12 and the rotation θ). The fit alternates two closed-form steps:

1. **measure** (one jitted program): every image is moved by its current predicted shift (a Fourier
   phase ramp), neighbouring bright-field pixels are summed in ``bin × bin`` detector groups, the
   reference is the sum of all aligned groups (the parallax image itself, updated at every pass),
   and the residual shift of each group is the peak of its leave-one-out cross-correlation with the
   reference: integer peak of the batched inverse FFT, a parabolic refinement, then two weighted
   least-squares fits of the cross-spectrum phase slope, arg X(q) = −2π q·δ (unbiased sub-pixel
   estimate once |δ| is below a coarse pixel; Guizar-Sicairos, Thurman & Fienup, Opt. Lett. 33 (2008)
   156 discuss the same estimator family);
2. **fit**: the measured total shifts are fitted by s = M·k (linear least squares) and M is split
   into C10, C12, φ12 and θ in closed form (:func:`~jaxem.phase.alignment.fit_linear_map`).

The loop stops as soon as the predicted shifts change by less than ``tol`` pixels. Spectra are
computed once, cropped to the band |q| ≤ ``lowpass``·k_probe where both sidebands of a vBF transfer
function carry the parallax ramp (higher frequencies add the single-sideband phase ±χ(q), which only
adds noise and bias to the shift), so the per-pass work is a phase ramp, a segment sum and a small
inverse FFT per group. Bootstrapping from zero aberrations aligns the inner bright-field pixels
first (``radii``), coarse groups first (``bins``). All compiled programs depend only on the shapes
(stack size, band, number of groups), so a repeated call compiles nothing.

Why not the shift measurement of :func:`~jaxem.phase.alignment.cross_correlation_shifts` per image:
that function serves arbitrary images; here the images share one reference that is itself the sum of
the aligned images, so its spectrum, the leave-one-out term and the grouping come for free in
Fourier space and no image is ever shifted in real space.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..optics.aberrations import Aberrations
from . import geometry
from .alignment import AberrationFit, fit_higher_orders, fit_linear_map
from .stack import CPU_BATCH_BYTES, BFStack


def _band_indices(n: int, half: int) -> np.ndarray:
    """FFT-order indices of the 2·half lowest frequencies of an n-point grid (all of them if 2·half ≥ n)."""
    if 2 * half >= n:
        return np.arange(n)
    return np.r_[0:half, n - half:n]


@partial(jax.jit, static_argnames=("b",))
def _band_spectra(vbf, iy, ix, *, b):
    """Unit-variance, mean-free vBF images → their spectra on the band rows ``iy`` × columns ``ix``
    (the transform over x is restricted to the band columns before the transform over y)."""
    def one(v):
        v = v - jnp.mean(v)
        v = v / jnp.maximum(jnp.sqrt(jnp.mean(v * v)), jnp.finfo(v.dtype).tiny)
        f = jnp.take(jnp.fft.rfft(v, axis=1), ix, axis=1)
        return jnp.take(jnp.fft.fft(f, axis=0), iy, axis=0)

    return jax.lax.map(one, vbf, batch_size=b)


def _predicted(ab, k_det, rotation, wavelength, transpose):
    """Parallax shifts (N, 2) [Å] of detector-frame frequencies ``k_det`` for (ab, θ, transpose)."""
    return _pred_jit(ab, k_det, jnp.asarray(rotation, k_det.dtype), jnp.asarray(wavelength, k_det.dtype),
                     transpose=bool(transpose))


@partial(jax.jit, static_argnames=("transpose",))
def _pred_jit(ab, k_det, rotation, wavelength, *, transpose):
    ky, kx = geometry.rotate_frequencies(k_det[:, 0], k_det[:, 1], rotation, transpose)
    return geometry.parallax_shifts(ab, ky, kx, wavelength)


@partial(jax.jit, static_argnames=("b",))
def _measure(F, shifts, table, weight, qy, qx, cell, *, b):
    """Residual aligning shifts (G, 2) [px] of the grouped, pre-aligned images.

    F: (N, Ly, Hx) band spectra on the half plane q_x ≥ 0 (real images: X(−q) = X*(q));
    shifts: (N, 2) current predicted shifts [px]; table: (G, m) images of each group (padded with
    any index); weight: (G, m) 0/1 use of each entry; qy (Ly,), qx (Hx,): band frequencies
    [cycles/px]; cell: (2,) scan pixels per pixel of the band grid. Groups without images return
    garbage (the caller ignores them).
    """
    n_groups = table.shape[0]
    ly, hx = F.shape[1:]
    lx = 2 * hx  # the band grid: columns 0 … hx − 1 and a zero column at lx/2 (irfft's Nyquist)
    nb = -(-n_groups // b)
    cdt = F.dtype

    def ramps(s):  # e^{−2πi q·s}, separable
        return (jnp.exp(-2j * jnp.pi * qy[None, :] * s[..., 0, None]).astype(cdt),
                jnp.exp(-2j * jnp.pi * qx[None, :] * s[..., 1, None]).astype(cdt))

    def group_sum(j):
        start = jnp.minimum(j * b, n_groups - b)
        t = jax.lax.dynamic_slice_in_dim(table, start, b)
        w = jax.lax.dynamic_slice_in_dim(weight, start, b)
        ey, ex = ramps(shifts[t])
        return jnp.einsum("gmyx,gmy,gmx,gm->gyx", F[t], ey, ex, w.astype(cdt))

    # groups in batches of b; the last batch is moved back to end at n_groups (overlap recomputed)
    parts = jax.lax.map(group_sum, jnp.arange(nb))  # (nb, b, Ly, Hx)
    starts = jnp.minimum(jnp.arange(nb) * b, n_groups - b)
    pos = (starts[:, None] + jnp.arange(b)[None, :]).reshape(-1)
    ag = jnp.zeros((n_groups, ly, hx), cdt).at[pos].set(parts.reshape(-1, ly, hx))
    ref = jnp.sum(ag, 0)
    x = ag * jnp.conj(ref[None] - ag)  # leave-one-out cross-spectrum
    cc = jnp.fft.irfft2(jnp.pad(x, ((0, 0), (0, 0), (0, 1))), s=(ly, lx))
    flat = jnp.argmax(cc.reshape(n_groups, -1), -1)
    jy, jx = flat // lx, flat % lx
    m = jnp.arange(n_groups)

    def parab(a, c0, c):
        den = a - 2 * c0 + c
        return jnp.where(den < 0, 0.5 * (a - c) / jnp.where(den < 0, den, -1.0), 0.0)

    c0 = cc[m, jy, jx]
    oy = parab(cc[m, (jy - 1) % ly, jx], c0, cc[m, (jy + 1) % ly, jx])
    ox = parab(cc[m, jy, (jx - 1) % lx], c0, cc[m, jy, (jx + 1) % lx])
    dy = jnp.where(jy > ly // 2, jy - ly, jy) + oy
    dx = jnp.where(jx > lx // 2, jx - lx, jx) + ox
    d = jnp.stack([dy * cell[0], dx * cell[1]], -1).astype(qy.dtype)  # [px]
    # sub-pixel: weighted least squares of the cross-spectrum phase slope, arg X = −2π q·d
    q2 = qy[:, None] ** 2 + qx[None, :] ** 2
    qmax2 = jnp.max(q2)
    wabs = jnp.abs(x)
    for lim in (0.25, 1.0, 1.0):  # low band first: no phase wrapping for a coarse-pixel residual
        w = wabs * (q2 <= lim * qmax2)
        ey, ex = ramps(-d)
        ph = jnp.angle(x * ey[:, :, None] * ex[:, None, :])
        a_yy = jnp.einsum("gyx,y->g", w, qy**2)
        a_xx = jnp.einsum("gyx,x->g", w, qx**2)
        a_xy = jnp.einsum("gyx,y,x->g", w, qy, qx)
        wp = w * ph
        r_y = -jnp.einsum("gyx,y->g", wp, qy) / (2 * jnp.pi)
        r_x = -jnp.einsum("gyx,x->g", wp, qx) / (2 * jnp.pi)
        det = a_yy * a_xx - a_xy**2
        ok = det > 0
        det = jnp.where(ok, det, 1.0)
        d = d + jnp.where(ok[:, None], jnp.stack([(a_xx * r_y - a_xy * r_x) / det,
                                                  (a_yy * r_x - a_xy * r_y) / det], -1), 0.0)
    return -d


def _groups(indices: np.ndarray, bin_factor: int):
    """(table (G, m) of the pixels of each ``bin_factor``² detector bin, padded with 0; valid (G, m);
    group of each pixel (N,))."""
    n = indices.shape[0]
    if bin_factor == 1:
        return np.arange(n)[:, None], np.ones((n, 1), bool), np.arange(n)
    _, inv = np.unique(np.floor_divide(indices, bin_factor), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    g = int(inv.max()) + 1
    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv, minlength=g)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    slot = np.arange(n) - np.repeat(first, counts)
    table = np.zeros((g, int(counts.max())), np.int64)
    valid = np.zeros(table.shape, bool)
    table[inv[order], slot] = order
    valid[inv[order], slot] = True
    return table, valid, inv


@validate.typed
def fit_parallax(stack: BFStack, aberrations: Aberrations | None = None, rotation: float = 0.0,
                 radii=(0.35, 0.6, 1.0), bins=(2, 1), iterations: int = 12, tol: float = 0.05,
                 lowpass: float = 1.0, higher_orders: bool = False, memory_budget=None) -> AberrationFit:
    """Fit C10, C12, φ12 [Å, Å, rad] and the detector rotation θ [rad] by aligning the vBF images
    (module docstring); optionally coma, C23 and C30 with θ fixed.

    Args:
        stack: virtual bright-field stack (:func:`~jaxem.phase.bright_field_stack`).
        aberrations, rotation: starting point (default zero aberrations, θ = 0 [rad]); any start
            within the bootstrap's reach converges (the rotation is part of the fitted 2×2 map).
        radii: fractions of k_probe of the bright-field disk aligned in turn (inner pixels first).
        bins: detector binning factors used in turn (coarse groups first; the last one is the final
            resolution, 1 = every pixel); the radii run at the first factor, the others at the
            largest radius.
        iterations: most passes per (radius, bin) stage.
        tol: a stage ends when the predicted shifts change by less than ``tol`` scan pixels.
        lowpass: correlation band |q| ≤ lowpass·k_probe (> 0).
        higher_orders: after the quadratic fit, refit with coma C21, C23 and C30 (θ fixed).
        memory_budget: bytes (or '2G') for the image batches (default: accel policy, capped on CPU).
    Returns:
        :class:`~jaxem.phase.alignment.AberrationFit` (aberrations, θ, transpose, RMS residual [Å],
        per-pixel measured shifts [Å] in the scan frame, mask of the pixels used). ``metadata``-like
        diagnostics: ``residual`` is the RMS misfit of the group shifts to the model.
    """
    if not isinstance(stack, BFStack):
        raise validate.InputTypeError(f"stack must be a BFStack (phase.bright_field_stack), got {type(stack).__name__}")
    ab = geometry.check_aberrations(aberrations)
    theta = geometry.check_rotation(rotation, "rotation")
    radii = tuple(validate.scalar(r, "radii", lo=0, hi=1, lo_open=True, allow_traced=False) for r in np.atleast_1d(radii))
    bins = tuple(validate.integer(b, "bins", lo=1, hi=64) for b in np.atleast_1d(bins))
    iterations = validate.integer(iterations, "iterations", lo=1)
    tol = validate.scalar(tol, "tol", "px", positive=True, allow_traced=False)
    lowpass = validate.scalar(lowpass, "lowpass", positive=True, allow_traced=False)
    n, sy, sx = stack.vbf.shape
    if n < 6:
        raise validate.InputError(f"stack: the aberration fit needs ≥ 6 bright-field pixels, got {n}")
    d = np.asarray(stack.scan_sampling, np.float64)
    rdt = stack.vbf.dtype
    # the correlation band: |q| ≤ lowpass·k_probe, as rows/columns of the scan spectrum
    band = lowpass * stack.cutoff * d  # [cycles/px]
    iy = _band_indices(sy, int(np.ceil(band[0] * sy)) + 1)
    ix = np.arange(min(int(np.ceil(band[1] * sx)) + 1, sx // 2))  # half plane q_x ≥ 0
    qy = jnp.asarray(np.fft.fftfreq(sy)[iy], rdt)
    qx = jnp.asarray(np.fft.fftfreq(sx)[ix], rdt)
    cell = jnp.asarray([sy / iy.size, sx / (2 * ix.size)], rdt)
    _, cdt = accel.dtypes(rdt)
    per = (sy * sx * 3 + iy.size * ix.size) * np.dtype(cdt).itemsize
    F = _band_spectra(stack.vbf, jnp.asarray(iy), jnp.asarray(ix),
                      b=accel.batch_size(per, n, memory_budget, cpu_cap=CPU_BATCH_BYTES))
    k_det_j = stack.k_det
    k_det = np.asarray(k_det_j, np.float64)
    kabs = np.hypot(k_det[:, 0], k_det[:, 1])
    indices = np.asarray(stack.indices)
    lam = stack.wavelength
    pred = np.asarray(_predicted(ab, k_det_j, theta, lam, stack.transpose), np.float64)
    total = mask = last = None
    resid = np.nan
    for bi, bf in enumerate(bins):
        table, valid, group = _groups(indices, bf)
        n_groups = table.shape[0]
        for r in (radii if bi == 0 else radii[-1:]):
            mask = kabs <= r * stack.cutoff + 1e-12
            counts = np.bincount(group, weights=mask, minlength=n_groups)
            active = np.nonzero(counts > 0)[0]  # only the groups inside the radius are measured
            if active.size < 3 or mask.sum() < 6:
                continue
            kg = np.stack([np.bincount(group, weights=mask * k_det[:, i], minlength=n_groups) for i in (0, 1)],
                          -1)[active] / counts[active, None]
            table_j = jnp.asarray(table[active])
            weight_j = jnp.asarray((valid & mask[table])[active], rdt)
            where = np.full(n_groups, -1)
            where[active] = np.arange(active.size)
            b = accel.batch_size(6 * table.shape[1] * iy.size * ix.size * np.dtype(cdt).itemsize, active.size,
                                 memory_budget, cpu_cap=CPU_BATCH_BYTES)
            for _ in range(iterations):
                extra = np.asarray(_measure(F, jnp.asarray(pred / d, rdt), table_j, weight_j, qy, qx, cell, b=b),
                                   np.float64) * d
                predg = np.stack([np.bincount(group, weights=mask * pred[:, i], minlength=n_groups)
                                  for i in (0, 1)], -1)[active] / counts[active, None]
                ab, theta, resid = fit_linear_map(kg, predg + extra, lam, stack.transpose)
                new = np.asarray(_predicted(ab, k_det_j, theta, lam, stack.transpose), np.float64)
                change = np.max(np.abs((new - pred)[mask]) / d)
                total = np.where(mask[:, None], pred + extra[np.maximum(where[group], 0)], np.nan)
                pred = new
                last = mask
                if change < tol:
                    break
    if total is None:
        raise validate.InputError(f"radii: no stage had ≥ 6 bright-field pixels inside {radii} × k_probe")
    if higher_orders:
        k_scan = np.asarray(stack.k_scan(theta))[last]
        ab, resid = fit_higher_orders(k_scan, total[last], lam)
    return AberrationFit(ab, float(theta), stack.transpose, float(resid), jnp.asarray(total), jnp.asarray(last))
