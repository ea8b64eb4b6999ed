"""Precision policy: float32/complex64 by default, float64/complex128 on request.

Functions take ``precision="float32"`` or ``"float64"`` (or infer it from their inputs) and cast
explicitly, so results never change dtype silently when JAX's x64 mode is switched on.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_REAL = {"float32": jnp.float32, "float64": jnp.float64}
_COMPLEX = {"float32": jnp.complex64, "float64": jnp.complex128}


def resolve_precision(precision) -> str:
    """Normalise ``precision`` ('float32'/'single'/32 or 'float64'/'double'/64) to 'float32'/'float64'."""
    if precision is None:
        return "float32"
    aliases = {"float32": "float32", "single": "float32", "32": "float32", "complex64": "float32",
               "float64": "float64", "double": "float64", "64": "float64", "complex128": "float64"}
    key = str(np.dtype(precision).name) if isinstance(precision, (type, np.dtype)) else str(precision)
    if key not in aliases:
        raise ValueError(f"precision must be 'float32' or 'float64', got {precision!r}")
    p = aliases[key]
    if p == "float64" and not jax.config.jax_enable_x64:
        raise ValueError(
            "precision='float64' needs JAX's 64-bit mode: call jax.config.update('jax_enable_x64', True) "
            "before creating arrays"
        )
    return p


def real_dtype(precision=None):
    """Real dtype for ``precision`` (float32 default)."""
    return _REAL[resolve_precision(precision)]


def complex_dtype(precision=None):
    """Complex dtype for ``precision`` (complex64 default)."""
    return _COMPLEX[resolve_precision(precision)]


def dtypes_of(array) -> tuple:
    """(real, complex) dtypes matching the precision of ``array`` (float64/complex128 → double)."""
    dt = jnp.asarray(array).dtype
    if dt in (jnp.float64, jnp.complex128):
        return jnp.float64, jnp.complex128
    return jnp.float32, jnp.complex64
