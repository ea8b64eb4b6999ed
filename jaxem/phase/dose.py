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

from .. import accel, noise, validate
from .direct import reconstruct_spectrum
from .stack import BFStack


@validate.typed
def ssnr(stack: BFStack, method: str = "ssb", dose: float = 1e3, n_realisations: int = 16, seed: int = 0,
         aberrations=None, rotation=0.0, upsampling: int = 1, memory_budget=None):
    """SSNR(q) (u·Sy, u·Sx) of ``method`` at ``dose`` [e⁻ per probe position].

    Args:
        stack: noise-free bright-field stack (I/I₀ with I₀ the mean total intensity).
        method: 'ssb', 'obf' or 'parallax'.
        dose: electrons per probe position (> 0).
        n_realisations: number of Poisson realisations M (≥ 2).
        seed: PRNG seed.
        aberrations, rotation, upsampling: as for :func:`jaxem.phase.direct.reconstruct_spectrum`.
        memory_budget: bytes (or '2G') for the realisation batches (default: accel policy).
    """
    if not isinstance(stack, BFStack):
        raise validate.InputTypeError(f"stack must be a BFStack (phase.bright_field_stack), got {type(stack).__name__}")
    dose = validate.scalar(dose, "dose", "e⁻ per probe position", positive=True, allow_traced=False)
    n_realisations = validate.integer(n_realisations, "n_realisations", lo=2)
    seed = validate.integer(seed, "seed")
    upsampling = validate.integer(upsampling, "upsampling", lo=1)
    keys = jax.random.split(jax.random.PRNGKey(seed), n_realisations)
    vbf = stack.vbf

    def one(key):
        counts = noise.poisson(key, jnp.clip(vbf, 0, None) * dose).astype(vbf.dtype)
        noisy = stack.replace(vbf=counts / dose)
        return reconstruct_spectrum(noisy, method, aberrations, rotation, upsampling, memory_budget)

    per = int(np.prod(vbf.shape)) * vbf.dtype.itemsize * 4 * upsampling**2
    b = accel.batch_size(per, n_realisations, memory_budget)
    specs = jax.lax.map(one, keys, batch_size=b)
    mean = jnp.mean(specs, 0)
    std = jnp.sqrt(jnp.sum(jnp.abs(specs - mean) ** 2, 0) / (specs.shape[0] - 1))
    return jnp.where(std > 0, jnp.abs(mean) / jnp.where(std > 0, std, 1.0), 0.0)
