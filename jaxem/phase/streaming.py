"""Streaming (live) upsampled parallax: a pure init / update / finalize reducer over frames.

Frames arrive in scan order (singly, as chunks, from a file through Dask, or from a detector).
For every frame at scan position (iy, ix) and bright-field pixel j with integer offset o_j =
round(s_j / (Δr/u)) on the u-times finer output grid (s_j = ∇χ(k_j)/2π [Å]), the intensity is
deposited at

    ((iy·u + o_j,y) mod u·Sy, (ix·u + o_j,x) mod u·Sx)        (2-D modular wrap-around),

and the per-pixel bright-field sums and the frame totals are accumulated. ``finalize`` removes the
per-pixel scan means (a u-periodic pattern, because the deposits of pixel j form a lattice shifted by
o_j), normalises by the mean frame total and optionally applies the phase flip sgn(sin χ(q)) once
(flipping is linear and shift-invariant, so flipping the sum equals summing flipped frames). The
result equals :func:`jaxem.phase.direct.parallax` with ``round_shifts=True`` and the same upsampling
(scatter onto a finer grid ≡ Fourier tiling), which the tests check to 1e-5.

Use :func:`streaming_parallax` for the reducer, :func:`process_frame` as a LiberTEM-style per-frame
function, and :func:`stream_dask` to run it over a (lazy) Dask array block by block.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ..optics.aberrations import Aberrations
from . import geometry
from .dataset import Dataset4D
from .direct import _check_upsampling, flip_mask


@struct.dataclass
class ParallaxConfig:
    """Static set-up of the reducer (from the calibration, not the data).

    Attributes:
        bf_flat: (N,) flat detector indices of the bright-field pixels.
        offsets: (N, 2) integer offsets on the fine grid [fine px].
        flip: (u·Sy, u·Sx) phase-flip mask sgn(sin χ(q)) (FFT order).
        scan_shape, detector_shape, upsampling: static shapes.
    """

    bf_flat: jnp.ndarray
    offsets: jnp.ndarray
    flip: jnp.ndarray
    scan_shape: tuple = struct.field(pytree_node=False)
    detector_shape: tuple = struct.field(pytree_node=False)
    upsampling: int = struct.field(pytree_node=False)


@struct.dataclass
class ParallaxState:
    """Accumulators: ``image`` (u·Sy, u·Sx) raw deposits, ``bf_sum`` (N,) per-pixel sums,
    ``total`` sum of frame totals, ``n_frames`` frames seen."""

    image: jnp.ndarray
    bf_sum: jnp.ndarray
    total: jnp.ndarray
    n_frames: jnp.ndarray


def streaming_parallax(ds: Dataset4D, aberrations: Aberrations | None = None, rotation=None,
                       upsampling: int = 1, threshold: float = 1e-3, edge=None, precision="float32"):
    """Set up the reducer for a calibrated dataset (only its calibration and shape are used).

    Returns (config, init_state). ``ds`` may be a Dataset4D over a placeholder array of the right
    shape (the data can still be on the detector).
    """
    from .stack import BFStack

    ds.require("energy", "semiangle", "center", "detector_sampling")
    ab = aberrations if aberrations is not None else ds.aberrations
    rot = ds.rotation if rotation is None else rotation
    edge = float(np.mean(ds.detector_sampling)) if edge is None else float(edge)
    idx = geometry.bright_field_pixels(ds.detector_shape, ds.center, ds.detector_sampling, ds.probe_cutoff,
                                       edge, threshold)
    k_det = np.stack([(idx[:, 0] - ds.center[0]) * ds.detector_sampling[0],
                      (idx[:, 1] - ds.center[1]) * ds.detector_sampling[1]], -1)
    proxy = BFStack(jnp.zeros((1, 1, 1)), jnp.asarray(k_det), jnp.asarray(idx), ds.scan_sampling,
                    ds.wavelength, ds.probe_cutoff, edge, ds.transpose)
    u = _check_upsampling(upsampling, proxy)
    k = proxy.k_scan(rot)
    s = np.asarray(geometry.chi_gradient(ab, k[:, 0], k[:, 1], ds.wavelength)) / (2 * np.pi)
    d = np.asarray(ds.scan_sampling) / u
    offsets = np.round(s / d).astype(np.int32)
    sy, sx = ds.scan_shape
    flip = flip_mask(ab, (u * sy, u * sx), ds.scan_sampling, u, ds.wavelength, nyquist=u > 1)
    dt = jnp.float64 if precision == "float64" else jnp.float32
    cfg = ParallaxConfig(jnp.asarray(idx[:, 0] * ds.detector_shape[1] + idx[:, 1]), jnp.asarray(offsets),
                         jnp.asarray(flip, dt), (sy, sx), tuple(ds.detector_shape), u)
    state = ParallaxState(jnp.zeros((u * sy, u * sx), dt), jnp.zeros((len(idx),), dt), jnp.zeros((), dt),
                          jnp.zeros((), jnp.int32))
    return cfg, state


@jax.jit
def update(cfg: ParallaxConfig, state: ParallaxState, frames, scan_indices) -> ParallaxState:
    """Deposit frames (B, ky, kx) acquired at flat scan indices (B,) (row-major iy·Sx + ix)."""
    dt = state.image.dtype
    b = frames.shape[0]
    f = frames.reshape(b, -1).astype(dt)
    vals = f[:, cfg.bf_flat]  # (B, N)
    sy, sx = cfg.scan_shape
    u = cfg.upsampling
    iy = scan_indices // sx
    ix = scan_indices % sx
    ty = (iy[:, None] * u + cfg.offsets[None, :, 0]) % (u * sy)
    tx = (ix[:, None] * u + cfg.offsets[None, :, 1]) % (u * sx)
    image = state.image.reshape(-1).at[(ty * (u * sx) + tx).ravel()].add(vals.ravel()).reshape(state.image.shape)
    return ParallaxState(image, state.bf_sum + jnp.sum(vals, 0), state.total + jnp.sum(f),
                         state.n_frames + b)


def process_frame(cfg: ParallaxConfig, state: ParallaxState, frame, scan_index) -> ParallaxState:
    """LiberTEM-style per-frame function: one frame (ky, kx) at flat scan index ``scan_index``."""
    return update(cfg, state, jnp.asarray(frame)[None], jnp.asarray([scan_index]))


@partial(jax.jit, static_argnames=("flip",))
def finalize(cfg: ParallaxConfig, state: ParallaxState, flip: bool = False):
    """Parallax image [rad] (u·Sy, u·Sx) from the accumulators (see module docstring).

    Frames not yet seen count as zero intensity, so intermediate results are a live preview.
    """
    dt = state.image.dtype
    sy, sx = cfg.scan_shape
    u = cfg.upsampling
    n_scan = sy * sx
    mean_k = state.bf_sum / n_scan
    # u-periodic correction: pixel j's mean sits on the lattice shifted by its offset (mod u)
    ry = cfg.offsets[:, 0] % u
    rx = cfg.offsets[:, 1] % u
    cell = jnp.zeros((u, u), dt).at[ry, rx].add(mean_k)
    corr = jnp.tile(cell, (sy, sx))
    i0 = jnp.where(state.n_frames > 0, state.total / jnp.maximum(state.n_frames, 1), 1.0)
    img = (state.image - corr) / i0 * (u * u / 2)
    if flip:
        img = jnp.real(jnp.fft.ifft2(jnp.fft.fft2(img) * cfg.flip))
    return img


def stream_dask(cfg: ParallaxConfig, state: ParallaxState, array, callback=None) -> ParallaxState:
    """Run the reducer over a 4D (Dask or NumPy) array block by block in scan order.

    Blocks are read one at a time (row-major over scan chunks), so memory holds one chunk.
    ``callback(state, n_done)`` is called after each block (e.g. to refresh a live view).
    """
    import dask.array as da

    arr = array if isinstance(array, da.Array) else da.from_array(np.asarray(array))
    sy, sx = arr.shape[:2]
    arr = arr.rechunk({2: -1, 3: -1})
    yb = np.cumsum((0,) + arr.chunks[0])
    xb = np.cumsum((0,) + arr.chunks[1])
    done = 0
    for i in range(len(arr.chunks[0])):
        for j in range(len(arr.chunks[1])):
            block = np.asarray(arr.blocks[i, j].compute())
            yy, xx = np.meshgrid(np.arange(yb[i], yb[i + 1]), np.arange(xb[j], xb[j + 1]), indexing="ij")
            flat = (yy * sx + xx).ravel()
            state = update(cfg, state, jnp.asarray(block.reshape(-1, *block.shape[2:])), jnp.asarray(flat))
            done += flat.size
            if callback is not None:
                callback(state, done)
    return state
