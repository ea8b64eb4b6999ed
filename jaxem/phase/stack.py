"""Virtual bright-field stack: the part of the 4D data that direct phase retrieval uses.

Every direct method (SSB, OBF, parallax, upsampled variants) acts on G(q, k) = F_{r→q}[I(r, k)],
the 4D intensities Fourier-transformed over the scan, at bright-field pixels k only. A
:class:`BFStack` holds the normalised virtual bright-field (vBF) images

    v_k(r) = I(r, k) / I₀,   I₀ = mean over the scan of the total pattern intensity,

(one per bright-field pixel, shape (N_bf, scan_y, scan_x)), the detector-frame frequency of each
pixel [1/Å] and the static probe geometry. For a lazy (Dask) dataset only the bright-field pixels
are read, chunk by chunk, so data larger than memory is reduced to N_bf × N_scan numbers.

Non-finite values are masked as :mod:`jaxem.phase.masking` describes (replaced by the pixel's mean
over the scan, so they drop out of every q ≠ 0 term; pixels bad in every frame are dropped from the
stack) and reported in :attr:`BFStack.bad`.

Batch sizes: every kernel of the package declares its working set per batch item and calls
:func:`jaxem.accel.batch_size` with ``cpu_cap=`` :data:`CPU_BATCH_BYTES`.
"""
from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..beam import Beam
from . import geometry, masking
from .dataset import Dataset4D

#: on CPU, batches larger than this working set [bytes] are memory-bound and slower (measured on the
#: 128²×64² benchmark: SSB 3.5 s at 128 BF pixels per batch vs 4.2 s at 1024; WDD 4.3 s at 64 scan
#: frequencies per batch vs 9.2 s at 4096); GPUs use the full budget. Passed as ``cpu_cap`` to
#: :func:`jaxem.accel.batch_size` (an explicit ``memory_budget`` lifts it).
CPU_BATCH_BYTES = 64 * 2**20


@pytree.dataclass
class BFStack:
    """Normalised virtual bright-field images and their geometry.

    Attributes:
        vbf: (N, Sy, Sx) I(r, k)/I₀ [dimensionless].
        k_det: (N, 2) detector-frame frequencies (ky, kx) of the pixels [1/Å].
        indices: (N, 2) detector pixel indices (row, column) [px].
        scan_sampling: (dy, dx) scan step [Å] (static).
        beam: the :class:`~jaxem.beam.Beam` (static).
        cutoff: aperture radius k_probe [1/Å] (static).
        edge: aperture edge width [1/Å] (static).
        transpose: detector transpose (static).
        i0: mean total intensity per pattern [counts] (static).
        bad: the non-finite values that were masked (:class:`~jaxem.phase.masking.BadData`, static).
        scan_origin: (y, x) [Å] of the first scan position (static; the dataset's ``scan_origin``).
    """

    vbf: jnp.ndarray
    k_det: jnp.ndarray
    indices: jnp.ndarray
    scan_sampling: tuple = pytree.field(static=True, units="Å")
    beam: Beam = pytree.field(static=True)
    cutoff: float = pytree.field(static=True, units="1/Å")
    edge: float = pytree.field(static=True, units="1/Å")
    transpose: bool = pytree.field(static=True, default=False)
    i0: float = pytree.field(static=True, default=1.0)
    bad: masking.BadData = pytree.field(static=True, default_factory=masking.BadData)
    scan_origin: tuple = pytree.field(static=True, units="Å", default=(0.0, 0.0))

    @property
    def wavelength(self) -> float:
        """λ [Å] (from the beam)."""
        return self.beam.wavelength

    @property
    def n_bf(self) -> int:
        return int(self.vbf.shape[0])

    @property
    def scan_shape(self):
        return tuple(self.vbf.shape[1:])

    def k_scan(self, rotation):
        """Scan-frame frequencies (N, 2) [1/Å] for detector rotation θ [rad]."""
        ky, kx = geometry.rotate_frequencies(self.k_det[:, 0], self.k_det[:, 1],
                                             jnp.asarray(rotation, self.k_det.dtype), self.transpose)
        return jnp.stack([ky, kx], -1)

    def spectrum(self):
        """G(q, k) (N, Sy, Sx) complex: FFT over the scan of each vBF with its mean removed."""
        v = self.vbf - jnp.mean(self.vbf, axis=(1, 2), keepdims=True)
        return jnp.fft.fft2(v)

    def probe_norm(self):
        """Σ_BF |A(λk)|² (aberrations do not change it) [dimensionless]."""
        return jnp.sum(geometry.aperture_amplitude(self.k_det[:, 0], self.k_det[:, 1], self.wavelength,
                                                   self.cutoff, self.edge) ** 2)


def phase_precision(precision, array) -> str:
    """The precision of a phase computation: ``precision`` (any alias of
    :data:`jaxem.accel.PRECISION_ALIASES`) if given, else that of ``array`` (float64 data run in
    float64 when JAX's 64-bit mode is on, else in float32: :func:`jaxem.accel.select_precision`)."""
    return accel.select_precision(precision, array)


def aperture_edge(edge, ds: Dataset4D) -> float:
    """Aperture edge width [1/Å]: ``edge`` (> 0) or one detector pixel."""
    if edge is None:
        return float(np.mean(ds.detector_sampling))
    return validate.scalar(edge, "edge", "1/Å", positive=True, allow_traced=False)


def check_disk(mean_pattern, ds: Dataset4D, tolerance: float = 0.2):
    """Compare the calibration with the bright-field (BF) disk measured in ``mean_pattern`` (ky, kx).

    Raises when the disk radius predicted by ``semiangle`` / ``detector_sampling`` differs from the
    measured one by more than ``tolerance`` (relative; a 10× slip in either is caught), or when
    ``center`` [px] is further than max(2 px, 0.15·radius) from the measured disk centre. Warns when the
    mean pattern has no BF disk (flat, empty or constant data): the calibration cannot be checked and
    the data carry no bright-field contrast."""
    from .calibration import find_bright_field

    try:
        disk = find_bright_field(mean_pattern)
    except validate.InputError as err:
        warnings.warn(f"ds.array: no bright-field disk in the mean pattern ({err}); the calibration (semiangle, "
                      f"detector_sampling, center) cannot be checked against the data, and a phase image from "
                      f"data without a disk is meaningless", UserWarning, stacklevel=3)
        return
    if ds.semiangle is not None and ds.detector_sampling is not None and ds.beam is not None:
        predicted = ds.probe_cutoff / float(np.mean(ds.detector_sampling))
        if abs(disk.radius / predicted - 1) > tolerance:
            raise validate.InputError(
                f"detector_sampling/semiangle: the bright-field disk of the data has radius {disk.radius:.3g} px, "
                f"but semiangle {ds.semiangle:.4g} mrad with detector_sampling {tuple(ds.detector_sampling)} 1/Å "
                f"predicts {predicted:.3g} px on the {ds.detector_shape[0]}×{ds.detector_shape[1]} detector; check "
                f"the calibration (or calibrate it: calibration.calibrate_bright_field)")
    if ds.center is not None:
        off = float(np.hypot(disk.center[0] - ds.center[0], disk.center[1] - ds.center[1]))
        if off > max(2.0, 0.15 * disk.radius):
            raise validate.InputError(
                f"center: the bright-field disk of the data is centred at ({disk.center[0]:.2f}, "
                f"{disk.center[1]:.2f}) px, {off:.3g} px from center={tuple(ds.center)} px (allowed "
                f"{max(2.0, 0.15 * disk.radius):.3g} px); check center (or run calibration.calibrate_bright_field)")


def check_saturation(values, dtype, name: str = "ds.array", limit: float = 0.01):
    """Warn when the detector looks saturated: more than ``limit`` of ``values`` (bright-field pixels ×
    scan positions) sit at the maximum of an integer ``dtype`` (255, 65535, …), or — for data that are
    not low counts (max ≥ 50 or not integer-valued) — exactly at the data maximum in several frames
    (≥ 1 % of them) while the same pixels lie below it in others (a clipped plateau; a pixel flat at the
    maximum over the whole scan, as in a noise-free vacuum disk, or the one brightest frame of a flat
    disk, is not). Saturated pixels lose the bright-field contrast the
    phase methods use."""
    v = np.asarray(values)
    if v.size == 0:
        return
    vmax = v.max()
    if not np.isfinite(vmax) or vmax <= 0:
        return
    frac = float(np.count_nonzero(v == vmax)) / v.size
    dt = np.dtype(dtype)
    at_dtype_max = dt.kind in "iu" and vmax == np.iinfo(dt).max
    sample = v.ravel()[: min(v.size, 100000)]
    low_counts = vmax < 50 and np.all(sample == np.round(sample))
    # a clipped pixel sits at the maximum in some frames and below it in others; a pixel at the maximum in
    # every frame (a noise-free vacuum disk, a constant cube) is flat, not clipped
    # (the same plateau in several frames: one brightest frame of a noise-free flat disk is not clipped)
    rows = v.reshape(v.shape[0], -1) if v.ndim > 1 else v.reshape(1, -1)
    at = rows == vmax
    hit = at.any(axis=1)
    n_frames = int(np.count_nonzero(at.any(axis=0)))
    clipped = bool(np.any(rows[hit].min(axis=1) < vmax)) and n_frames >= max(2, 0.01 * rows.shape[1])
    if frac > limit and (at_dtype_max or (clipped and not low_counts)):
        what = f"the {dt} maximum {vmax:g}" if at_dtype_max else f"the data maximum {vmax:.6g}"
        warnings.warn(f"{name}: {100 * frac:.3g} % of the bright-field values sit at {what} (a saturated or clipped "
                      f"detector, limit {100 * limit:g} %); the clipped disk loses the phase contrast — reduce the "
                      f"dose/exposure or mask the saturated pixels", UserWarning, stacklevel=3)


@validate.typed
def bright_field_stack(ds: Dataset4D, threshold: float | None = None, edge=None, precision=None) -> BFStack:
    """Extract the normalised virtual bright-field stack of ``ds``.

    Args:
        ds: calibrated dataset (needs energy, semiangle, center, detector_sampling).
        threshold: minimum aperture amplitude A(λk) of a bright-field pixel, in (0, 1); default 1e-3,
            or 0.5 for data resampled by :func:`~jaxem.phase.remove_descan` (interpolating the sharp
            disk edge leaves errors in the outer pixels that swamp the weak-object signal there:
            measured, OBF correlation 0.48 with them, 0.88 without; ``tests/phase/test_peer_diff.py``).
        edge: aperture edge width [1/Å] (default: one detector pixel).
        precision: any alias of ``accel.PRECISION_ALIASES`` (default: float32, float64 for float64
            data in JAX's 64-bit mode).
    """
    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a Dataset4D, got {type(ds).__name__}")
    ds.require("beam", "semiangle", "center", "detector_sampling")
    if threshold is None:
        threshold = 0.5 if "descan_removed" in ds.metadata else 1e-3
    threshold = validate.scalar(threshold, "threshold", lo=0, hi=1, lo_open=True, hi_open=True, allow_traced=False)
    edge = aperture_edge(edge, ds)
    dt, _ = accel.dtypes(phase_precision(precision, ds.array))
    np_dt = np.dtype(dt)
    cutoff = ds.probe_cutoff
    idx = geometry.bright_field_pixels(ds.detector_shape, ds.center, ds.detector_sampling, ds.wavelength,
                                       cutoff, edge, threshold)
    ny, nx = ds.detector_shape
    max_k = min(ds.center[0], ny - 1 - ds.center[0], ds.center[1], nx - 1 - ds.center[1]) * min(ds.detector_sampling)
    if cutoff > max_k + 1e-9:
        raise validate.InputError(
            f"semiangle: the bright-field disk of radius {cutoff:.4g} 1/Å ({ds.semiangle:.4g} mrad) does not "
            f"fit on the {ny}×{nx} detector around centre {ds.center} px (room for {max_k:.4g} 1/Å); check "
            f"semiangle, center and detector_sampling")
    flat = idx[:, 0] * nx + idx[:, 1]
    arr = ds.array
    sy, sx = ds.scan_shape
    if ds.is_lazy:
        import dask
        import dask.array as da

        # each chunk's bright-field pixels are transposed and stored straight into the result (no
        # concatenated copy of the stack); the per-pixel sums come from the same pass over the chunks
        a = arr.reshape(sy, sx, ny * nx)
        vbf = np.empty((flat.size, sy, sx), np_dt)
        stored = da.store(da.take(a, flat, axis=2).astype(np_dt).transpose(2, 0, 1), vbf, lock=False,
                          compute=False)
        _, pixel_sums = dask.compute(stored, arr.sum(axis=(0, 1), dtype=np.float64))
    else:
        a = np.asarray(arr).reshape(sy, sx, ny * nx)
        vbf = np.ascontiguousarray(np.moveaxis(np.take(a, flat, axis=2), 2, 0), np_dt)  # take: fresh array
        pixel_sums = a.reshape(sy * sx, ny * nx).sum(axis=0, dtype=np.float64)
    bad = masking.BadData()
    means = np.asarray(pixel_sums, np.float64).reshape(ny * nx) / (sy * sx)
    if not np.all(np.isfinite(means)):  # a NaN/inf somewhere: find and mask it (masking module)
        m, good, bad = masking.scan(arr)
        means = m.reshape(-1)
        np.copyto(vbf, means[flat].astype(np_dt)[:, None, None], where=~np.isfinite(vbf))
        keep = good.reshape(-1)[flat] > 0  # pixels bad in every frame leave the stack
        if not keep.any():
            raise validate.InputError(f"ds.array: every bright-field pixel is non-finite in every frame ({bad})")
        vbf, idx = vbf[keep], idx[keep]
    total = float(np.sum(means))
    if not np.isfinite(total) or total <= 0:
        raise validate.InputError(f"ds.array: the mean pattern intensity must be finite and > 0, got {total}")
    # missing (empty) frames: their bright-field total is ~0; replaced by the pixel means, reported
    gone = masking.missing_frames(vbf.sum(0, dtype=np.float64))
    if gone.any():
        vbf[:, gone] = means[flat][:, None].astype(np_dt)
        bad = bad.with_missing(np.argwhere(gone))
    check_disk(means.reshape(ny, nx), ds)
    check_saturation(vbf, arr.dtype)
    vbf /= np_dt.type(total)  # vbf is a fresh array: normalise in place
    vbf = jax.device_put(vbf)  # (jnp.asarray of a large host array peaks at ~3× its size)
    k_det = jnp.asarray(np.stack([(idx[:, 0] - ds.center[0]) * ds.detector_sampling[0],
                                  (idx[:, 1] - ds.center[1]) * ds.detector_sampling[1]], -1), dt)
    return BFStack(vbf, k_det, jnp.asarray(idx), ds.scan_sampling, ds.beam, cutoff, edge, ds.transpose, total,
                   bad, scan_origin=ds.scan_origin)

