"""Detection of waves: intensities and diffraction patterns with angular axes.

Diffraction patterns are fractions of the incident beam per reciprocal pixel:
DP(k) = |F[ψ](k)|² / (N · norm), N = nx·ny and ``norm`` = Σ|ψ_in|², so Σ_k DP = 1 for a wave that
lost nothing. Patterns are returned fft-shifted (zero frequency at [n//2]) with axes in mrad.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import physics
from ..measurement import Axis, Measurement, real_space_axes
from .waves import Waves


def diffraction_patterns_array(psi, norm: float):
    """|F[ψ]|² / (N·norm), unshifted (zero frequency at [0, 0]); any batch shape."""
    n = psi.shape[-1] * psi.shape[-2]
    return jnp.abs(jnp.fft.fft2(psi)) ** 2 / (n * norm)


def _batch_axes(n_batch: int, names=None):
    names = names or [f"batch{i}" for i in range(n_batch)]
    return tuple(Axis(nm) for nm in names)


def diffraction_pattern(waves: Waves, max_angle: float | None = None, units: str = "mrad",
                        batch_axes=None) -> Measurement:
    """Diffraction pattern(s) of ``waves`` as a Measurement with (θy, θx) axes in mrad (or ky, kx in 1/Å).

    Args:
        waves: exit waves.
        max_angle: crop to |θ| ≤ max_angle [mrad] (default: the anti-alias limit).
        units: 'mrad' or '1/Å'.
        batch_axes: names of the leading axes (default batch0, batch1, …).
    """
    dp = jnp.fft.fftshift(diffraction_patterns_array(waves.array, waves.norm), axes=(-2, -1))
    grid = waves.grid
    limit = grid.cutoff_angle(waves.energy) if max_angle is None else float(max_angle)
    if limit <= 0:
        raise ValueError(f"max_angle must be > 0 mrad, got {max_angle}")
    lam = physics.wavelength(waves.energy)
    slices = []
    for n, d in zip(grid.gpts, grid.sampling):
        dk_mrad = lam * 1e3 / (n * d)
        half = min(n // 2, int(np.floor(limit / dk_mrad)))
        c = n // 2
        slices.append(slice(c - half, c + half + 1 if c + half + 1 <= n else n))
    dp = dp[..., slices[0], slices[1]]
    axes = []
    for (n, d), sl, name in zip(zip(grid.gpts, grid.sampling), slices, ("y", "x")):
        dk = 1.0 / (n * d)
        off = (sl.start - n // 2) * dk
        if units == "mrad":
            axes.append(Axis(f"θ{name}", dk * lam * 1e3, "mrad", off * lam * 1e3))
        else:
            axes.append(Axis(f"k{name}", dk, "1/Å", off))
    meta = {"energy": waves.energy, "quantity": "fraction of incident intensity", "tilt_mrad": list(waves.tilt)}
    return Measurement(dp, _batch_axes(dp.ndim - 2, batch_axes) + tuple(axes), meta)


def intensity(waves: Waves, batch_axes=None) -> Measurement:
    """|ψ|² in real space as a Measurement with (y, x) axes in Å."""
    arr = jnp.abs(waves.array) ** 2
    meta = {"energy": waves.energy, "quantity": "intensity (incident plane wave = 1)"}
    return Measurement(arr, _batch_axes(arr.ndim - 2, batch_axes) + real_space_axes(waves.grid), meta)
