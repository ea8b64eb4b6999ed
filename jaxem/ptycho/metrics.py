"""Figures of merit against a known specimen: the true phase of each reconstruction slice and
correlations.

For a simulated specimen with projected-potential slices v_j [V·Å] (:class:`~jaxem.potential.PotentialSlices`)
the phase that slice s of an S-slice reconstruction should hold is

    φ_s(r) = σ Σ_{j ∈ s} v_j(r),      j ∈ s  ⇔  ⌊j·S/N⌋ = s,

(σ the interaction constant of the beam; the N simulation slices grouped into S consecutive blocks),
band-limited and resampled onto the reconstruction grid by Fourier cropping/padding (exact for a
band-limited periodic function), optionally low-passed to the information limit θ_max/λ of the data
(the detector's largest angle: frequencies beyond it are in no pattern, so no method can be asked
for them). Correlations are Pearson coefficients, which ignore the constant
phase offset and the scale that ptychography cannot fix.
"""
from __future__ import annotations

import numpy as np

from .. import validate

__all__ = ["fourier_resample", "true_slice_phases", "correlation", "slice_correlations", "information_limit"]


def information_limit(ds) -> float:
    """Largest scattering angle [mrad] the patterns of a :class:`~jaxem.phase.Dataset4D` record along
    both detector axes (the half-width of the largest centred square: what
    :func:`~jaxem.ptycho.data.prepare` keeps)."""
    from ..phase.dataset import Dataset4D

    validate.instance(ds, "ds", Dataset4D, "a jaxem.phase.Dataset4D")
    ds.require("beam", "center", "detector_sampling")
    cy, cx = (float(c) for c in ds.center)
    ny, nx = ds.detector_shape
    half = min(cy, ny - 1 - cy, cx, nx - 1 - cx)
    dk = min(float(d) for d in ds.detector_sampling)
    return float(half * dk * ds.beam.wavelength * 1e3)


def fourier_resample(array, shape):
    """Periodic (…, ny, nx) real array resampled to (…, my, mx) over the same cell by cropping or
    zero-padding its centred spectrum (values preserved, not sums)."""
    a = np.asarray(validate.array(array, "array", min_ndim=2, kind="real"), np.float64)
    ny, nx = a.shape[-2:]
    my, mx = validate.pair(shape, "shape", "px", kind=int, lo=1)
    spec = np.fft.fftshift(np.fft.fft2(a), axes=(-2, -1))
    out = np.zeros(a.shape[:-2] + (my, mx), complex)
    cy, cx = ny // 2, nx // 2
    oy, ox = my // 2, mx // 2
    hy, hx = min(cy, oy), min(cx, ox)
    ey, ex = min(ny - cy, my - oy), min(nx - cx, mx - ox)
    out[..., oy - hy:oy + ey, ox - hx:ox + ex] = spec[..., cy - hy:cy + ey, cx - hx:cx + ex]
    # a kept Nyquist row/column of an even crop is unpaired: drop it (keeps the result real)
    if my < ny and my % 2 == 0:
        out[..., 0, :] = 0
    if mx < nx and mx % 2 == 0:
        out[..., :, 0] = 0
    return np.real(np.fft.ifft2(np.fft.ifftshift(out, axes=(-2, -1)))) * (my * mx) / (ny * nx)


def true_slice_phases(potential, beam, n_slices: int, shape, max_angle=None) -> np.ndarray:
    """(S, my, mx) true slice phases φ_s [rad] of ``potential`` (PotentialSlices) for ``beam``
    (:class:`~jaxem.beam.Beam` or energy) on an (my, mx) grid over the potential's cell.

    ``max_angle`` [mrad]: keep only the spatial frequencies |k| ≤ θ_max/λ (the information limit of a
    dataset whose detector ends at θ_max: no method can recover finer detail from it); None keeps
    every frequency of the (my, mx) grid."""
    from ..beam import as_beam
    from ..potential import PotentialSlices

    if not isinstance(potential, PotentialSlices):
        raise validate.InputTypeError(f"potential must be PotentialSlices, got {type(potential).__name__}")
    beam = as_beam(beam, "beam")
    seq = np.asarray(potential.sequence)
    n = len(seq)
    s = validate.integer(n_slices, "n_slices", lo=1, hi=n)
    v = np.real(np.asarray(potential.array, np.float64))
    block = (np.arange(n) * s) // n
    summed = np.stack([v[seq[block == b]].sum(0) for b in range(s)])
    out = fourier_resample(summed, shape)
    if max_angle is not None:
        kmax = validate.scalar(max_angle, "max_angle", "mrad", positive=True) * 1e-3 / beam.wavelength
        ly, lx = potential.grid.extent
        ky = np.fft.fftfreq(out.shape[-2], ly / out.shape[-2])
        kx = np.fft.fftfreq(out.shape[-1], lx / out.shape[-1])
        keep = (ky[:, None] ** 2 + kx[None, :] ** 2) <= kmax ** 2
        out = np.real(np.fft.ifft2(np.fft.fft2(out) * keep))
    return beam.sigma * out


def correlation(a, b, mask=None) -> float:
    """Pearson correlation of two equally shaped arrays (over ``mask`` if given)."""
    a = np.asarray(validate.array(a, "a", kind="real", min_size=2), np.float64)
    b = np.asarray(validate.array(b, "b", kind="real", min_size=2), np.float64)
    if a.shape != b.shape:
        raise validate.InputError(f"correlation needs equal shapes, got {a.shape} and {b.shape}")
    if mask is not None:
        m = np.asarray(validate.array(mask, "mask", shape=a.shape, ndim=a.ndim, kind="numeric"))
        if np.count_nonzero(m) < 2:
            raise validate.InputError(f"mask selects {np.count_nonzero(m)} pixel(s); a correlation needs at least 2")
        m = m.astype(bool)
        a, b = a[m], b[m]
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    den = np.sqrt(np.sum(a * a) * np.sum(b * b))
    if not den > 0:
        raise validate.InputError("correlation of a constant array (a or b) is undefined")
    return float(np.sum(a * b) / den)


def slice_correlations(phases, truth) -> list:
    """Correlation of each reconstructed slice phase (S, y, x) (array or Measurement) with the true
    slice phases (S, y, x)."""
    from ..measurement import Measurement

    p = validate.array(phases.array if isinstance(phases, Measurement) else phases, "phases", ndim=3, kind="real")
    t = validate.array(truth, "truth", ndim=3, kind="real")
    p, t = np.asarray(p), np.asarray(t)
    if p.shape != t.shape:
        raise validate.InputError(f"phases {p.shape} and truth {t.shape} differ in shape")
    return [correlation(p[i], t[i]) for i in range(p.shape[0])]
