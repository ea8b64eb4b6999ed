"""Radial and azimuthal profiles of diffraction patterns, and Bragg-spot masks.

A diffraction pattern DP(k) on a :class:`~jaxem.grid.Grid` (unshifted: zero frequency at [0, 0], as
returned by :func:`jaxem.propagate.diffraction_patterns_array` and by
:class:`~jaxem.propagate.EnsembleWaves`) is reduced to

* a **radial profile**: the azimuthal mean of DP over pixels with scattering angle
  θ = λ|k| [mrad] in bins [θ_i, θ_i + Δθ) (mean per pixel, so a radially symmetric pattern returns
  its radial function sampled at the pixel radii of each bin);
* an **azimuthal profile**: the mean of DP over pixels of an annulus inner ≤ θ < outer [mrad] in bins of
  the azimuth φ = atan2(k_y, k_x) ∈ [−π, π) [rad].

Pixels may be excluded with a boolean ``mask`` (True = keep). :func:`bragg_mask` builds the mask that
removes the reciprocal-lattice points of a crystal whose cell is tiled ``tiling = (n_y, n_x)`` times in
the simulation cell: the Bragg beams of that crystal sit at frequency indices (m_y, m_x) that are
multiples of (n_y, n_x), so the thermal diffuse background between them can be profiled alone.
:func:`bragg_intensities` reads the beams (h, k) themselves.

Bins are reduced with a one-hot matrix product (pure JAX, jit-compatible, any leading batch shape);
empty bins return NaN.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import physics
from ..grid import Grid


def _check_grid_pattern(pattern, grid: Grid, energy: float):
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a jaxem Grid, got {type(grid).__name__}")
    physics.wavelength(energy)  # validates the energy
    shape = tuple(np.shape(pattern)[-2:])
    if shape != tuple(grid.gpts):
        raise ValueError(f"pattern shape {np.shape(pattern)} does not end in the grid gpts {grid.gpts}")


def scattering_angles(grid: Grid, energy: float):
    """(θ [mrad], φ [rad]) of every pixel of an unshifted (ny, nx) pattern (NumPy float64)."""
    lam = physics.wavelength(energy)
    ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(grid.gpts, grid.sampling))
    kyy, kxx = np.meshgrid(ky, kx, indexing="ij")
    return np.hypot(kyy, kxx) * lam * 1e3, np.arctan2(kyy, kxx)


def _binned_mean(pattern, bins, n_bins, keep):
    """Mean of ``pattern`` (…, ny, nx) over pixels with bin index ``bins`` (ny, nx) where ``keep``."""
    valid = keep & (bins >= 0) & (bins < n_bins)
    onehot = (bins.ravel()[:, None] == np.arange(n_bins)[None, :]) & valid.ravel()[:, None]
    counts = onehot.sum(axis=0)
    pattern = jnp.asarray(pattern)
    flat = pattern.reshape(pattern.shape[:-2] + (-1,))
    sums = flat @ jnp.asarray(onehot, flat.real.dtype)
    safe = jnp.asarray(np.maximum(counts, 1), sums.dtype)
    return jnp.where(jnp.asarray(counts > 0), sums / safe, jnp.nan), counts


def radial_profile(pattern, grid: Grid, energy: float, bin_width: float = 1.0, max_angle: float | None = None,
                   mask=None):
    """Azimuthally averaged profile of an unshifted diffraction pattern.

    Args:
        pattern: (…, ny, nx) pattern, zero frequency at [0, 0] (any units, e.g. fraction of the beam).
        grid: the real-space :class:`~jaxem.grid.Grid` of the wave (sets the reciprocal pixels).
        energy: electron energy [eV].
        bin_width: Δθ [mrad] (> 0).
        max_angle: largest angle [mrad] (default: the grid's anti-alias limit).
        mask: optional boolean (ny, nx) array, True for pixels to use (e.g. :func:`bragg_mask`).
    Returns:
        (centres [mrad] (n_bins,), profile (…, n_bins) mean per pixel, counts (n_bins,) pixels per bin).
    """
    _check_grid_pattern(pattern, grid, energy)
    if not (math.isfinite(bin_width) and bin_width > 0):
        raise ValueError(f"bin_width must be a finite angle > 0 mrad, got {bin_width!r}")
    limit = grid.cutoff_angle(energy) if max_angle is None else float(max_angle)
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"max_angle must be > 0 mrad, got {max_angle!r}")
    theta, _ = scattering_angles(grid, energy)
    n_bins = max(1, int(math.floor(limit / bin_width)))
    bins = np.floor(theta / bin_width).astype(np.int64)
    keep = _mask(mask, grid)
    profile, counts = _binned_mean(pattern, bins, n_bins, keep)
    centres = (np.arange(n_bins) + 0.5) * bin_width
    return centres, profile, counts


def azimuthal_profile(pattern, grid: Grid, energy: float, inner: float, outer: float, n_bins: int = 36,
                      mask=None):
    """Mean of an unshifted pattern in azimuthal sectors of the annulus inner ≤ θ < outer [mrad].

    Args:
        pattern: (…, ny, nx) pattern, zero frequency at [0, 0].
        grid: real-space grid; energy: [eV].
        inner, outer: annulus limits [mrad] (0 ≤ inner < outer).
        n_bins: number of sectors over φ ∈ [−π, π) (φ = atan2(k_y, k_x), counter-clockwise from +k_x).
        mask: optional boolean (ny, nx) keep-mask.
    Returns:
        (sector centres φ [rad] (n_bins,), profile (…, n_bins), counts (n_bins,)).
    """
    _check_grid_pattern(pattern, grid, energy)
    if not (math.isfinite(inner) and math.isfinite(outer) and 0 <= inner < outer):
        raise ValueError(f"the annulus needs 0 ≤ inner < outer [mrad], got inner={inner!r}, outer={outer!r}")
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    n_bins = int(n_bins)
    theta, phi = scattering_angles(grid, energy)
    width = 2 * math.pi / n_bins
    bins = np.floor((phi + math.pi) / width).astype(np.int64) % n_bins
    keep = _mask(mask, grid) & (theta >= inner) & (theta < outer)
    profile, counts = _binned_mean(pattern, bins, n_bins, keep)
    centres = -math.pi + (np.arange(n_bins) + 0.5) * width
    return centres, profile, counts


def _mask(mask, grid):
    if mask is None:
        return np.ones(grid.gpts, bool)
    mask = np.asarray(mask)
    if mask.shape != tuple(grid.gpts) or mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array of shape {grid.gpts}, got {mask.dtype} {mask.shape}")
    return mask


def _check_tiling(tiling, grid):
    tiling = tuple(int(t) for t in np.broadcast_to(np.asarray(tiling), (2,)))
    if any(t < 1 for t in tiling) or any(n % t for n, t in zip(grid.gpts, tiling)):
        raise ValueError(f"tiling (n_y, n_x) must be positive and divide the grid gpts {grid.gpts}, got {tiling}; "
                         "choose gpts as a multiple of the number of cells")
    return tiling


def bragg_mask(grid: Grid, tiling, radius: int = 1):
    """Boolean keep-mask (ny, nx) (unshifted) that is False within ``radius`` pixels (Chebyshev distance)
    of every reciprocal-lattice point of a crystal cell tiled ``tiling = (n_y, n_x)`` times in the grid.

    Args:
        grid: real-space grid whose extent is n_y × n_x crystal cells (gpts must be multiples of them).
        tiling: (n_y, n_x) number of cells along y and x.
        radius: half-width of the removed square around each spot [pixels], 0 ≤ radius < n/2.
    """
    tiling = _check_tiling(tiling, grid)
    if int(radius) != radius or radius < 0 or any(2 * radius + 1 > t for t in tiling if t > 1):
        raise ValueError(f"radius must be an integer in [0, (min tiling − 1)/2] pixels, got {radius!r} for "
                         f"tiling {tiling}")
    keep = []
    for n, t in zip(grid.gpts, tiling):
        m = np.fft.fftfreq(n, 1.0 / n).astype(np.int64)  # integer frequency indices
        dist = np.abs(((m + t // 2) % t) - t // 2)  # distance to the nearest multiple of t
        keep.append(dist > radius)
    return keep[0][:, None] | keep[1][None, :]


def bragg_intensities(pattern, grid: Grid, tiling, beams):
    """Intensities of the Bragg beams ``beams`` [(h_y, h_x), …] (reciprocal-lattice indices of the crystal
    cell along y and x) of an unshifted pattern (…, ny, nx) of a cell tiled ``tiling`` times.

    Returns:
        (…, n_beams) array; beams beyond the grid's Nyquist frequency raise ``ValueError``.
    """
    tiling = _check_tiling(tiling, grid)
    idx = []
    for hy, hx in beams:
        iy, ix = int(hy) * tiling[0], int(hx) * tiling[1]
        if abs(iy) > grid.gpts[0] // 2 - 1 or abs(ix) > grid.gpts[1] // 2 - 1:
            raise ValueError(f"beam {(hy, hx)} lies beyond the grid's Nyquist frequency")
        idx.append((iy % grid.gpts[0], ix % grid.gpts[1]))
    iy, ix = (jnp.asarray([i[k] for i in idx]) for k in (0, 1))
    return jnp.asarray(pattern)[..., iy, ix]
