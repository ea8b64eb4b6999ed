"""Detection of waves: intensities and diffraction patterns with angular axes.

Diffraction patterns are fractions of the incident beam per reciprocal pixel:
DP(k) = |F[ψ](k)|² / (N · norm), N = nx·ny and ``norm`` = Σ|ψ_in|², so Σ_k DP = 1 for a wave that
lost nothing. Patterns are returned fft-shifted (zero frequency at [n//2]) with axes in mrad (from
the waves' beam) or 1/Å.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import validate
from ..measurement import Axis, Measurement, real_space_axes
from ..measurement import batch_axes as _batch_axes
from .waves import Waves, check_waves

UNITS = ("mrad", "1/Å")


def diffraction_patterns_array(psi, norm: float):
    """|F[ψ]|² / (N·norm), unshifted (zero frequency at [0, 0]); any batch shape. Concrete inputs
    (outside jit) are checked: ψ finite (…, ny, nx), norm > 0."""
    if not validate.is_traced(psi):
        validate.array(psi, "psi", min_ndim=2, kind="numeric")
    validate.scalar(norm, "norm", positive=True)
    n = psi.shape[-1] * psi.shape[-2]
    return jnp.abs(jnp.fft.fft2(psi)) ** 2 / (n * norm)


def wave_metadata(waves: Waves, **extra) -> dict:
    """JSON-ready metadata of ``waves`` (beam with units, grid, incident norm) plus ``extra``."""
    return {"beam": waves.beam.to_dict(), "energy": waves.energy,
            "grid": {"gpts": list(waves.grid.gpts), "sampling": {"value": list(waves.grid.sampling), "units": "Å"}},
            "norm": float(waves.norm), **extra}


def diffraction_pattern(waves: Waves, max_angle: float | None = None, units: str = "mrad",
                        batch_axes=None) -> Measurement:
    """Diffraction pattern(s) of ``waves`` as a Measurement with (θy, θx) axes in mrad (or ky, kx in 1/Å).

    Args:
        waves: :class:`Waves` (their beam converts frequencies to angles).
        max_angle: crop to |θ| ≤ max_angle [mrad] per axis; at most the grid's Nyquist angle (an error
            beyond it, never a silent crop); default the anti-alias limit; ``inf``: the whole grid.
        units: 'mrad' or '1/Å'.
        batch_axes: the leading axes, names or calibrated :class:`~jaxem.measurement.Axis` (e.g. the
            thickness of each exit plane; default batch0, batch1, … [pixels]).
    """
    check_waves(waves)
    units = validate.choice(units, "units", UNITS)
    grid, beam = waves.grid, waves.beam
    if max_angle is None:
        limit = beam.cutoff_angle(grid)
    else:
        limit = beam.check_angle(max_angle, grid, "max_angle", limit="nyquist", allow_inf=True)
        if not limit > 0:
            raise validate.InputError(f"max_angle must be > 0 mrad, got {max_angle!r}")
    dp = jnp.fft.fftshift(diffraction_patterns_array(waves.array, waves.norm), axes=(-2, -1))
    slices, axes = [], []
    for n, dk_mrad, dk, name in zip(grid.gpts, beam.angular_sampling(grid), grid.reciprocal_sampling, ("y", "x")):
        half = n // 2 if limit == float("inf") else min(n // 2, int(np.floor(limit / dk_mrad * (1 + 1e-12))))
        c = n // 2
        sl = slice(c - half, min(c + half + 1, n))
        slices.append(sl)
        off = sl.start - c
        axes.append(Axis(f"θ{name}", dk_mrad, "mrad", off * dk_mrad) if units == "mrad"
                    else Axis(f"k{name}", dk, "1/Å", off * dk))
    dp = dp[..., slices[0], slices[1]]
    meta = wave_metadata(waves, quantity="fraction of incident intensity",
                         max_angle={"value": float(limit), "units": "mrad"},
                         signal_type="electron_diffraction")  # HyperSpy/pyxem signal type
    return Measurement(dp, _batch_axes(dp.ndim - 2, batch_axes) + tuple(axes), meta)


def intensity(waves: Waves, batch_axes=None) -> Measurement:
    """|ψ|² in real space as a Measurement with (y, x) axes in Å."""
    check_waves(waves)
    arr = jnp.abs(waves.array) ** 2
    meta = wave_metadata(waves, quantity="intensity (incident plane wave = 1)")
    return Measurement(arr, _batch_axes(arr.ndim - 2, batch_axes) + real_space_axes(waves.grid), meta)
