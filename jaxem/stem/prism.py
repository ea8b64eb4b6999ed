"""PRISM: STEM from a scattering matrix (Ophus, Adv. Struct. Chem. Imag. 3 (2017) 13; Pryor, Ophus &
Miao, ibid. 3 (2017) 15). Pure core: the S-matrix and its reduction to detector signals.

Multislice is linear in the incident wave, so the exit wave of a probe

    ψ_in(r; r₀) = Σ_k c_k(r₀) e^{2πik·r},   c_k(r₀) = P(k)·e^{−2πik·r₀} / √(N_w Σ_k|P(k)|²)

(P(k) = A(λk)·e^{−iχ(k)} the probe's transfer, :func:`jaxem.optics.transfer_function`) is
Σ_k c_k(r₀)·S_k(r) with S_k = MS[e^{2πik·r}] the exit wave of the unit plane wave k. The plane waves
k are those inside the probe aperture on every f-th point of the grid's reciprocal lattice,
k = (f_y i/L_y, f_x j/L_x) (interpolation factor f per axis). The probe they build is periodic with
period L/f, so each probe's exit wave is read in a window of L/f around r₀ (N_w pixels); its
diffraction pattern |F[ψ_w]|²/N_w then lies on a reciprocal grid f times coarser than the cell's.
With f = 1 the window is the whole cell and the result equals probe-by-probe multislice exactly.

Each S_k is computed by the one slice step of jaxem (:func:`jaxem.propagate.multislice_array`, with
exit planes for a thickness series) and then Fourier-cropped to the smallest grid that holds the
anti-alias band |k| < 2/3 k_Nyquist (lossless: the propagator zeroes everything beyond it; Prismatic
and abTEM store it the same way). Detectors are prepared on the full-resolution window grid
((n_y/f_y, n_x/f_x) pixels of the cell's sampling), so they check and see the same angles as in
:func:`jaxem.stem.stem_scan`; linear detectors are evaluated on the cropped band (their weights
there), others get the pattern padded with the zeros the band-limit implies.

Reduction. Neighbouring probe positions share one window enlarged by their spread (a *tile*), so
the sum over k is a matrix product (T positions × K beams) @ (K × window pixels) rather than T
matrix–vector products; each position's own window is cut from it afterwards.

Everything here is pure and jit-able; gradients flow into the aberrations (through c_k), the probe
positions (the phase e^{−2πik·r₀}) and the potential (through S, e.g. atomic positions and ⟨u²⟩).
The driver with memory policy, thermal ensembles, streaming and the accuracy model is
:mod:`jaxem.stem.prism_run`.
"""
from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..beam import Beam
from ..grid import Grid, next_fft_size
from ..optics import Aberrations, transfer_function
from ..optics.apertures import Aperture
from ..propagate import multislice_array
from .detectors import MaskState

__all__ = ["SMatrix", "plane_wave_indices", "check_interpolation", "band_gpts", "smatrix_array",
           "coefficients", "probe_coefficients", "prism_signals", "window_grid", "band_states", "tile_signals"]

#: largest interpolation factor per axis
MAX_INTERPOLATION = 256


def _divisors(n: int) -> list:
    return [d for d in range(1, min(n, MAX_INTERPOLATION) + 1) if n % d == 0]


def check_interpolation(interpolation, grid: Grid, name: str = "interpolation") -> tuple:
    """(f_y, f_x) from an int or a pair, each ≥ 1 and dividing the grid's points along its axis;
    otherwise an error naming the value and the nearest factors that do divide."""
    f = validate.pair(interpolation, name, kind=int, lo=1, hi=MAX_INTERPOLATION)
    for fi, n, axis in zip(f, grid.gpts, ("y", "x")):
        if n % fi:
            divs = _divisors(n)
            near = sorted(divs, key=lambda d: (abs(d - fi), d))[:3]
            raise validate.InputError(
                f"{name} = {fi} does not divide the {n} grid points along {axis} (the PRISM window is "
                f"gpts/f pixels); use one of {sorted(near)} (divisors of {n}), or a grid with "
                f"{next(m for m in range(n, 4 * n) if m % fi == 0)} points along {axis}")
    return f


def plane_wave_indices(grid: Grid, beam: Beam, max_angle: float, interpolation) -> np.ndarray:
    """(K, 2) signed frequency indices (i, j) of the plane waves k = (i/L_y, j/L_x) with i, j multiples of
    (f_y, f_x) and scattering angle λ|k| ≤ ``max_angle`` [mrad] (the probe aperture's reach)."""
    fy, fx = interpolation
    ny, nx = grid.gpts
    iy = np.fft.fftfreq(ny, 1 / ny).astype(int)
    ix = np.fft.fftfreq(nx, 1 / nx).astype(int)
    iy, ix = iy[iy % fy == 0], ix[ix % fx == 0]
    ii, jj = np.meshgrid(iy, ix, indexing="ij")
    ky, kx = ii / grid.extent[0], jj / grid.extent[1]
    theta = beam.frequency_to_mrad(np.hypot(ky, kx))
    keep = theta <= max_angle * (1 + 1e-12)
    out = np.stack([ii[keep], jj[keep]], axis=-1)
    order = np.lexsort((out[:, 1], out[:, 0]))
    return out[order]


def band_gpts(grid: Grid, interpolation) -> tuple:
    """(m_y, m_x): the smallest FFT-friendly grid, a multiple of f per axis and ≤ the grid, that holds
    every frequency the anti-alias aperture passes (|i| ≤ k_cut·L)."""
    out = []
    for n, L, f in zip(grid.gpts, grid.extent, interpolation):
        need = 2 * int(math.floor(grid.antialias_cutoff * L + 1e-9)) + 2
        # the smallest f·s ≥ need with s 7-smooth: for a 7-smooth f this is the smallest FFT-friendly
        # multiple of f; an f with a larger prime factor (11, 13, …) has no 7-smooth multiple at all
        m = f * next_fft_size(-(-need // f))
        out.append(n if m >= n else m)
    return tuple(out)


def window_grid(grid: Grid, interpolation) -> Grid:
    """The full-resolution grid of one PRISM window: (n_y/f_y, n_x/f_x) pixels of the cell's sampling
    (extent L/f); detectors are prepared on it."""
    return Grid(tuple(n // f for n, f in zip(grid.gpts, interpolation)), grid.sampling)


def _crop_indices(n: int, m: int) -> np.ndarray:
    """FFT-order indices on an n-point axis of the m frequencies of an m-point axis."""
    return (np.fft.fftfreq(m, 1 / m).astype(int)) % n


@pytree.dataclass
class SMatrix:
    """Scattering matrix: the exit waves of the plane waves inside the probe aperture.

    Attributes:
        array: (K, [n_exit,] m_y, m_x) complex exit waves of unit plane waves, on the band grid
            (:func:`band_gpts`; sampling L/m [Å]).
        indices: (K, 2) int32 frequency indices (i, j) of the plane waves, k = (i/L_y, j/L_x) [1/Å].
        grid: the simulation :class:`~jaxem.grid.Grid` (static).
        band: (m_y, m_x) of the stored waves (static).
        interpolation: (f_y, f_x) (static).
        beam: the :class:`~jaxem.beam.Beam` (static).
        max_angle: largest plane-wave angle [mrad] (static).
        exit_slices: slice counts of a thickness series, or None (static).
        slice_thickness: [Å] (static).
    """

    array: jnp.ndarray
    indices: jnp.ndarray
    grid: Grid = pytree.field(static=True)
    band: tuple = pytree.field(static=True)
    interpolation: tuple = pytree.field(static=True)
    beam: Beam = pytree.field(static=True)
    max_angle: float = pytree.field(static=True, units="mrad")
    exit_slices: tuple | None = pytree.field(static=True, default=None)
    slice_thickness: float = pytree.field(static=True, units="Å", default=1.0)

    @property
    def n_beams(self) -> int:
        return int(self.indices.shape[0])

    @property
    def window(self) -> tuple:
        """(w_y, w_x) pixels of a window on the band grid."""
        return tuple(m // f for m, f in zip(self.band, self.interpolation))

    @property
    def band_sampling(self) -> tuple:
        """Pixel size (y, x) [Å] of the stored waves."""
        return tuple(L / m for L, m in zip(self.grid.extent, self.band))

    def wavevectors(self, dtype=jnp.float32):
        """(ky, kx) [1/Å], each (K,)."""
        idx = jnp.asarray(self.indices)
        return idx[:, 0].astype(dtype) / self.grid.extent[0], idx[:, 1].astype(dtype) / self.grid.extent[1]


def _plane_wave(index, gpts, dtype):
    """exp(2πi(i·y/n_y + j·x/n_x)) on the grid, phases reduced modulo 1 in integers (exact)."""
    _, cdtype = accel.dtypes(dtype)
    rdtype = jnp.finfo(cdtype).dtype
    ny, nx = gpts
    py = jnp.mod(index[0] * jnp.arange(ny, dtype=jnp.int32), ny).astype(rdtype) / ny
    px = jnp.mod(index[1] * jnp.arange(nx, dtype=jnp.int32), nx).astype(rdtype) / nx
    ry = jnp.exp(2j * jnp.pi * py).astype(cdtype)
    rx = jnp.exp(2j * jnp.pi * px).astype(cdtype)
    return ry[:, None] * rx[None, :]


def _to_band(psi, gpts, band):
    """Fourier-crop waves (…, n_y, n_x) to the band grid (…, m_y, m_x), keeping their values."""
    if tuple(band) == tuple(gpts):
        return psi
    iy, ix = _crop_indices(gpts[0], band[0]), _crop_indices(gpts[1], band[1])
    f = jnp.fft.fft2(psi)
    f = jnp.take(jnp.take(f, jnp.asarray(iy), axis=-2), jnp.asarray(ix), axis=-1)
    scale = (band[0] * band[1]) / (gpts[0] * gpts[1])
    return jnp.fft.ifft2(f) * jnp.asarray(scale, psi.real.dtype)


@partial(jax.jit, static_argnames=("gpts", "band", "exits", "batch", "checkpoint"))
def smatrix_array(indices, transmissions, sequence, propagator, *, gpts, band, exits=None, batch=1,
                  checkpoint=False):
    """Exit waves (K, [n_exit,] m_y, m_x) of the unit plane waves ``indices`` (K, 2) through the slices
    (pure; differentiable in ``transmissions``). Plane waves run ``batch`` at a time (``lax.map``)."""
    def one(idx):
        psi = _plane_wave(idx, gpts, transmissions.dtype)
        out = multislice_array(psi, transmissions, sequence, propagator, exit_slices=exits, checkpoint=checkpoint)
        return _to_band(out, gpts, band)

    return jax.lax.map(one, jnp.asarray(indices, jnp.int32), batch_size=batch)


def coefficients(indices, grid: Grid, beam: Beam, window, semi_angle, aberrations=None, edge_width=0.0,
                 dtype=jnp.complex64):
    """P(k)/√(N_w Σ|P|²) (K,) at the plane waves ``indices`` (K, 2) of ``grid`` for a window of
    ``window`` pixels (pure; differentiable in the aberrations and the aperture)."""
    ab = Aberrations() if aberrations is None else aberrations
    rdtype, cdtype = accel.dtypes(dtype)
    idx = jnp.asarray(indices)
    ky = idx[:, 0].astype(rdtype) / grid.extent[0]
    kx = idx[:, 1].astype(rdtype) / grid.extent[1]
    p = transfer_function(ab, ky, kx, beam.wavelength, Aperture(semi_angle, edge_width))
    norm = jnp.sqrt(window[0] * window[1] * jnp.sum(jnp.abs(p) ** 2))
    return (p / jnp.where(norm > 0, norm, 1.0)).astype(cdtype)


@validate.typed
def probe_coefficients(smatrix: SMatrix, semi_angle, aberrations: Aberrations | None = None, edge_width=0.0):
    """Normalised plane-wave coefficients P(k)/√(N_w Σ|P|²) (K,) of the probe (pure; differentiable in
    the aberrations and the aperture), so that the windowed probe has Σ|ψ|² = 1."""
    validate.instance(smatrix, "smatrix", SMatrix, "an SMatrix from stem.build_smatrix")
    return coefficients(smatrix.indices, smatrix.grid, smatrix.beam, smatrix.window, semi_angle, aberrations,
                        edge_width, smatrix.array.dtype)


def band_states(detectors, states, wgrid: Grid, window: tuple):
    """Detector states for patterns on the (w_y, w_x) band window: linear detectors' weights cut to the
    band's frequencies; others keep theirs (their patterns are padded)."""
    iy, ix = _crop_indices(wgrid.gpts[0], window[0]), _crop_indices(wgrid.gpts[1], window[1])
    out = []
    for st in states:
        if isinstance(st, MaskState) and tuple(window) != tuple(wgrid.gpts):
            m = jnp.asarray(st.masks)
            out.append(MaskState(jnp.take(jnp.take(m, jnp.asarray(iy), axis=-2), jnp.asarray(ix), axis=-1)))
        else:
            out.append(st)
    return tuple(out)


def _pad_pattern(dp, wgrid_gpts, window):
    if tuple(window) == tuple(wgrid_gpts):
        return dp
    iy, ix = _crop_indices(wgrid_gpts[0], window[0]), _crop_indices(wgrid_gpts[1], window[1])
    full = jnp.zeros(dp.shape[:-2] + tuple(wgrid_gpts), dp.dtype)
    return full.at[..., iy[:, None], ix[None, :]].set(dp)


def _window_starts(positions, band_sampling, window):
    """Integer start (y, x) of the window centred on each position (…, 2) [Å] (band-grid pixels)."""
    d = jnp.asarray(band_sampling, positions.dtype)
    centre = jnp.round(jax.lax.stop_gradient(positions) / d).astype(jnp.int32)
    return centre - jnp.asarray([w // 2 for w in window], jnp.int32)


@validate.typed
def prism_signals(smatrix: SMatrix, positions, coefficients, detectors, states, *, tile_extent=None):
    """Detector signals of probes at ``positions`` (T, 2) (y, x) [Å] (pure; differentiable).

    Args:
        smatrix: the :class:`SMatrix` (its array may be traced).
        positions: (T, 2) probe positions [Å].
        coefficients: (K,) from :func:`probe_coefficients`.
        detectors: static tuple of detectors; ``states``: their states prepared on
            :func:`window_grid` (the full-resolution window grid).
        tile_extent: None (each position its own window), or static (e_y, e_x) band-grid pixels by
            which one shared window is enlarged: then every position's window must start within
            that many pixels of the earliest one (a *tile* of neighbouring positions).
    Returns:
        tuple, per detector, of (T, [n_exit,] *signal) arrays.
    """
    validate.instance(smatrix, "smatrix", SMatrix, "an SMatrix from stem.build_smatrix")
    wgrid = window_grid(smatrix.grid, smatrix.interpolation)
    window = smatrix.window
    bstates = band_states(detectors, states, wgrid, window)
    kw = dict(detectors=detectors, grid=smatrix.grid, band=smatrix.band, window=window, wgrid_gpts=wgrid.gpts,
              exits=smatrix.exit_slices is not None)
    positions = jnp.asarray(positions)
    if tile_extent is None:
        out = jax.vmap(lambda p: tile_signals(smatrix.array, smatrix.indices, p[None], coefficients, bstates,
                                              extra=(0, 0), **kw))(positions)
        return tuple(o[:, 0] for o in out)
    extra = validate.pair(tile_extent, "tile_extent", kind=int, lo=0)
    if not validate.is_traced(positions):
        starts = np.round(np.asarray(positions, np.float64) / np.asarray(smatrix.band_sampling)).astype(int)
        spread = starts.max(axis=0) - starts.min(axis=0)
        if np.any(spread > np.asarray(extra)):
            raise validate.InputError(f"positions spread over {tuple(int(v) for v in spread)} band pixels, more than "
                                      f"tile_extent = {extra}: give a larger tile_extent or tile_extent=None")
    return tile_signals(smatrix.array, smatrix.indices, positions, coefficients, bstates, extra=extra, **kw)


def tile_signals(S, indices, positions, coeffs, bstates, *, detectors, grid, band, window, extra, wgrid_gpts,
                    exits):
    """The tile reduction (see :func:`prism_signals`)."""
    rdtype = jnp.finfo(S.dtype).dtype
    idx = jnp.asarray(indices)
    ky = idx[:, 0].astype(rdtype) / grid.extent[0]
    kx = idx[:, 1].astype(rdtype) / grid.extent[1]
    wy, wx = window
    ey, ex = extra
    my, mx = band
    pos = positions.astype(rdtype)
    starts = _window_starts(pos, tuple(L / m for L, m in zip(grid.extent, band)), window)  # (T, 2)
    origin = jnp.min(starts, axis=0)
    offs = starts - origin  # (T, 2), within [0, extra] for a tile (checked by the callers)
    rows = jnp.mod(origin[0] + jnp.arange(wy + ey), my)
    cols = jnp.mod(origin[1] + jnp.arange(wx + ex), mx)
    sw = jnp.take(jnp.take(S, rows, axis=-2), cols, axis=-1)  # (K, [E,] Wy, Wx)
    phase = jnp.exp(-2j * jnp.pi * (pos[:, 0, None] * ky[None] + pos[:, 1, None] * kx[None])).astype(S.dtype)
    c = phase * coeffs[None, :].astype(S.dtype)  # (T, K)
    big = jnp.tensordot(c, sw, axes=((1,), (0,)))  # (T, [E,] Wy, Wx)

    def own(b, o):
        lead = b.shape[:-2]
        return jax.lax.dynamic_slice(b, (jnp.int32(0),) * len(lead) + (o[0], o[1]), lead + (wy, wx))

    psi = jax.vmap(own)(big, jnp.clip(offs, 0, jnp.asarray([ey, ex], jnp.int32)))
    nw = wy * wx
    dp = (jnp.abs(jnp.fft.fft2(psi)) ** 2 / nw).astype(rdtype)
    out = []
    for d, st in zip(detectors, bstates):
        pat = dp if isinstance(st, MaskState) else _pad_pattern(dp, wgrid_gpts, window)
        out.append(d.apply(st, pat))
    return tuple(out)
