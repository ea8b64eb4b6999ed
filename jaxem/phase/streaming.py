"""Streaming (live) upsampled parallax: a pure ``init`` / ``step`` / ``result`` reducer over frames.

Frames arrive in scan order or in any order (singly, as chunks, from a file through Dask, or from a
detector). For every frame at scan position (iy, ix) and bright-field pixel j with integer offset
o_j = round(s_j / (Δr/u)) on the u-times finer output grid (s_j = ∇_kχ(k_j)/2π [Å]), the intensity
is deposited at

    ((iy·u + o_j,y) mod u·Sy, (ix·u + o_j,x) mod u·Sx)        (2-D modular wrap-around),

and the per-pixel bright-field sums, the frame totals and the number of good frames per scan
position are accumulated. :func:`result` removes the per-pixel scan means (a u-periodic pattern,
because the deposits of pixel j form a lattice shifted by o_j), fills the scan positions that have
no good frame (not yet acquired, or dropped) with the mean frame — so they contribute nothing —,
normalises by the mean frame total and optionally applies the phase flip sgn(sin χ(q)) once
(flipping is linear and shift-invariant, so flipping the sum equals summing flipped frames). After
every position has been seen once the result equals :func:`jaxem.phase.direct.parallax` with
``round_shifts=True``, ``contrast_floor=None`` (the intensity weighting: a stream cannot know the per-pixel
means in advance) and the same upsampling (scatter onto a finer grid ≡ Fourier tiling), which
the tests check to 1e-5; before that it is a live preview.

A frame holding a NaN or inf (a dropped or corrupt frame) is not deposited: its position counts as
not acquired and is listed by :func:`bad_positions` (the batch methods mask single bad values
instead, :mod:`jaxem.phase.masking`).

The iteration shape is the one of every iterative method in jaxem::

    state = streaming.init(streaming.parallax_config(ds, upsampling=2))
    for frames, positions in source:               # the driver loops, outside
        state = streaming.step(state, frames, positions)
    image = streaming.result(state, flip=True)

:func:`stream_dask` is such a driver over a (lazy) Dask array, :func:`process_frame` a
LiberTEM-style per-frame function.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..optics.aberrations import Aberrations
from . import geometry
from .dataset import Dataset4D
from .direct import _check_upsampling, flip_mask
from .stack import BFStack, aperture_edge


@pytree.dataclass
class ParallaxConfig:
    """Set-up of the reducer (from the calibration, not the data).

    Attributes:
        bf_flat: (N,) flat detector indices of the bright-field pixels.
        offsets: (N, 2) integer offsets on the fine grid [fine px].
        flip: (u·Sy, u·Sx) phase-flip mask sgn(sin χ(q)) (FFT order).
        scan_shape, detector_shape: (Sy, Sx), (ny, nx) [px] (static).
        upsampling: u (static).
    """

    bf_flat: jnp.ndarray
    offsets: jnp.ndarray
    flip: jnp.ndarray
    scan_shape: tuple = pytree.field(static=True)
    detector_shape: tuple = pytree.field(static=True)
    upsampling: int = pytree.field(static=True)


@pytree.dataclass
class ParallaxState:
    """The reducer's state: its ``config`` and the accumulators ``image`` (u·Sy, u·Sx) raw deposits,
    ``bf_sum`` (N,) per-pixel sums, ``total`` sum of frame totals, ``good`` (Sy, Sx) good frames per
    scan position, ``n_frames`` good frames and ``n_bad`` frames dropped for holding a NaN/inf."""

    config: ParallaxConfig
    image: jnp.ndarray
    bf_sum: jnp.ndarray
    total: jnp.ndarray
    good: jnp.ndarray
    n_frames: jnp.ndarray
    n_bad: jnp.ndarray


def parallax_config(ds: Dataset4D, aberrations: Aberrations | None = None, rotation=None, upsampling: int = 1,
                    threshold: float = 1e-3, edge=None, precision=None) -> ParallaxConfig:
    """Set up the reducer for a calibrated dataset (only its calibration and shape are used: ``ds``
    may hold a placeholder array of the right shape while the data are still on the detector).

    Args:
        ds: dataset with energy, semiangle, center and detector_sampling.
        aberrations: probe aberrations (default ``ds.aberrations``); rotation: θ [rad] (default
            ``ds.rotation``); upsampling: output upsampling u ≥ 1.
        threshold: minimum aperture amplitude of a bright-field pixel, in (0, 1).
        edge: aperture edge width [1/Å] (default: one detector pixel).
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32) of the accumulators.
    """
    if not isinstance(ds, Dataset4D):
        raise validate.InputTypeError(f"ds must be a Dataset4D, got {type(ds).__name__}")
    ds.require("beam", "semiangle", "center", "detector_sampling")
    ab = geometry.check_aberrations(aberrations, ds.aberrations)
    rot = geometry.check_rotation(ds.rotation if rotation is None else rotation)
    threshold = validate.scalar(threshold, "threshold", lo=0, hi=1, lo_open=True, hi_open=True, allow_traced=False)
    validate.integer(upsampling, "upsampling", lo=1)  # before the geometry (the full check follows below)
    edge = aperture_edge(edge, ds)
    dt, _ = accel.dtypes(precision)
    idx = geometry.bright_field_pixels(ds.detector_shape, ds.center, ds.detector_sampling, ds.wavelength,
                                       ds.probe_cutoff, edge, threshold)
    k_det = np.stack([(idx[:, 0] - ds.center[0]) * ds.detector_sampling[0],
                      (idx[:, 1] - ds.center[1]) * ds.detector_sampling[1]], -1)
    proxy = BFStack(jnp.zeros((1, 1, 1)), jnp.asarray(k_det), jnp.asarray(idx), ds.scan_sampling, ds.beam,
                    ds.probe_cutoff, edge, ds.transpose)
    u = _check_upsampling(upsampling, proxy)
    k = proxy.k_scan(rot)
    s = np.asarray(geometry.parallax_shifts(ab, k[:, 0], k[:, 1], ds.wavelength))
    offsets = np.round(s / (np.asarray(ds.scan_sampling) / u)).astype(np.int32)
    sy, sx = ds.scan_shape
    flip = flip_mask(ab, (u * sy, u * sx), ds.scan_sampling, u, ds.wavelength, nyquist=u > 1)
    return ParallaxConfig(jnp.asarray(idx[:, 0] * ds.detector_shape[1] + idx[:, 1]), jnp.asarray(offsets),
                          jnp.asarray(flip, dt), (sy, sx), tuple(ds.detector_shape), u)


@validate.typed
def init(config: ParallaxConfig) -> ParallaxState:
    """Empty accumulators for ``config`` (their dtype is that of ``config.flip``)."""
    if not isinstance(config, ParallaxConfig):
        raise validate.InputTypeError(f"config must be a ParallaxConfig (streaming.parallax_config), got "
                                      f"{type(config).__name__}")
    dt = config.flip.dtype
    sy, sx = config.scan_shape
    u = config.upsampling
    zero = jnp.zeros((), jnp.int32)
    return ParallaxState(config, jnp.zeros((u * sy, u * sx), dt), jnp.zeros(config.bf_flat.shape, dt),
                         jnp.zeros((), dt), jnp.zeros((sy, sx), jnp.int32), zero, zero)


@validate.typed
def step(state: ParallaxState, frames, positions) -> ParallaxState:
    """Deposit ``frames`` (B, ny, nx) acquired at scan ``positions``: flat indices (B,) (row-major
    iy·Sx + ix) or (B, 2) pairs (iy, ix) [px]. Pure: returns the next state. Concrete inputs are
    checked (detector shape, positions inside the scan); frames with a NaN/inf are dropped."""
    if not isinstance(state, ParallaxState):
        raise validate.InputTypeError(f"state must be a ParallaxState (streaming.init), got {type(state).__name__}")
    cfg = state.config
    sy, sx = cfg.scan_shape
    shape = tuple(jnp.shape(frames))
    if len(shape) != 3 or shape[1:] != tuple(cfg.detector_shape):
        raise validate.InputError(f"frames must have shape (B, {cfg.detector_shape[0]}, {cfg.detector_shape[1]}) "
                                  f"(the detector of the configuration), got {shape}")
    pshape = tuple(jnp.shape(positions))
    if pshape not in ((shape[0],), (shape[0], 2)):
        raise validate.InputError(f"positions must be {shape[0]} flat scan indices (B,) or (iy, ix) pairs (B, 2) "
                                  f"for {shape[0]} frames, got shape {pshape}")
    if not validate.is_traced(positions):
        p = np.asarray(positions)
        if p.dtype.kind not in "iu":
            raise validate.InputTypeError(f"positions must be integers [px], got dtype {p.dtype}")
        if p.size:
            if p.ndim == 1:
                lo, hi, limit = p.min(), p.max(), f"[0, {sy * sx - 1}] (flat indices of the {sy}×{sx} scan)"
                bad = lo < 0 or hi > sy * sx - 1
            else:
                lo, hi = p.min(0), p.max(0)
                bad = lo.min() < 0 or hi[0] > sy - 1 or hi[1] > sx - 1
                limit = f"iy in [0, {sy - 1}], ix in [0, {sx - 1}]"
            if bad:
                raise validate.InputError(f"positions must lie in the scan: {limit}, got values from "
                                          f"{np.asarray(lo).tolist()} to {np.asarray(hi).tolist()}")
        positions = jnp.asarray(p)
    frames = jnp.asarray(frames)
    if validate.is_traced((state, frames, positions)):  # inside a jit: always the masked update
        return _step(state, frames, positions, True)[0]
    new, finite = _step(state, frames, positions, False)  # clean data (the usual case): no masking
    return new if bool(finite) else _step(state, frames, positions, True)[0]


@partial(jax.jit, static_argnames=("masked",))
def _step(state: ParallaxState, frames, positions, masked: bool):
    """The next state and whether every frame was finite. ``masked=False`` deposits every frame (the
    result is only valid if the flag is True); ``masked=True`` drops the frames that hold a NaN/inf."""
    cfg = state.config
    dt = state.image.dtype
    b = frames.shape[0]
    sy, sx = cfg.scan_shape
    u = cfg.upsampling
    if positions.ndim == 2:
        iy, ix = positions[:, 0], positions[:, 1]
    else:
        iy, ix = positions // sx, positions % sx
    f = frames.reshape(b, -1).astype(dt)
    vals = f[:, cfg.bf_flat]  # (B, N)
    if masked:
        totals = jnp.sum(f, axis=1)
        ok = jnp.isfinite(totals)  # a NaN/inf anywhere makes the frame total non-finite: drop the frame
        vals = jnp.where(ok[:, None], vals, 0.0)
        total = jnp.sum(jnp.where(ok, totals, 0.0))
        n_ok = jnp.sum(ok.astype(jnp.int32))
        good = state.good.at[iy, ix].add(ok.astype(jnp.int32))
    else:
        total = jnp.sum(f)
        n_ok = jnp.asarray(b, jnp.int32)
        good = state.good.at[iy, ix].add(1)
    ty = (iy[:, None] * u + cfg.offsets[None, :, 0]) % (u * sy)
    tx = (ix[:, None] * u + cfg.offsets[None, :, 1]) % (u * sx)
    image = state.image.reshape(-1).at[(ty * (u * sx) + tx).ravel()].add(vals.ravel()).reshape(state.image.shape)
    new = ParallaxState(cfg, image, state.bf_sum + jnp.sum(vals, 0), state.total + total, good,
                        state.n_frames + n_ok, state.n_bad + (b - n_ok))
    return new, jnp.isfinite(total)


@validate.typed
def process_frame(state: ParallaxState, frame, position) -> ParallaxState:
    """LiberTEM-style per-frame function: one frame (ny, nx) at scan ``position`` (a flat index or
    an (iy, ix) pair)."""
    validate.instance(state, "state", ParallaxState, "a ParallaxState from phase.streaming.init")
    validate.array(frame, "frame", ndim=2, kind="real", finite=False)
    validate.array(position, "position", ndim=(0, 1), kind="integer")
    return step(state, jnp.asarray(frame)[None], np.asarray(position)[None])


@partial(jax.jit, static_argnames=("flip",))
def _result(state: ParallaxState, flip: bool = False):
    cfg = state.config
    dt = state.image.dtype
    sy, sx = cfg.scan_shape
    u = cfg.upsampling
    n_good = jnp.maximum(state.n_frames, 1)
    mean_k = state.bf_sum / n_good
    # the mean frame at every lattice site: pixel j's mean sits on the lattice shifted by o_j (mod u)
    ry = cfg.offsets[:, 0] % u
    rx = cfg.offsets[:, 1] % u
    corr = jnp.tile(jnp.zeros((u, u), dt).at[ry, rx].add(mean_k), (sy, sx))
    # positions without a good frame get the mean frame (they contribute nothing): convolve their
    # indicator on the fine grid with the mean-frame deposit kernel Σ_j m_j δ(o_j)
    missing = jnp.zeros((u * sy, u * sx), dt).at[::u, ::u].set((state.good == 0).astype(dt))
    kernel = jnp.zeros((u * sy, u * sx), dt).at[cfg.offsets[:, 0] % (u * sy), cfg.offsets[:, 1] % (u * sx)].add(mean_k)
    fill = jnp.real(jnp.fft.ifft2(jnp.fft.fft2(missing) * jnp.fft.fft2(kernel))).astype(dt)
    i0 = jnp.where(state.n_frames > 0, state.total / n_good, 1.0)
    img = (state.image + fill - corr) / i0 * (u * u / 2)
    if flip:
        img = jnp.real(jnp.fft.ifft2(jnp.fft.fft2(img) * cfg.flip))
    return img


@validate.typed
def result(state: ParallaxState, flip: bool = False):
    """Parallax image [rad] (u·Sy, u·Sx) from the accumulators (see module docstring); scan positions
    without a good frame (not yet acquired, or dropped) are filled with the mean frame."""
    if not isinstance(state, ParallaxState):
        raise validate.InputTypeError(f"state must be a ParallaxState (streaming.init), got {type(state).__name__}")
    validate.flag(flip, "flip")
    return _result(state, bool(flip))


@validate.typed
def bad_positions(state: ParallaxState) -> tuple:
    """(number of dropped frames, ((iy, ix), …) scan positions that have no good frame yet)."""
    validate.instance(state, "state", ParallaxState, "a ParallaxState from phase.streaming.init")
    missing = np.argwhere(np.asarray(state.good) == 0)
    return int(state.n_bad), tuple(tuple(int(i) for i in p) for p in missing)


@validate.typed
def stream_dask(state: ParallaxState, array, callback=None) -> ParallaxState:
    """Driver: run :func:`step` over a 4D (Dask or NumPy) array block by block in scan order.

    Blocks are read one at a time (row-major over scan chunks), so memory holds one chunk.
    ``callback(state, n_done)`` is called after each block (e.g. to refresh a live view).
    """
    import dask.array as da

    if not isinstance(state, ParallaxState):
        raise validate.InputTypeError(f"state must be a ParallaxState (streaming.init), got {type(state).__name__}")
    arr = array if isinstance(array, da.Array) else da.from_array(np.asarray(array))
    want = tuple(state.config.scan_shape) + tuple(state.config.detector_shape)
    if tuple(arr.shape) != want:
        raise validate.InputError(f"array must have the shape {want} of the configuration (scan_y, scan_x, ky, kx), "
                                  f"got {tuple(arr.shape)}")
    sx = arr.shape[1]
    arr = arr.rechunk({2: -1, 3: -1})
    yb = np.cumsum((0,) + arr.chunks[0])
    xb = np.cumsum((0,) + arr.chunks[1])
    done = 0
    for i in range(len(arr.chunks[0])):  # driver: I/O loop over scan chunks
        for j in range(len(arr.chunks[1])):
            block = np.asarray(arr.blocks[i, j].compute())
            yy, xx = np.meshgrid(np.arange(yb[i], yb[i + 1]), np.arange(xb[j], xb[j + 1]), indexing="ij")
            flat = (yy * sx + xx).ravel()
            state = step(state, block.reshape(-1, *block.shape[2:]), flat)
            done += flat.size
            if callback is not None:
                callback(state, done)
    return state
