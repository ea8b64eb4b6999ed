"""Wigner-distribution deconvolution (WDD) with a Wiener (ε) regulariser.

With G(q, K) the 4D data Fourier-transformed over the scan (full detector; its scale cancels in
O/O(0), so it is not normalised), its inverse transform over the detector factorises (Rodenburg & Bates, Phil.
Trans. R. Soc. A 339 (1992) 521):

    H(ρ, q) = IFFT_K[G(q, K)](ρ) = W(ρ, q) · D(ρ, q),   W(ρ, q) = IFFT_K[ψ̂*(K) ψ̂(K − q)](ρ),
    D(ρ, q) = Σ_q'' O(q'' + q) O*(q'') e^{2πi q''·ρ},

so the deconvolution D ≈ W* H / (|W|² + ε) with ε = ε_rel·|W(0, 0)|² gives, summed over ρ, the
object spectrum O(q)·O*(0). The object is IFFT[O/O(0)] (complex; its phase is returned in rad).
ψ̂(K − q) is evaluated analytically at the scan-frame detector frequencies, so any detector rotation
works.

Exact savings (the result is the same as the direct per-frequency evaluation, which the tests keep
as a reference):

* the intensities are real, so G(−q, K) = G*(q, K): only the half plane q_x ≥ 0 is transformed
  (``rfft`` over the scan) and one detector transform serves q and −q,
  H(ρ, −q) = H*(−ρ, q);
* ψ̂*(K) ψ̂(K − q) vanishes for |q| > 2·k_probe + edge (the two apertures do not overlap), so W = 0
  and D = 0 there: those scan frequencies are not evaluated (O(q) = 0).

The remaining frequencies are processed in batches sized by the memory budget (``lax.map``).
The probe ψ(k) = A(λk)·exp(−iχ(k)) comes from :mod:`jaxem.optics` through :mod:`jaxem.phase.geometry`.

Non-finite values (dead/hot pixels, dropped frames) are masked as :mod:`jaxem.phase.masking`
describes: replaced by the pixel's mean over the scan, so they drop out of every q ≠ 0 term of G.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..optics.aberrations import Aberrations
from . import geometry, masking
from .dataset import Dataset4D
from .calibration import mean_pattern
from .stack import CPU_BATCH_BYTES, aperture_edge, check_disk, phase_precision


@partial(jax.jit, static_argnames=("b", "wavelength", "cutoff", "edge", "orders"))
def _wdd_pairs(Gh, idx, qs, ky, kx, ab, eps_rel, *, b, wavelength, cutoff, edge, orders=None):
    """O(q) and O(−q) for the half-plane frequencies ``qs`` (n, 2) [1/Å] stored at flat rows ``idx``
    of the half spectrum ``Gh`` (rows, ny, nx)."""
    ny, nx = ky.shape
    amp = geometry.aperture_amplitude(ky, kx, wavelength, cutoff, edge)
    scale = 1.0 / jnp.sum(amp**2)
    pk = geometry.probe_at(ab, ky, kx, wavelength, cutoff, edge, orders)
    cpk = jnp.conj(pk) * scale  # ψ̂*(K)·ψ̂(·) = ψ*ψ / Σ|ψ|²
    w00 = jnp.abs(jnp.fft.ifft2(cpk * pk)[0, 0])
    eps = eps_rel * w00**2

    def deconvolve(w, h):
        return jnp.sum(jnp.conj(w) * h / (jnp.real(w) ** 2 + jnp.imag(w) ** 2 + eps))

    def one(args):
        i, q = args
        h = jnp.fft.ifft2(Gh[i])
        w_p = jnp.fft.ifft2(cpk * geometry.probe_at(ab, ky - q[0], kx - q[1], wavelength, cutoff, edge, orders))
        # O(−q) = Σ_ρ W*(ρ, −q) H*(−ρ, q)/(|W|² + ε), summed over −ρ instead: W(−ρ, −q) is the
        # forward FFT / N (no flipped copy of H)
        w_m = jnp.fft.fft2(cpk * geometry.probe_at(ab, ky + q[0], kx + q[1], wavelength, cutoff, edge, orders))
        return deconvolve(w_p, h), deconvolve(w_m / (ny * nx), jnp.conj(h))

    return jax.lax.map(one, (idx, qs), batch_size=b)


def half_plane_frequencies(scan_shape, scan_sampling, qmax):
    """Scan frequencies that WDD evaluates: the rfft half plane (q_x ≥ 0) with |q| ≤ ``qmax`` [1/Å].

    Returns (flat index into the (Sy, Sx//2+1) half spectrum, (qy, qx) [1/Å], flat index of q and of
    −q in the full (Sy, Sx) grid) as NumPy arrays.
    """
    sy, sx = scan_shape
    qy = np.fft.fftfreq(sy, scan_sampling[0])
    qx = np.fft.rfftfreq(sx, scan_sampling[1])
    iy, ix = np.meshgrid(np.arange(sy), np.arange(qx.size), indexing="ij")
    keep = np.hypot(qy[iy], qx[ix]) <= qmax
    iy, ix = iy[keep], ix[keep]
    half = iy * qx.size + ix
    full = iy * sx + ix
    neg = ((-iy) % sy) * sx + ((-ix) % sx)
    return half, np.stack([qy[iy], qx[ix]], -1), full, neg


@validate.typed
def wdd(ds: Dataset4D, aberrations: Aberrations | None = None, rotation=None, epsilon: float = 1e-2,
        edge=None, memory_budget=None, return_complex: bool = False, precision=None):
    """WDD reconstruction of a calibrated dataset: phase [rad] (Sy, Sx) (or the complex object).

    All detector pixels are used at every scan frequency. In memory the working set is the data plus
    half its complex spectrum; a lazy (Dask/zarr) dataset is transformed in detector-row blocks sized
    by the memory budget and only the needed half-spectrum rows are kept (≈ 0.5–1× the float32
    data; a dataset much larger than memory would need an on-disk transpose, which is not done).
    Non-finite values are masked (module docstring); :func:`jaxem.phase.reconstruct` reports them.

    Args:
        ds: dataset with energy, semiangle, center, detector_sampling (and rotation/transpose).
        aberrations: probe aberrations (default ``ds.aberrations``).
        rotation: detector rotation θ [rad] (default ``ds.rotation``).
        epsilon: relative Wiener regulariser ε_rel (> 0; 1e-3…1e-1 typical).
        edge: aperture edge width [1/Å] (default one detector pixel).
        memory_budget: bytes (or '2G') for the batches (default: accel policy).
        return_complex: return O(r) instead of its phase.
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32; float64 data in JAX's
            64-bit mode → float64).
    """
    return wdd_with_report(ds, aberrations, rotation, epsilon, edge, memory_budget, return_complex, precision)[0]


def wdd_setup(ds: Dataset4D, aberrations, rotation, epsilon, edge, precision):
    """The checked inputs of a WDD run: (ε, aberrations, real dtype, edge [1/Å], scan-frame detector
    frequencies ky, kx [1/Å], :func:`half_plane_frequencies` of the band that WDD evaluates)."""
    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a Dataset4D, got {type(ds).__name__}")
    ds.require("beam", "semiangle", "center", "detector_sampling")
    epsilon = validate.scalar(epsilon, "epsilon", positive=True, allow_traced=False)
    check_disk(mean_pattern(ds), ds)  # the calibration against the measured bright-field disk
    ab = geometry.check_aberrations(aberrations, ds.aberrations)
    rot = geometry.check_rotation(ds.rotation if rotation is None else rotation)
    rdt, _ = accel.dtypes(phase_precision(precision, ds.array))
    edge = aperture_edge(edge, ds)
    sy, sx, ny, nx = ds.shape
    ky, kx = geometry.detector_frequencies((ny, nx), ds.center, ds.detector_sampling, rot, ds.transpose, rdt)
    # ψ̂*(K)ψ̂(K − q) ≠ 0 needs |K|, |K − q| < cutoff + edge/2; margin for rounding of the frequencies
    qmax = 2 * ds.probe_cutoff + edge + 1e-6 * ds.probe_cutoff
    return epsilon, ab, rdt, edge, ky, kx, half_plane_frequencies((sy, sx), ds.scan_sampling, qmax)


def wdd_with_report(ds: Dataset4D, aberrations=None, rotation=None, epsilon=1e-2, edge=None, memory_budget=None,
                    return_complex=False, precision=None):
    """:func:`wdd` and the :class:`~jaxem.phase.masking.BadData` that was masked."""
    epsilon, ab, rdt, edge, ky, kx, (half, qs, full, neg) = wdd_setup(ds, aberrations, rotation, epsilon, edge,
                                                                     precision)
    sy, sx, ny, nx = ds.shape
    if ds.is_lazy:
        Gh, bad = _lazy_half_spectrum(ds.array, half, rdt, memory_budget)
        rows = jnp.arange(half.size)
    else:
        arr = ds.array
        totals = np.sum(np.asarray(arr), axis=(2, 3), dtype=np.float64)
        gone = masking.missing_frames(totals) & np.isfinite(totals)  # non-finite frames: masked below
        if gone.any():  # empty frames: the mean pattern (excluded from every q ≠ 0 term), reported
            arr = np.array(arr, copy=True)
            arr[gone] = masking.scan(ds.array)[0].astype(arr.dtype)
        Gh, bad = _masked_half_spectrum(arr, rdt)
        if gone.any():
            bad = bad.with_missing(np.argwhere(gone))
        rows = jnp.asarray(half)
    # per scan frequency: H, two probe products and their transforms, the deconvolution terms and the
    # aperture/χ temporaries of two probe evaluations: ≈ 40 complex detector-sized arrays
    b = accel.batch_size(40 * ny * nx * np.dtype(Gh.dtype).itemsize, half.size, memory_budget,
                         cpu_cap=CPU_BATCH_BYTES)
    o_p, o_m = _wdd_pairs(Gh, rows, jnp.asarray(qs, rdt), ky, kx, ab, jnp.asarray(epsilon, rdt),
                          b=b, wavelength=ds.wavelength, cutoff=ds.probe_cutoff, edge=edge,
                          orders=geometry.active_orders(ab))
    O = jnp.zeros((sy * sx,), o_p.dtype).at[neg].set(o_m).at[full].set(o_p).reshape(sy, sx)
    obj = jnp.fft.ifft2(O / O[0, 0]) * (sy * sx)
    if return_complex:
        return obj, bad
    ph = jnp.angle(obj)
    return ph - jnp.mean(ph), bad


def _masked_half_spectrum(arr, rdt):
    """:func:`_half_spectrum` of in-memory data with its non-finite values masked (the q = 0 row,
    the per-pixel sums, reveals them at no extra cost)."""
    spec = _half_spectrum(jnp.asarray(arr, rdt))
    if not masking.can_hold_bad(arr) or bool(jnp.all(jnp.isfinite(spec[0]))):
        return spec, masking.BadData()
    means, _, bad = masking.scan(arr)
    return _half_spectrum(jnp.asarray(masking.fill(np.asarray(arr), means), rdt)), bad


def _lazy_half_spectrum(arr, half, rdt, memory_budget=None):
    """The rows ``half`` of :func:`_half_spectrum` for a lazy (Dask) array, detector rows block by
    block: memory holds one block of the data and the selected half spectrum (≈ 0.5–1× the float32
    data, instead of the data plus its spectrum). Each block reads the scan once (the chunks hold
    whole patterns), so the store is read ⌈ny / rows per block⌉ times. A block holds every scan
    position of its detector rows, so its non-finite values are masked with their exact pixel means."""
    sy, sx, ny, nx = arr.shape
    itemsize = np.dtype(rdt).itemsize
    per_row = sy * sx * nx * itemsize * 3  # real block + its complex half spectrum
    rows = int(max(1, min(ny, accel.memory_budget(memory_budget) // per_row)))
    _, cdt = accel.dtypes(rdt)
    out = np.empty((half.size, ny, nx), np.dtype(cdt))
    sel = jnp.asarray(half)
    check = masking.can_hold_bad(arr)
    frame_bad, pixel_bad = np.zeros((sy, sx), np.int64), np.zeros((ny, nx), np.int64)
    for r0 in range(0, ny, rows):  # I/O loop over detector-row blocks (a handful), not a hot path
        block = np.asarray(arr[:, :, r0:r0 + rows].compute(), np.dtype(rdt))
        spec = _half_spectrum(jnp.asarray(block))
        if check and not bool(jnp.all(jnp.isfinite(spec[0]))):
            sums, good, fb = masking.counts(block)
            frame_bad += fb
            pixel_bad[r0:r0 + rows] = sy * sx - good
            spec = _half_spectrum(jnp.asarray(masking.fill(block, np.where(good > 0, sums / np.maximum(good, 1), 0))))
        out[:, r0:r0 + rows] = np.asarray(spec[sel])
    bad = masking.BadData.from_counts(frame_bad, pixel_bad, sy * sx - pixel_bad)
    return jax.device_put(out), bad  # (jnp.asarray of a large host array peaks at ~3× its size)


@jax.jit
def _half_spectrum(data):
    """G(q, K) for q_x ≥ 0: rfft over the scan of I, as (Sy·(Sx//2+1), ny, nx). Not normalised by
    the mean pattern intensity: O(q) is linear in G and the result is O/O(0)."""
    sy, sx, ny, nx = data.shape
    return jnp.fft.rfftn(data, axes=(0, 1)).reshape(-1, ny, nx)
