"""Virtual bright-field stack: the part of the 4D data that direct phase retrieval uses.

Every direct method (SSB, OBF, parallax, upsampled variants) acts on G(q, k) = F_{r→q}[I(r, k)],
the 4D intensities Fourier-transformed over the scan, at bright-field pixels k only. A
:class:`BFStack` holds the normalised virtual bright-field (vBF) images

    v_k(r) = I(r, k) / I₀,   I₀ = mean over the scan of the total pattern intensity,

(one per bright-field pixel, shape (N_bf, scan_y, scan_x)), the detector-frame frequency of each
pixel [1/Å] and the static probe geometry. For a lazy (Dask) dataset only the bright-field pixels
are read, chunk by chunk, so data larger than memory is reduced to N_bf × N_scan numbers.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ..accel import dtypes_of, real_dtype
from . import geometry
from .dataset import Dataset4D


@struct.dataclass
class BFStack:
    """Normalised virtual bright-field images and their geometry.

    Attributes:
        vbf: (N, Sy, Sx) I(r, k)/I₀ [dimensionless].
        k_det: (N, 2) detector-frame frequencies (ky, kx) of the pixels [1/Å].
        indices: (N, 2) detector pixel indices (row, column) [px].
        scan_sampling: (dy, dx) scan step [Å] (static).
        wavelength: λ [Å] (static).
        cutoff: aperture radius [1/Å] (static).
        edge: aperture edge width [1/Å] (static).
        transpose: detector transpose (static).
        i0: mean total intensity per pattern [counts] (static).
    """

    vbf: jnp.ndarray
    k_det: jnp.ndarray
    indices: jnp.ndarray
    scan_sampling: tuple = struct.field(pytree_node=False)
    wavelength: float = struct.field(pytree_node=False)
    cutoff: float = struct.field(pytree_node=False)
    edge: float = struct.field(pytree_node=False)
    transpose: bool = struct.field(pytree_node=False, default=False)
    i0: float = struct.field(pytree_node=False, default=1.0)

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

    def probe_norm(self, aberrations=None):
        """Σ_BF |ψ(k)|² (aberrations do not change it) [dimensionless]."""
        k = jnp.sqrt(jnp.sum(self.k_det**2, -1))
        return jnp.sum(geometry.aperture(k, self.cutoff, self.edge) ** 2)


def bright_field_stack(ds: Dataset4D, threshold: float = 1e-3, edge=None, precision=None) -> BFStack:
    """Extract the normalised virtual bright-field stack of ``ds``.

    Args:
        ds: calibrated dataset (needs energy, semiangle, center, detector_sampling).
        threshold: minimum aperture amplitude of a bright-field pixel [0–1].
        edge: aperture edge width [1/Å] (default: one detector pixel).
        precision: 'float32' (default) or 'float64' (default follows a float64 input).
    """
    ds.require("energy", "semiangle", "center", "detector_sampling")
    if precision is None:
        dt = real_dtype("float64") if np.asarray([], ds.array.dtype).dtype == np.float64 else real_dtype(None)
    else:
        dt = real_dtype(precision)
    edge = float(np.mean(ds.detector_sampling)) if edge is None else float(edge)
    cutoff = ds.probe_cutoff
    idx = geometry.bright_field_pixels(ds.detector_shape, ds.center, ds.detector_sampling, cutoff, edge,
                                       threshold)
    ny, nx = ds.detector_shape
    max_k = min(ds.center[0], ny - 1 - ds.center[0], ds.center[1], nx - 1 - ds.center[1]) * min(ds.detector_sampling)
    if cutoff > max_k + 1e-9:
        raise ValueError(f"bright-field disk of radius {cutoff:.4g} 1/Å ({ds.semiangle:.4g} mrad) does not fit "
                         f"on the {ny}×{nx} detector around centre {ds.center} px (room for "
                         f"{max_k:.4g} 1/Å); check semiangle, center and detector_sampling")
    flat = idx[:, 0] * nx + idx[:, 1]
    arr = ds.array
    sy, sx = ds.scan_shape
    np_dt = np.dtype(dt)
    if ds.is_lazy:
        import dask
        import dask.array as da

        # each chunk's bright-field pixels are transposed and stored straight into the result (no
        # concatenated copy of the stack)
        a = arr.reshape(sy, sx, ny * nx)
        vbf = np.empty((flat.size, sy, sx), np_dt)
        stored = da.store(da.take(a, flat, axis=2).astype(np_dt).transpose(2, 0, 1), vbf, lock=False,
                          compute=False)
        _, total = dask.compute(stored, a.sum(axis=2, dtype=np.float64).mean())  # one pass over the chunks
    else:
        a = np.asarray(arr).reshape(sy, sx, ny * nx)
        vbf, total = np.take(a, flat, axis=2), a.sum(axis=2, dtype=np.float64).mean()  # take: fresh array
        vbf = np.ascontiguousarray(np.moveaxis(vbf, 2, 0), np_dt)
    total = float(total)
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"mean pattern intensity must be finite and > 0, got {total}")
    vbf /= np_dt.type(total)  # vbf is a fresh array: normalise in place
    vbf = jax.device_put(vbf)  # (jnp.asarray of a large host array peaks at ~3× its size)
    k_det = jnp.asarray(np.stack([(idx[:, 0] - ds.center[0]) * ds.detector_sampling[0],
                                  (idx[:, 1] - ds.center[1]) * ds.detector_sampling[1]], -1), dt)
    return BFStack(vbf, k_det, jnp.asarray(idx), ds.scan_sampling, ds.wavelength, cutoff, edge,
                   ds.transpose, total)


#: on CPU, batches larger than this working set [bytes] are memory-bound and slower (measured on the
#: 128²×64² benchmark: SSB 3.5 s at 128 BF pixels per batch vs 4.2 s at 1024; WDD 4.3 s at 64 scan
#: frequencies per batch vs 9.2 s at 4096); GPUs use the full budget
CPU_BATCH_BYTES = 64 * 2**20


def phase_batch_size(bytes_per_item: int, n_items: int, budget=None) -> int:
    """Batch size from the memory budget (``jaxem.accel.batch_size``), capped on CPU at
    :data:`CPU_BATCH_BYTES` of working set unless an explicit ``budget`` is given."""
    import jax

    from ..accel import batch_size

    b = batch_size(bytes_per_item, n_items, budget)
    if budget is None and jax.default_backend() == "cpu":
        b = max(1, min(b, CPU_BATCH_BYTES // max(1, int(bytes_per_item))))
    return b


def stack_dtypes(stack: BFStack):
    """(real, complex) dtypes of ``stack``."""
    return dtypes_of(stack.vbf)
