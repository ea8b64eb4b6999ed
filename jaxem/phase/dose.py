"""Dose efficiency: spectral signal-to-noise ratio (SSNR) of a direct method over Poisson realisations.

For M noisy realisations Φ_i(q) of a reconstruction's spectrum at a given dose,

    SSNR(q) = |mean_i Φ_i(q)| / std_i Φ_i(q)

(the form of the EM000008 article "Evaluating the Transfer of Information in Phase Retrieval STEM
Techniques"; std with M − 1 degrees of freedom). Noise is drawn on the bright-field stack: counts
k ~ Poisson(dose · I(r, k)/I₀) per pattern with ``dose`` electrons per probe position, normalised
again by the mean total (≈ dose). Realisations run through ``lax.map`` in batches, so the study is
one jitted program. The SSNR of an ideal phase measurement grows as sqrt(dose).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..accel import batch_size
from .direct import reconstruct_spectrum
from .stack import BFStack


def ssnr(stack: BFStack, method: str = "ssb", dose: float = 1e3, n_realisations: int = 16, seed: int = 0,
         aberrations=None, rotation=0.0, upsampling: int = 1, budget=None):
    """SSNR(q) (u·Sy, u·Sx) of ``method`` at ``dose`` [e⁻ per probe position].

    Args:
        stack: noise-free bright-field stack (I/I₀ with I₀ the mean total intensity).
        method: 'ssb', 'obf' or 'parallax'.
        dose: electrons per probe position (> 0).
        n_realisations: number of Poisson realisations M (≥ 2).
        seed: PRNG seed.
        aberrations, rotation, upsampling: as for :func:`jaxem.phase.direct.reconstruct_spectrum`.
        budget: memory budget [bytes].
    """
    if not (dose > 0 and np.isfinite(dose)):
        raise ValueError(f"dose must be > 0 electrons per probe position, got {dose!r}")
    if int(n_realisations) < 2:
        raise ValueError(f"n_realisations must be ≥ 2, got {n_realisations!r}")
    keys = jax.random.split(jax.random.PRNGKey(seed), int(n_realisations))
    vbf = stack.vbf

    def one(key):
        counts = jax.random.poisson(key, jnp.clip(vbf, 0, None) * dose).astype(vbf.dtype)
        noisy = stack.replace(vbf=counts / dose)
        return reconstruct_spectrum(noisy, method, aberrations, rotation, upsampling, budget)

    per = int(np.prod(vbf.shape)) * vbf.dtype.itemsize * 4 * upsampling**2
    b = batch_size(per, int(n_realisations), budget)
    specs = jax.lax.map(one, keys, batch_size=b)
    mean = jnp.mean(specs, 0)
    std = jnp.sqrt(jnp.sum(jnp.abs(specs - mean) ** 2, 0) / (specs.shape[0] - 1))
    return jnp.where(std > 0, jnp.abs(mean) / jnp.where(std > 0, std, 1.0), 0.0)
