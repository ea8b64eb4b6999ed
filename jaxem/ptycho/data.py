"""Ptychographic data: diffraction amplitudes in the scan frame, probe positions and the geometry of
the reconstruction grid, prepared once from any :class:`~jaxem.phase.Dataset4D`.

From a calibrated dataset (energy, semi-angle, detector sampling dk [1/Å], pattern centre [px],
rotation θ [rad], transpose; :mod:`jaxem.phase.geometry` conventions) :func:`prepare`

* turns the detector into the scan frame (an exact transpose / quarter turn, or a cubic-spline
  resampling for any other θ, recorded in ``report``);
* crops every pattern to the largest square of N_d × N_d pixels centred on the unscattered beam
  (the centre at pixel N_d//2; a fractional centre is moved there by a spline shift, recorded);
* masks bad values (the house NaN policy): a detector pixel that is non-finite in more than half of
  the frames is a dead pixel and leaves the loss; every other frame with a non-finite value is
  dropped (weight 0); both are listed in ``report``;
* normalises the intensities by their mean total per frame (``scale``), so the probe carries unit
  intensity, and keeps the amplitudes √I.

The reconstruction grid: the model computes exit waves on a window of N_w ≥ ``oversampling``·N_d
pixels (FFT-friendly) with the detector's reciprocal sampling dk, i.e. real-space pixels
s = 1/(N_w·dk) [Å], and compares the central N_d × N_d frequencies with the data. With
``oversampling`` = 1.5 jaxem's 2/3-Nyquist anti-alias aperture of the slice step passes every
detector frequency along the axes; the detector corners beyond it (and, for smaller oversampling,
every pixel beyond the aperture) leave the loss (``detector_mask``). The object either spans the
scanned field plus one window (``object_extent=None``) or is a periodic cell of the given extent
(simulated crystals: the cell of the simulation, ``object_extent = 1/dk``).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..beam import Beam
from ..grid import Grid, next_fft_size

__all__ = ["Geometry", "PtychoData", "prepare", "scan_frame_patterns"]


@pytree.dataclass
class Geometry:
    """Static description of the reconstruction grid (hashable: a static argument of ``jit``).

    Attributes:
        beam: the :class:`~jaxem.beam.Beam`.
        window: (N_wy, N_wx) model window [px].
        sampling: (sy, sx) real-space pixel of object and window [Å].
        detector: (N_dy, N_dx) detector pixels compared with the data (centre at N_d//2).
        object_shape: (O_y, O_x) object pixels.
        periodic: the object is a periodic cell (window indices wrap around it).
        origin: (y, x) [Å] of object pixel (0, 0) in scan coordinates.
        semiangle: probe semi-angle [mrad]; edge_width: aperture edge [mrad].
    """

    beam: Beam = pytree.field(static=True)
    window: tuple = pytree.field(static=True, units="px")
    sampling: tuple = pytree.field(static=True, units="Å")
    detector: tuple = pytree.field(static=True, units="px")
    object_shape: tuple = pytree.field(static=True, units="px")
    periodic: bool = pytree.field(static=True, default=False)
    origin: tuple = pytree.field(static=True, units="Å", default=(0.0, 0.0))
    semiangle: float = pytree.field(static=True, units="mrad", default=20.0)
    edge_width: float = pytree.field(static=True, units="mrad", default=0.0)

    def __post_init__(self):
        validate.instance(self.beam, "beam", Beam, "a jaxem Beam (e.g. jaxem.as_beam('300 kV'))")
        fix = {"window": validate.pair(self.window, "window", "px", kind=int, lo=1),
               "sampling": validate.pair(self.sampling, "sampling", "Å", positive=True),
               "detector": validate.pair(self.detector, "detector", "px", kind=int, lo=1),
               "object_shape": validate.pair(self.object_shape, "object_shape", "px", kind=int, lo=1),
               "origin": validate.pair(self.origin, "origin", "Å"),
               "semiangle": validate.scalar(self.semiangle, "semiangle", "mrad", positive=True),
               "edge_width": validate.scalar(self.edge_width, "edge_width", "mrad", nonnegative=True)}
        validate.instance(self.periodic, "periodic", (bool, np.bool_), "True or False")
        fix["periodic"] = bool(self.periodic)
        if any(d > w for d, w in zip(fix["detector"], fix["window"])):
            raise validate.InputError(f"detector {fix['detector']} px must fit in the model window "
                                      f"{fix['window']} px")
        for k, v in fix.items():
            object.__setattr__(self, k, v)

    @property
    def grid(self) -> Grid:
        """The window's :class:`~jaxem.grid.Grid`."""
        return Grid(gpts=self.window, sampling=self.sampling)

    @property
    def detector_indices(self):
        """FFT-order frequency indices (rows, cols) of the detector pixels on the window grid."""
        return tuple(((np.arange(d) - d // 2) % w).astype(np.int32) for d, w in zip(self.detector, self.window))

    def detector_mask(self, dtype=np.float32) -> np.ndarray:
        """(N_dy, N_dx) weights: 1 where the slice step's anti-alias aperture passes the frequency
        (> 0.999), else 0 (those pixels cannot be modelled and leave the loss)."""
        ap = np.asarray(self.grid.antialias_aperture(jnp.float32))
        r, c = self.detector_indices
        return (ap[np.ix_(r, c)] > 0.999).astype(dtype)


@pytree.dataclass
class PtychoData:
    """Prepared data (arrays are leaves; ``geometry`` and the report are static).

    Attributes:
        amplitudes: (P, N_dy, N_dx) √(I/scale), centred, scan frame, 0 where masked.
        positions: (P, 2) nominal probe positions (y, x) [Å] relative to the object origin.
        weights: (P,) 1 for good frames, 0 for dropped ones.
        detector_mask: (N_dy, N_dx) 1 for pixels in the loss.
        geometry: :class:`Geometry`.
        scale: mean total intensity per frame [counts] (data units per unit probe intensity).
        scan_shape: (S_y, S_x) of a grid scan, or (P,) for a list of positions.
        report: JSON-ready record of what preparation did (resampling, crop, masked values).
    """

    amplitudes: Any
    positions: Any
    weights: Any
    detector_mask: Any
    geometry: Geometry = pytree.field(static=True)
    scale: float = pytree.field(static=True, default=1.0)
    scan_shape: tuple = pytree.field(static=True, default=())
    report: dict = pytree.field(static=True, default_factory=dict, compare=False)

    @property
    def n_positions(self) -> int:
        return int(self.amplitudes.shape[0])

    @property
    def total_intensity(self) -> float:
        """Σ over good frames and loss pixels of I/scale (the normaliser of the amplitude error)."""
        a = np.asarray(self.amplitudes, np.float64)
        return float(np.sum(a ** 2 * np.asarray(self.detector_mask)[None] * np.asarray(self.weights)[:, None, None]))


def scan_frame_patterns(patterns, center, rotation: float, transpose: bool):
    """Patterns (…, ny, nx) resampled so that pixel k shows the intensity at scan-frame frequency k
    about ``center`` (cy, cx) [px]: the inverse of the detector orientation k = R(θ)·T·k_det
    (:mod:`jaxem.phase.geometry`). Quarter turns and the transpose are exact index operations;
    other angles use cubic splines (scipy). Returns (array, how) with ``how`` one of ``"none"``,
    ``"exact"``, ``"spline"``."""
    p = np.asarray(validate.array(patterns, "patterns", min_ndim=2, kind="real", finite=False))
    center = validate.pair(center, "center", "px")
    theta = validate.scalar(rotation, "rotation", "rad")
    validate.instance(transpose, "transpose", (bool, np.bool_), "True or False")
    quarter = theta / (np.pi / 2)
    if not transpose and abs(theta) < 1e-12:
        return p, "none"
    ny, nx = p.shape[-2:]
    cy, cx = center
    # scan-frame pixel (y, x) ← detector pixel k_det = T⁻¹ R(−θ) k (k relative to the centre)
    y, x = np.meshgrid(np.arange(ny) - cy, np.arange(nx) - cx, indexing="ij")
    c, s = np.cos(theta), np.sin(theta)
    # R(−θ): kx' = c·kx + s·ky, ky' = −s·kx + c·ky
    kx_d, ky_d = c * x + s * y, -s * x + c * y
    if transpose:
        kx_d, ky_d = ky_d, kx_d
    rows, cols = ky_d + cy, kx_d + cx
    if abs(quarter - round(quarter)) < 1e-9:
        ri, ci = np.rint(rows).astype(int), np.rint(cols).astype(int)
        inside = (ri >= 0) & (ri < ny) & (ci >= 0) & (ci < nx)
        out = np.zeros_like(p)
        out[..., inside] = p[..., ri[inside], ci[inside]]
        return out, "exact"
    from scipy import ndimage

    flat = p.reshape((-1, ny, nx))
    out = np.stack([ndimage.map_coordinates(f, [rows, cols], order=3, mode="constant") for f in flat])
    return out.reshape(p.shape), "spline"


def _bad_values(data):
    """(dead-pixel mask (ny, nx), bad frames (P,) bool, counts) of the non-finite values."""
    finite = np.isfinite(data)
    if finite.all():
        return np.zeros(data.shape[1:], bool), np.zeros(data.shape[0], bool), 0
    frac_bad = 1.0 - finite.mean(axis=0)
    dead = frac_bad > 0.5
    bad_frames = ~finite[:, ~dead].all(axis=1)
    return dead, bad_frames, int((~finite).sum())


def prepare(dataset, oversampling: float = 1.5, object_extent=None, positions=None, scan_origin=None,
            padding: int = 0, precision=None) -> PtychoData:
    """:class:`PtychoData` from a calibrated :class:`~jaxem.phase.Dataset4D` (see module docstring).

    Args:
        dataset: Dataset4D with energy, semiangle, center and detector_sampling (``calibrate_bright_field``
            finds the last three for measured data).
        oversampling: window size / detector size (≥ 1; 1.5 models every detector pixel along the axes).
        object_extent: (Ly, Lx) [Å] of a periodic object cell (e.g. a simulated supercell), or None.
        positions: optional (S_y, S_x, 2) or (P, 2) probe positions (y, x) [Å] (default: the scan
            grid ``scan_origin + index·scan_sampling``).
        scan_origin: (y, x) [Å] of the first scan position (default: ``dataset.scan_origin``).
        padding: extra object pixels on each side (non-periodic object).
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32).
    """
    from ..phase.dataset import Dataset4D

    if not isinstance(dataset, Dataset4D):
        raise validate.InputTypeError(f"dataset must be a jaxem.phase.Dataset4D, got {type(dataset).__name__}")
    dataset.require("beam", "semiangle", "center", "detector_sampling")
    ov = validate.scalar(oversampling, "oversampling", "", lo=1.0, hi=4.0)
    padding = validate.integer(padding, "padding", lo=0)
    rdtype, _ = accel.dtypes(precision)
    data = np.asarray(dataset.array, np.float64 if rdtype == jnp.float64 else np.float32)
    sy, sx = dataset.scan_shape
    data = data.reshape((sy * sx,) + data.shape[2:])
    report: dict = {}

    dead, bad_frames, n_bad = _bad_values(data)
    if n_bad:
        report["bad_values"] = {"count": n_bad, "dead_pixels": np.argwhere(dead).tolist(),
                                "dropped_frames": np.flatnonzero(bad_frames).tolist()}
    if bad_frames.all():
        raise validate.InputError(f"dataset.array: every frame holds non-finite values ({n_bad} in all); nothing "
                                  f"is left to reconstruct")
    data = np.where(np.isfinite(data), data, 0.0).astype(data.dtype)
    n_neg = int((data < 0).sum())
    if n_neg:
        report["negative_values_clipped"] = n_neg
        data = np.maximum(data, 0)

    cy, cx = dataset.center
    data, how = scan_frame_patterns(data, (cy, cx), dataset.rotation, dataset.transpose)
    dead, _ = scan_frame_patterns(dead.astype(np.float32), (cy, cx), dataset.rotation, dataset.transpose)
    dead = np.asarray(dead) > 0.5
    if how != "none":
        report["orientation"] = {"rotation": {"value": float(dataset.rotation), "units": "rad"},
                                 "transpose": bool(dataset.transpose), "resampling": how}
    ny, nx = data.shape[-2:]
    iy, ix = int(round(cy)), int(round(cx))
    if abs(cy - iy) > 1e-6 or abs(cx - ix) > 1e-6:
        from scipy import ndimage

        data = np.stack([ndimage.shift(f, (iy - cy, ix - cx), order=3, mode="constant") for f in data])
        report["centre_shift_px"] = [iy - cy, ix - cx]
    h = min(iy, ix, ny - 1 - iy, nx - 1 - ix)
    if h < 2:
        raise validate.InputError(f"dataset.center {dataset.center} px lies within 2 px of the {ny}×{nx} detector "
                                  f"edge: no centred pattern is left")
    nd = 2 * h + 1
    data = data[:, iy - h:iy + h + 1, ix - h:ix + h + 1]
    dead = dead[iy - h:iy + h + 1, ix - h:ix + h + 1]
    if (nd, nd) != (ny, nx):
        report["detector_crop"] = {"from": [ny, nx], "to": [nd, nd], "center": [iy, ix]}

    # ---- grid --------------------------------------------------------------------------------------
    nw = next_fft_size(int(math.ceil(ov * nd)))
    dky, dkx = dataset.detector_sampling
    samp = (1.0 / (nw * dky), 1.0 / (nw * dkx))
    beam = dataset.beam
    if beam.mrad_to_frequency(dataset.semiangle) >= h * min(dky, dkx):
        raise validate.InputError(f"dataset.semiangle {dataset.semiangle} mrad reaches beyond the centred "
                                  f"{nd}×{nd} detector (±{beam.frequency_to_mrad(h * min(dky, dkx)):.4g} mrad)")

    # overlap: the probe's radius ≈ geometric defocus disk |C10|·α + Airy radius 0.61·λ/α [Å]; with a scan
    # step beyond its diameter neighbouring illuminated areas do not overlap and ptychography is ill-posed
    alpha = dataset.semiangle * 1e-3
    c10 = dataset.aberrations.C10
    r_probe = abs(float(c10 if not validate.is_traced(c10) else 0.0)) * alpha + 0.61 * beam.wavelength / alpha
    step = max(dataset.scan_sampling)
    if step > 2 * r_probe:
        warnings.warn(f"dataset.scan_sampling: the scan step {step:.4g} Å exceeds the probe diameter ≈ "
                      f"{2 * r_probe:.3g} Å (2·(|C10|·α + 0.61·λ/α) with C10 = {float(c10):.4g} Å, α = "
                      f"{dataset.semiangle:g} mrad): neighbouring probe positions do not overlap, so the object "
                      f"between them is constrained only by the detector; defocus the probe or scan finer (or "
                      f"check scan_sampling: nm given as Å?)", UserWarning, stacklevel=2)

    if positions is None:
        o = validate.pair(dataset.scan_origin if scan_origin is None else scan_origin, "scan_origin", "Å")
        gy, gx = np.meshgrid(np.arange(sy) * dataset.scan_sampling[0] + o[0],
                             np.arange(sx) * dataset.scan_sampling[1] + o[1], indexing="ij")
        pos = np.stack([gy.ravel(), gx.ravel()], -1)
        scan_shape = (sy, sx)
    else:
        pos = np.asarray(validate.array(positions, "positions", kind="real", units="Å"), np.float64)
        if pos.shape not in ((sy, sx, 2), (sy * sx, 2)):
            raise validate.InputError(f"positions must have shape ({sy}, {sx}, 2) or ({sy * sx}, 2) (y, x) [Å] to "
                                      f"match the {sy}×{sx} scan, got {pos.shape}")
        pos = pos.reshape((-1, 2))
        scan_shape = (sy * sx,)

    if object_extent is not None:
        ext = validate.pair(object_extent, "object_extent", "Å", positive=True)
        oshape = tuple(int(round(e / s)) for e, s in zip(ext, samp))
        for e, n, s in zip(ext, oshape, samp):
            if abs(n * s - e) > 1e-3 * e:
                raise validate.InputError(f"object_extent {ext} Å is not a whole number of the {samp} Å pixels "
                                          f"(1/(N_w·dk), N_w = {nw}); for a simulated cell use 1/detector_sampling")
        periodic, origin = True, (0.0, 0.0)
    else:
        lo, hi = pos.min(0), pos.max(0)
        origin = tuple(float(lo[i] - (nw // 2 + padding) * samp[i]) for i in range(2))
        oshape = tuple(int(math.ceil((hi[i] - lo[i]) / samp[i])) + nw + 2 * padding + 1 for i in range(2))
        periodic = False
    validate.allocation(oshape, "object (scan field + window)", oshape, "px")

    geometry = Geometry(beam=beam, window=(nw, nw), sampling=samp, detector=(nd, nd), object_shape=oshape,
                        periodic=periodic, origin=origin, semiangle=float(dataset.semiangle))
    weights = (~bad_frames).astype(data.dtype)
    totals = data.sum(axis=(1, 2))
    scale = float(np.sum(totals * weights) / np.sum(weights))
    if not scale > 0:
        raise validate.InputError("dataset.array: the good frames hold no intensity (all zero)")
    mask = geometry.detector_mask(data.dtype) * (~dead)
    kk = np.hypot(*np.meshgrid((np.arange(nd) - h) * dky, (np.arange(nd) - h) * dkx, indexing="ij"))
    bf = kk < beam.mrad_to_frequency(dataset.semiangle)
    if dead[bf].mean() > 0.5:
        raise validate.InputError(f"dataset.array: {int(dead[bf].sum())} of the {int(bf.sum())} bright-field pixels "
                                  f"are non-finite in most frames (dead); nothing reliable is left to reconstruct")
    # spline resampling may undershoot below 0; masked pixels and dropped frames hold 0 (as documented)
    amps = np.sqrt(np.maximum(data, 0) / scale) * mask[None] * weights[:, None, None]
    rel = pos - np.asarray(origin)[None]
    report["scale"] = {"value": scale, "units": "counts per frame"}
    report["detector_pixels_in_loss"] = int(mask.sum())
    return PtychoData(jnp.asarray(amps), jnp.asarray(rel, rdtype), jnp.asarray(weights), jnp.asarray(mask),
                      geometry, scale, scan_shape, report)
