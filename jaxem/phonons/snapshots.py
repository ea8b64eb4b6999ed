"""Frozen-phonon snapshots drawn from the harmonic ensemble: correlated displacements with classical
or quantum (zero-point) amplitudes.

In thermal equilibrium a harmonic crystal's mode coordinates are independent Gaussians: each complex
Q_qν has ⟨|Q_qν|²⟩ = A(ω_qν), with A = ħ/(2ω) coth(ħω/2k_BT) for the quantum (Bose–Einstein, zero-point
included) ensemble and A = k_BT/ω² for the classical one (the Wigner distribution of a harmonic
oscillator is Gaussian with the quantum variance, so quantum snapshots are exact for static
observables such as frozen-phonon diffraction). The displacements u = M^{−1/2} B†Q (B the unitary
mode basis of :class:`~jaxem.phonons.ModeProjector`) then have covariance
⟨u_i u_j⟩ = Σ_qν A_qν Re(b*_qν,i b_qν,j)/√(M_i M_j); each draw is √2·Re(M^{−1/2} B†(√A ⊙ ξ)) with ξ
complex standard normal, which has exactly this covariance for any choice of eigenvectors within
degenerate sets. Between Einstein snapshots (uncorrelated, tabulated B) and classical MD (correlated,
no zero-point motion) these are correlated *and* quantum-corrected.

A set of modes may be selected (a boolean mask over (q, ν) or a band of frequencies); the field is
real, so selecting (q, ν) also excites (−q, ν). The uniform translations (ω = 0 at Γ) are never
excited: the centre of mass stays fixed. All draws are one batched matrix product (no Python loop
over snapshots); the random stream of snapshot k does not depend on how many are drawn.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from ..accel import dtypes
from .harmonic import mode_amplitudes
from .modes import ModeProjector


@validate.typed
def mode_selection(projector: ModeProjector, modes=None) -> np.ndarray:
    """Boolean mask (n_q, n_branches) from ``modes``: None (all), a mask of that shape, or a band
    (f_min, f_max) [THz] of frequencies."""
    validate.instance(projector, "projector", ModeProjector, "a ModeProjector (from phonons.mode_projector)")
    shape = tuple(projector.frequencies.shape)
    if modes is None:
        return np.ones(shape, bool)
    if isinstance(modes, tuple) and len(modes) == 2 and all(np.isscalar(x) for x in modes):
        lo, hi = validate.pair(modes, "modes", "THz")
        if not hi > lo:
            raise validate.InputError(f"modes: a frequency band needs f_min < f_max [THz], got {modes!r}")
        f = np.asarray(projector.frequencies)
        return (f >= lo) & (f <= hi)
    mask = np.asarray(modes)
    if mask.dtype != bool or mask.shape != shape:
        raise validate.InputError(f"modes must be None, a (f_min, f_max) band [THz] or a boolean mask of shape "
                                  f"{shape} (q-points × branches), got {mask.dtype} array of shape {mask.shape}")
    return mask


@validate.typed
def harmonic_displacements(key, projector: ModeProjector, temperature, n: int, quantum: bool = True, modes=None,
                           precision=None):
    """Displacements (n, N, 3) [Å] of ``n`` snapshots of the harmonic ensemble at ``temperature``
    [K] (see the module docstring); ``modes`` restricts the excited modes."""
    validate.instance(projector, "projector", ModeProjector, "a ModeProjector (from phonons.mode_projector)")
    n = validate.integer(n, "n", lo=1)
    real, cplx = dtypes(precision)
    f = np.asarray(projector.frequencies, np.float64)
    amp = mode_amplitudes(f, temperature, quantum) * mode_selection(projector, modes)
    w = np.conj(np.asarray(projector.basis)) * np.sqrt(amp)[:, :, None, None]  # (q, ν, N, 3)
    w = jnp.asarray(w.reshape(-1, w.shape[2] * 3) * math.sqrt(2.0), cplx)
    inv_m = jnp.asarray(1.0 / np.asarray(projector.sqrt_masses, np.float64), real)
    keys = jax.random.split(key, n)
    n_blocks = -(-n // RNG_BLOCK)
    keys = jnp.concatenate([keys, jnp.broadcast_to(keys[:1], (n_blocks * RNG_BLOCK - n,) + keys.shape[1:])]) if n % RNG_BLOCK else keys
    # fixed blocks of RNG_BLOCK draws: one compilation per supercell, whatever n
    out = [_draw(keys[i * RNG_BLOCK:(i + 1) * RNG_BLOCK], w, inv_m) for i in range(n_blocks)]
    return jnp.concatenate(out)[:n]


#: snapshots drawn per compiled call (the stream of snapshot k does not depend on n)
RNG_BLOCK = 64


@jax.jit
def _draw(keys, w, inv_m):
    def one(k):
        xi = jax.random.normal(k, (w.shape[0],), w.dtype)  # complex: E|ξ|² = 1, real and imaginary parts ½ each
        y = jnp.real(xi @ w).reshape(-1, 3)
        return y * inv_m[:, None]

    return jax.vmap(one)(keys)


@validate.typed
def harmonic_snapshots(key, projector: ModeProjector, temperature, n: int, quantum: bool = True, modes=None,
                       precision=None):
    """Positions (n, N, 3) [Å] = ideal supercell positions + :func:`harmonic_displacements`: the
    ``snapshots`` argument of :func:`jaxem.propagate.frozen_phonon_multislice` and
    :func:`jaxem.stem.stem_scan` (``thermal="snapshots"``) for the structure ``harmonic.supercell``."""
    validate.instance(projector, "projector", ModeProjector, "a ModeProjector (from phonons.mode_projector)")
    u = harmonic_displacements(key, projector, temperature, n, quantum, modes, precision)
    return projector.positions.astype(u.dtype)[None] + u
