"""Radial and azimuthal profiles of diffraction patterns, and Bragg-spot masks.

A diffraction pattern DP(k) is given as :class:`~jaxem.propagate.Waves` (their pattern is computed), as a
:class:`~jaxem.measurement.Measurement` with angular (θy, θx) [mrad] or (ky, kx) [1/Å] axes (e.g. from
:func:`jaxem.propagate.diffraction_pattern`), or as an unshifted array (zero frequency at [0, 0], as
returned by :func:`jaxem.propagate.diffraction_patterns_array` and by
:class:`~jaxem.propagate.EnsembleWaves`) with its real-space :class:`~jaxem.grid.Grid` and
:class:`~jaxem.beam.Beam`. It is reduced to

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

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from ..beam import Beam, as_beam
from ..grid import Grid
from ..measurement import Measurement
from .detect import diffraction_patterns_array
from .waves import Waves, check_waves


@validate.typed
def scattering_angles(grid: Grid, beam):
    """(θ [mrad], φ [rad]) of every pixel of an unshifted (ny, nx) pattern on ``grid`` for ``beam``
    (a :class:`~jaxem.beam.Beam` or an energy [eV]); NumPy float64."""
    beam = as_beam(beam)
    ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(grid.gpts, grid.sampling))
    kyy, kxx = np.meshgrid(ky, kx, indexing="ij")
    return beam.frequency_to_mrad(np.hypot(kyy, kxx)), np.arctan2(kyy, kxx)


class _Pattern:
    """A pattern with the angle of every pixel and the angular range it covers."""

    def __init__(self, array, theta, phi, default_limit, max_limit, limit_text):
        self.array, self.theta, self.phi = array, theta, phi
        self.default_limit, self.max_limit, self.limit_text = default_limit, max_limit, limit_text


def _pattern(pattern, grid, beam, what="pattern") -> _Pattern:
    if isinstance(pattern, Waves):
        check_waves(pattern, what)
        if grid is not None or beam is not None:
            raise validate.InputError(f"{what} is Waves, which carry their grid and beam: do not pass grid= or beam=")
        grid, beam = pattern.grid, pattern.beam
        pattern = diffraction_patterns_array(pattern.array, pattern.norm)
    elif isinstance(pattern, Measurement):
        return _measurement_pattern(pattern, beam, what)
    else:
        if not isinstance(grid, Grid):
            raise validate.InputTypeError(f"grid must be a jaxem Grid when {what} is an array (or pass Waves or a "
                                          f"Measurement), got {type(grid).__name__}")
        beam = as_beam(beam, "beam")
        validate.array(pattern, what, min_ndim=2, shape=tuple(grid.gpts), kind="real", finite=False)
    theta, phi = scattering_angles(grid, beam)
    return _Pattern(pattern, theta, phi, beam.cutoff_angle(grid), beam.nyquist_angle(grid),
                    f"the Nyquist angle {beam.nyquist_angle(grid):.4g} mrad of the grid")


def _measurement_pattern(m: Measurement, beam, what) -> _Pattern:
    if len(m.axes) < 2:
        raise validate.InputError(f"{what} must have two angular axes, got {len(m.axes)} axes")
    values = []
    for ax, n in zip(m.axes[-2:], m.shape[-2:]):
        if ax.units == "mrad":
            values.append(ax.values(n))
        elif ax.units == "1/Å":
            if beam is None and callable(getattr(m, "beam", None)):
                try:
                    beam = m.beam()  # the beam recorded in the metadata
                except (KeyError, TypeError, ValueError):
                    beam = None
            if beam is None:
                raise validate.InputError(f"{what} has axes in 1/Å: pass beam= (a jaxem Beam) to convert them to mrad")
            values.append(as_beam(beam).frequency_to_mrad(ax.values(n)))
        else:
            raise validate.InputError(f"{what} must have angular axes in mrad or 1/Å, got {ax.name!r} in {ax.units!r}")
    ty, tx = np.meshgrid(*values, indexing="ij")
    edge = min(min(abs(v[0]), abs(v[-1])) for v in values)
    theta = np.hypot(ty, tx)
    return _Pattern(m.array, theta, np.arctan2(ty, tx), edge, edge,
                    f"the edge {edge:.4g} mrad of the pattern's axes")


def _binned_mean(pattern, bins, n_bins, keep):
    """Mean of ``pattern`` (…, ny, nx) over pixels with bin index ``bins`` (ny, nx) where ``keep``."""
    valid = (keep & (bins >= 0) & (bins < n_bins)).ravel()
    ids = np.where(valid, bins.ravel(), 0)
    counts = np.bincount(ids[valid], minlength=n_bins)[:n_bins]
    pattern = jnp.asarray(pattern)
    lead = pattern.shape[:-2]
    flat = pattern.reshape((-1, ids.size)).T * jnp.asarray(valid, pattern.real.dtype)[:, None]  # (pixels, batch)
    sums = jax.ops.segment_sum(flat, jnp.asarray(ids), num_segments=n_bins).T.reshape(lead + (n_bins,))
    safe = jnp.asarray(np.maximum(counts, 1), sums.dtype)
    return jnp.where(jnp.asarray(counts > 0), sums / safe, jnp.nan), counts


@validate.typed
def radial_profile(pattern, grid: Grid | None = None, beam: Beam | None = None, bin_width: float = 1.0,
                   max_angle: float | None = None, mask=None):
    """Azimuthally averaged profile of a diffraction pattern.

    Args:
        pattern: :class:`Waves`, a diffraction :class:`~jaxem.measurement.Measurement` (angular axes), or a
            (…, ny, nx) unshifted array (zero frequency at [0, 0]; any units, e.g. fraction of the beam)
            with ``grid`` and ``beam``.
        grid: the real-space :class:`~jaxem.grid.Grid` of the wave (for an array pattern).
        beam: :class:`~jaxem.beam.Beam` or energy [eV] (for an array pattern, or a Measurement in 1/Å).
        bin_width: Δθ [mrad] (> 0).
        max_angle: largest angle [mrad], at most the grid's Nyquist angle (default: the grid's
            anti-alias limit; for a Measurement, the edge of its axes).
        mask: optional boolean (ny, nx) array, True for pixels to use (e.g. :func:`bragg_mask`).
    Returns:
        (centres [mrad] (n_bins,), profile (…, n_bins) mean per pixel, counts (n_bins,) pixels per bin).
    """
    p = _pattern(pattern, grid, beam)
    bin_width = validate.scalar(bin_width, "bin_width", "mrad", positive=True)
    limit = _limit(p, max_angle)
    validate.allocation(limit / bin_width, "bin_width", bin_width, "mrad", f"the profile reaches {limit:.4g} mrad")
    n_bins = max(1, int(math.floor(limit / bin_width)))
    bins = np.floor(p.theta / bin_width).astype(np.int64)
    keep = _mask(mask, p.theta.shape)
    profile, counts = _binned_mean(p.array, bins, n_bins, keep)
    centres = (np.arange(n_bins) + 0.5) * bin_width
    return centres, profile, counts


def _limit(p: _Pattern, max_angle):
    if max_angle is None:
        return p.default_limit
    value = validate.scalar(max_angle, "max_angle", "mrad", positive=True)
    if value > p.max_limit * (1 + 1e-9):
        raise validate.InputError(f"max_angle of {value:.4g} mrad exceeds {p.limit_text}; use a smaller max_angle "
                                  "or a finer sampling")
    return value


@validate.typed
def azimuthal_profile(pattern, grid: Grid | None = None, beam: Beam | None = None, inner: float = 0.0,
                      outer: float | None = None, n_bins: int = 36, mask=None):
    """Mean of a diffraction pattern in azimuthal sectors of the annulus inner ≤ θ < outer [mrad].

    Args:
        pattern, grid, beam: as in :func:`radial_profile`.
        inner, outer: annulus limits [mrad], 0 ≤ inner < outer ≤ the grid's Nyquist angle (default
            outer: the anti-alias limit).
        n_bins: number of sectors over φ ∈ [−π, π) (φ = atan2(k_y, k_x), counter-clockwise from +k_x).
        mask: optional boolean (ny, nx) keep-mask.
    Returns:
        (sector centres φ [rad] (n_bins,), profile (…, n_bins), counts (n_bins,)).
    """
    p = _pattern(pattern, grid, beam)
    inner = validate.scalar(inner, "inner", "mrad", nonnegative=True)
    outer = _limit(p, outer)
    if not inner < outer:
        raise validate.InputError(f"the annulus needs 0 ≤ inner < outer [mrad], got inner={inner!r}, outer={outer!r}")
    n_bins = validate.integer(n_bins, "n_bins", lo=1)
    validate.allocation(n_bins, "n_bins", n_bins)
    width = 2 * math.pi / n_bins
    bins = np.floor((p.phi + math.pi) / width).astype(np.int64) % n_bins
    keep = _mask(mask, p.theta.shape) & (p.theta >= inner) & (p.theta < outer)
    profile, counts = _binned_mean(p.array, bins, n_bins, keep)
    centres = -math.pi + (np.arange(n_bins) + 0.5) * width
    return centres, profile, counts


def _mask(mask, shape):
    if mask is None:
        return np.ones(shape, bool)
    mask = np.asarray(mask)
    if mask.shape != tuple(shape) or mask.dtype != bool:
        raise validate.InputError(f"mask must be a boolean array of shape {tuple(shape)}, got {mask.dtype} "
                                  f"{mask.shape}")
    return mask


def _as_grid(grid, name="grid") -> Grid:
    if isinstance(grid, Waves):
        return grid.grid
    if not isinstance(grid, Grid):
        raise validate.InputTypeError(f"{name} must be a jaxem Grid or Waves, got {type(grid).__name__}")
    return grid


def _check_tiling(tiling, gpts):
    tiling = validate.pair(tiling, "tiling", kind=int, lo=1)
    if any(n % t for n, t in zip(gpts, tiling)):
        raise validate.InputError(f"tiling (n_y, n_x) must divide the grid gpts {tuple(gpts)}, got {tiling}; "
                                  "choose gpts as a multiple of the number of cells")
    return tiling


def bragg_mask(grid, tiling, radius: int = 1):
    """Boolean keep-mask (ny, nx) (unshifted) that is False within ``radius`` pixels (Chebyshev distance)
    of every reciprocal-lattice point of a crystal cell tiled ``tiling = (n_y, n_x)`` times in the grid.

    Args:
        grid: real-space :class:`~jaxem.grid.Grid` (or :class:`Waves`) whose extent is n_y × n_x crystal
            cells (gpts must be multiples of them).
        tiling: (n_y, n_x) number of cells along y and x.
        radius: half-width of the removed square around each spot [pixels], 0 ≤ radius < n/2.
    """
    grid = _as_grid(grid)
    tiling = _check_tiling(tiling, grid.gpts)
    radius = validate.integer(radius, "radius", lo=0)
    if any(2 * radius + 1 > t for t in tiling if t > 1):
        raise validate.InputError(f"radius must be an integer in [0, (min tiling − 1)/2] pixels, got {radius!r} for "
                                  f"tiling {tiling}")
    keep = []
    for n, t in zip(grid.gpts, tiling):
        m = np.fft.fftfreq(n, 1.0 / n).astype(np.int64)  # integer frequency indices
        dist = np.abs(((m + t // 2) % t) - t // 2)  # distance to the nearest multiple of t
        keep.append(dist > radius)
    return keep[0][:, None] | keep[1][None, :]


@validate.typed
def bragg_intensities(pattern, grid: Grid | None = None, tiling=None, beams=None):
    """Intensities of the Bragg beams ``beams`` [(h_y, h_x), …] (reciprocal-lattice indices of the crystal
    cell along y and x) of a pattern of a cell tiled ``tiling`` = (n_y, n_x) times.

    Args:
        pattern: :class:`Waves`, a diffraction :class:`~jaxem.measurement.Measurement` (fft-shifted, as from
            :func:`jaxem.propagate.diffraction_pattern`), or an unshifted (…, ny, nx) array with ``grid``.
        grid: real-space :class:`~jaxem.grid.Grid` (for an array pattern).
        tiling: (n_y, n_x) cells in the simulation cell.
        beams: sequence of (h_y, h_x).
    Returns:
        (…, n_beams) array; a beam outside the pattern (beyond the grid's Nyquist frequency or the
        Measurement's crop) is an error.
    """
    if tiling is None or beams is None:
        raise validate.InputError("bragg_intensities needs tiling=(n_y, n_x) and beams=[(h_y, h_x), …]")
    try:
        beams = [tuple(validate.integer(h, "beams") for h in b) for b in beams]
    except TypeError:
        raise validate.InputTypeError(f"beams must be a sequence of (h_y, h_x) integer pairs, got {beams!r}") from None
    if any(len(b) != 2 for b in beams):
        raise validate.InputError(f"beams must be (h_y, h_x) pairs, got {beams!r}")
    if isinstance(pattern, Measurement):
        shape = pattern.shape[-2:]
        first = [int(round(ax.offset / ax.sampling)) for ax in pattern.axes[-2:]]  # frequency index of pixel 0
        tiling = validate.pair(tiling, "tiling", kind=int, lo=1)
        idx = []
        for hy, hx in beams:
            iy, ix = hy * tiling[0] - first[0], hx * tiling[1] - first[1]
            if not (0 <= iy < shape[0] and 0 <= ix < shape[1]):
                raise validate.InputError(f"beam {(hy, hx)} lies outside the pattern (its axes cover frequency "
                                          f"indices {first[0]}…{first[0] + shape[0] - 1} × {first[1]}…"
                                          f"{first[1] + shape[1] - 1})")
            idx.append((iy, ix))
        array = pattern.array
    else:
        if isinstance(pattern, Waves):
            check_waves(pattern)
            grid = pattern.grid
            array = diffraction_patterns_array(pattern.array, pattern.norm)
        else:
            if not isinstance(grid, Grid):
                raise validate.InputTypeError(f"grid must be a jaxem Grid for an array pattern, got "
                                              f"{type(grid).__name__}")
            validate.array(pattern, "pattern", min_ndim=2, shape=tuple(grid.gpts), finite=False)
            array = pattern
        tiling = _check_tiling(tiling, grid.gpts)
        idx = []
        for hy, hx in beams:
            iy, ix = hy * tiling[0], hx * tiling[1]
            if abs(iy) > grid.gpts[0] // 2 - 1 or abs(ix) > grid.gpts[1] // 2 - 1:
                raise validate.InputError(f"beam {(hy, hx)} lies beyond the grid's Nyquist frequency")
            idx.append((iy % grid.gpts[0], ix % grid.gpts[1]))
    iy, ix = (jnp.asarray([i[k] for i in idx]) for k in (0, 1))
    return jnp.asarray(array)[..., iy, ix]
