"""Input validation shared by the optics functions (public boundary, outside jit).

Values that are JAX tracers (inside ``jit``/``grad``) cannot be inspected and are passed through
unchecked; everything concrete is checked and a ``ValueError``/``TypeError`` names the argument,
the value and the expected range.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..accel import dtypes_of, real_dtype


def is_traced(value) -> bool:
    """True if any leaf of ``value`` is a JAX tracer (no concrete value available)."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(value))


def check_energy(energy) -> float:
    """Electron energy [eV] as a Python float; must be concrete, finite and > 0."""
    if is_traced(energy):
        raise TypeError("energy [eV] must be a concrete number (it fixes λ); mark it static under jit")
    try:
        e = float(energy)
    except (TypeError, ValueError):
        raise TypeError(f"energy must be a number in eV, got {energy!r}") from None
    if not math.isfinite(e) or e <= 0:
        raise ValueError(f"energy must be finite and > 0 [eV], got {energy!r}")
    return e


def check_scalar(name: str, value, unit: str, *, positive: bool = False, nonnegative: bool = False,
                 allow_array: bool = False):
    """Check a real parameter (scalar, or array if ``allow_array``); returns it unchanged.

    Args:
        name: argument name used in the message.
        value: the value (tracers pass unchecked).
        unit: unit for the message, e.g. ``"mrad"``.
        positive: require > 0.
        nonnegative: require ≥ 0.
        allow_array: accept arrays (each element is checked).
    """
    if is_traced(value):
        return value
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number [{unit}], got {value!r}") from None
    if arr.ndim and not allow_array:
        raise TypeError(f"{name} must be a scalar [{unit}], got an array of shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite [{unit}], got {value!r}")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 [{unit}], got {value!r}")
    if nonnegative and np.any(arr < 0):
        raise ValueError(f"{name} must be ≥ 0 [{unit}], got {value!r}")
    return value


def check_finite_array(name: str, array, unit: str = "") -> None:
    """Raise ``ValueError`` if a concrete array holds NaN/inf."""
    if is_traced(array):
        return
    a = np.asarray(array)
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} must be finite{f' [{unit}]' if unit else ''}: {bad} NaN/inf values found")


def check_aberrations(aberrations):
    """``None`` → zero aberrations; otherwise must be an :class:`~jaxem.optics.Aberrations`."""
    from .aberrations import Aberrations

    if aberrations is None:
        return Aberrations()
    if not isinstance(aberrations, Aberrations):
        raise TypeError(
            f"aberrations must be a jaxem.optics.Aberrations (use Aberrations.create(defocus=..., Cs=...)), "
            f"got {type(aberrations).__name__}"
        )
    if not is_traced(aberrations):
        for key, val in aberrations.to_dict().items():
            if not np.all(np.isfinite(np.asarray(val, dtype=np.float64))):
                raise ValueError(f"aberration {key} must be finite [Å or rad], got {val!r}")
    return aberrations


def resolve_real_dtype(precision, *arrays):
    """float32 by default; float64 if ``precision`` asks for it or (with ``precision=None``) if any
    of ``arrays`` is float64/complex128."""
    if precision is not None:
        return real_dtype(precision)
    for a in arrays:
        if a is not None and hasattr(a, "dtype") and dtypes_of(a)[0] == jnp.float64:
            return jnp.float64
    return jnp.float32


def complex_of(real):
    """complex dtype matching a real dtype."""
    return jnp.complex128 if real == jnp.float64 else jnp.complex64
