"""Counting noise: the one Poisson sampler for electron (and X-ray) counts at any dose (floor 0).

Every synthetic "dose" in jaxem (HRTEM images, 4D-STEM patterns, EDS spectra, dose series) turns an
expected count λ ≥ 0 into a Poisson draw N ~ Pois(λ). Two library samplers are silently wrong at
high dose, which is why this module exists:

* ``jax.random.poisson`` returns the default integer dtype (int32 unless x64 is on) and *saturates*
  at 2³¹ − 1 ≈ 2.1·10⁹: an image at 10¹² e⁻/Å² came back 500× too dark, without an error.
* ``numpy.random.Generator.poisson`` raises a bare ``ValueError`` for λ ≳ 9.2·10¹⁸.

Here λ < :data:`EXACT_BELOW` (10⁷) is drawn exactly by the library's sampler (so results at ordinary
doses are unchanged, draw for draw); larger λ by the normal limit N ≈ round(λ + √λ·z), z ~ N(0, 1),
clipped at 0. The normal limit is the Poisson law to within its skewness 1/√λ < 3·10⁻⁴ there, far
below anything a count can resolve. The result is a float array (the dtype of λ, at least float32), so
no count overflows an integer type; :func:`poisson_numpy` also gives int64 counts (``integer=True``)
for λ ≤ :data:`MAX_INTEGER_COUNTS`. λ must be finite and ≥ 0 (checked when concrete; an error naming
``name``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import validate

__all__ = ["EXACT_BELOW", "MAX_INTEGER_COUNTS", "poisson", "poisson_numpy"]

#: expected counts below which the exact library sampler is used [counts]
EXACT_BELOW = 1e7
#: largest expected count drawn as an int64 [counts]: 2⁶² ≈ 4.6·10¹⁸, so λ + 10√λ stays below 2⁶³ − 1
MAX_INTEGER_COUNTS = float(2 ** 62)


def _float_dtype(dtype):
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.float32


def _check(lam, name):
    if not validate.is_traced(lam):
        validate.array(lam, name, kind="real", nonnegative=True, min_size=0)


def poisson(key, lam, name: str = "expected counts"):
    """Poisson counts N ~ Pois(``lam``) as a float array of ``lam``'s shape (JAX; jit-compatible).

    Args:
        key: a ``jax.random`` key (used as is for the exact draws, so ordinary doses give the same
            draws as ``jax.random.poisson(key, lam)``).
        lam: expected counts λ [counts], finite and ≥ 0, any shape.
        name: what ``lam`` is called in error messages.
    """
    _check(lam, name)
    lam = jnp.asarray(lam)
    lam = lam.astype(_float_dtype(lam.dtype))
    small = lam < EXACT_BELOW
    exact = jax.random.poisson(key, jnp.where(small, lam, 0.0), shape=lam.shape).astype(lam.dtype)
    z = jax.random.normal(jax.random.fold_in(key, 1), lam.shape, lam.dtype)
    normal = jnp.maximum(jnp.round(lam + jnp.sqrt(lam) * z), 0.0)
    return jnp.where(small, exact, normal)


def poisson_numpy(rng: np.random.Generator, lam, name: str = "expected counts",
                  integer: bool = False) -> np.ndarray:
    """Poisson counts N ~ Pois(``lam``) as a float64 NumPy array (``rng``: a NumPy Generator).

    Same rule as :func:`poisson`: exact below :data:`EXACT_BELOW` (the same draws as
    ``rng.poisson(lam)`` when every λ is below it), the normal limit above. ``integer=True`` returns
    int64 counts (what ``rng.poisson`` returns) and rejects λ > :data:`MAX_INTEGER_COUNTS`, which an
    int64 count could not hold, with an error naming ``name``.
    """
    validate.instance(rng, "rng", np.random.Generator, "a NumPy Generator (np.random.default_rng(seed))")
    _check(lam, name)
    lam = np.asarray(lam, dtype=np.float64)
    if integer and lam.size and lam.max() > MAX_INTEGER_COUNTS:
        raise validate.InputError(f"{name} reaches {lam.max():.4g} counts, more than an int64 count holds "
                                  f"(λ ≤ 2⁶² = {MAX_INTEGER_COUNTS:.4g}); lower the dose or intensity")
    small = lam < EXACT_BELOW
    out = rng.poisson(np.where(small, lam, 0.0)).astype(np.float64)
    if not small.all():
        big = lam[~small]
        out[~small] = np.maximum(np.round(big + np.sqrt(big) * rng.standard_normal(big.shape)), 0.0)
    return out.astype(np.int64) if integer else out
