"""Partitioned PRISM: a coarse set of beamlets interpolated across the probe aperture, for large apertures
and strongly aberrated probes (Ophus et al., "Partitioned PRISM"; the idea of abTEM's partitioned
S-matrix; equations only).

A plane wave k close to a parent beam k_j leaves the specimen nearly as the parent's exit wave,
tilted: S_k(r) ≈ S_j(r)·e^{2πi(k−k_j)·r} (exact for k = k_j; channelling changes slowly with tilt).
With interpolation weights φ_j(k) (a partition of unity over the parents) the probe's exit wave is

    ψ(r; r₀) = Σ_k c_k(r₀) S_k(r) ≈ Σ_j S̃_j(r) · B_j(r; r₀),
    S̃_j(r) = S_j(r)·e^{−2πik_j·r},      B_j(r; r₀) = Σ_k c_k(r₀) φ_j(k) e^{2πik·r},

so J parent multislices replace the K plane waves of the aperture (J ≈ K/s² for a parent spacing of
s frequency pixels), at the price of J inverse FFTs per probe position (the beamlet fields B_j on the
window). The weights here are bilinear on the square lattice of parents (every s-th frequency index,
covering the aperture with one ring to spare): a partition of unity, and the identity for s = 1, where
the result equals PRISM exactly. Everything is pure and differentiable like :mod:`jaxem.stem.prism`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from ..beam import as_beam
from .prism import (SMatrix, _pad_pattern, band_states, check_interpolation, plane_wave_indices, smatrix_array,
                    window_grid)
from .detectors import MaskState

__all__ = ["parent_indices", "beamlet_weights", "build_partitioned_smatrix", "partitioned_signals"]


def parent_indices(grid, beam, max_angle, spacing: int, interpolation=(1, 1)) -> np.ndarray:
    """(J, 2) frequency indices of the parent beams: multiples of ``spacing`` × f per axis whose
    bilinear cells cover every plane wave of the aperture (``max_angle`` [mrad])."""
    fy, fx = interpolation
    s = validate.integer(spacing, "spacing", lo=1)
    fine = plane_wave_indices(grid, beam, max_angle, interpolation)
    sy, sx = s * fy, s * fx
    lo = np.floor(fine.min(0) / (sy, sx)).astype(int)
    hi = np.ceil(fine.max(0) / (sy, sx)).astype(int)
    ii, jj = np.meshgrid(np.arange(lo[0], hi[0] + 1) * sy, np.arange(lo[1], hi[1] + 1) * sx, indexing="ij")
    cand = np.stack([ii.ravel(), jj.ravel()], -1)
    w = beamlet_weights(fine, cand, (sy, sx))
    return cand[w.sum(1) > 0]


def beamlet_weights(fine, parents, spacing) -> np.ndarray:
    """(J, K) bilinear weights φ_j(k) = (1 − |Δi|/s_y)₊(1 − |Δj|/s_x)₊ of fine plane waves ``fine`` (K, 2)
    on ``parents`` (J, 2) (frequency indices); columns sum to 1 inside the parents' lattice."""
    d = np.abs(np.asarray(fine)[None] - np.asarray(parents)[:, None]).astype(np.float64)
    return np.clip(1 - d[..., 0] / spacing[0], 0, None) * np.clip(1 - d[..., 1] / spacing[1], 0, None)


def build_partitioned_smatrix(potential, beam, max_angle, spacing: int, interpolation=1, precision=None,
                              batch: int = 1):
    """(SMatrix of the parents' envelopes S̃_j, fine indices (K, 2), weights (J, K)).

    The parents must lie within the grid's anti-alias limit (they are propagated); the error names the
    spacing to reduce otherwise."""
    from .. import accel
    from ..propagate.multislice import fresnel_propagator, transmission_functions
    from .prism import band_gpts

    beam = as_beam(beam)
    grid = potential.grid
    f = check_interpolation(interpolation, grid)
    amax = beam.check_angle(max_angle, grid, "max_angle")
    parents = parent_indices(grid, beam, amax, spacing, f)
    reach = float(np.max(beam.frequency_to_mrad(np.hypot(parents[:, 0] / grid.extent[0],
                                                         parents[:, 1] / grid.extent[1]))))
    beam.check_angle(reach, grid, f"the outermost parent beam of spacing = {spacing}")
    fine = plane_wave_indices(grid, beam, amax, f)
    weights = beamlet_weights(fine, parents, (spacing * f[0], spacing * f[1]))
    _, cdtype = accel.dtypes(precision)
    trans = transmission_functions(potential.array, beam, grid, cdtype)
    prop = fresnel_propagator(grid, beam, float(potential.slice_thickness), cdtype)
    band = band_gpts(grid, f)
    S = smatrix_array(jnp.asarray(parents, jnp.int32), trans, jnp.asarray(potential.sequence, jnp.int32), prop,
                      gpts=grid.gpts, band=band, batch=batch)
    S = S * _carriers(parents, band, cdtype).conj()
    sm = SMatrix(S, jnp.asarray(parents, jnp.int32), grid, band, f, beam, amax, None, float(potential.slice_thickness))
    return sm, fine, weights


def _carriers(indices, band, dtype):
    """e^{2πik·r} (J, m_y, m_x) of integer frequency indices on the band grid (exact phases)."""
    iy = np.mod(np.asarray(indices)[:, 0, None] * np.arange(band[0])[None], band[0]) / band[0]
    ix = np.mod(np.asarray(indices)[:, 1, None] * np.arange(band[1])[None], band[1]) / band[1]
    return (jnp.exp(2j * jnp.pi * jnp.asarray(iy))[:, :, None] * jnp.exp(2j * jnp.pi * jnp.asarray(ix))[:, None, :]
            ).astype(dtype)


@validate.typed
def partitioned_signals(smatrix: SMatrix, fine, weights, positions, coefficients_k, detectors, states):
    """Detector signals (per detector (T, *signal)) of probes at ``positions`` (T, 2) [Å] from the parents'
    envelopes (pure; differentiable). ``coefficients_k`` (K,) are the fine plane waves' coefficients
    (:func:`jaxem.stem.prism.coefficients` at ``fine``)."""
    validate.instance(smatrix, "smatrix", SMatrix, "an SMatrix from stem.build_smatrix")
    grid, band = smatrix.grid, smatrix.band
    window = smatrix.window
    wgrid = window_grid(grid, smatrix.interpolation)
    bstates = band_states(detectors, states, wgrid, window)
    S = smatrix.array
    rdtype = jnp.finfo(S.dtype).dtype
    fine = np.asarray(fine)
    ky = jnp.asarray(fine[:, 0] / grid.extent[0], rdtype)
    kx = jnp.asarray(fine[:, 1] / grid.extent[1], rdtype)
    wy_idx = jnp.asarray((fine[:, 0] // smatrix.interpolation[0]) % window[0])
    wx_idx = jnp.asarray((fine[:, 1] // smatrix.interpolation[1]) % window[1])
    phi = jnp.asarray(weights, rdtype)
    d = tuple(L / m for L, m in zip(grid.extent, band))

    def one(r0):
        start = jnp.round(jax.lax.stop_gradient(r0) / jnp.asarray(d, rdtype)).astype(jnp.int32) - \
            jnp.asarray([w // 2 for w in window], jnp.int32)
        rs = start.astype(rdtype) * jnp.asarray(d, rdtype)
        c = coefficients_k * jnp.exp(-2j * jnp.pi * ((r0[0] - rs[0]) * ky + (r0[1] - rs[1]) * kx)).astype(S.dtype)
        a = jnp.zeros((phi.shape[0],) + tuple(window), S.dtype).at[:, wy_idx, wx_idx].add(phi.astype(S.dtype) * c)
        beamlets = jnp.fft.ifft2(a) * (window[0] * window[1])  # B_j on the window, origin at its first pixel
        rows = jnp.mod(start[0] + jnp.arange(window[0]), band[0])
        cols = jnp.mod(start[1] + jnp.arange(window[1]), band[1])
        env = jnp.take(jnp.take(S, rows, axis=-2), cols, axis=-1)
        psi = jnp.sum(env * beamlets, axis=0)
        dp = (jnp.abs(jnp.fft.fft2(psi)) ** 2 / (window[0] * window[1])).astype(rdtype)
        return tuple(det.apply(st, dp if isinstance(st, MaskState) else _pad_pattern(dp, wgrid.gpts, window))
                     for det, st in zip(detectors, bstates))

    return jax.vmap(one)(jnp.asarray(positions, rdtype))

