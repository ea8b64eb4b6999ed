"""Precision policy: the one place where a precision argument becomes dtypes.

Every public function that takes ``precision`` resolves it here (:func:`resolve_precision`, then
:func:`dtypes`) or follows its input array (:func:`precision_of`); no module picks a dtype inline.
float32/complex64 by default, float64/complex128 on request (needs JAX's x64 mode), so results never
change dtype silently when x64 is switched on.

Accepted spellings (all tested): ``None`` (float32), ``"float32"``, ``"single"``, ``"32"``, ``32``,
``"f4"``, ``"complex64"``, ``"c8"``, ``numpy.float32``, ``numpy.complex64``, ``jax.numpy.float32``,
and the float64 counterparts ``"float64"``, ``"double"``, ``"64"``, ``64``, ``"f8"``,
``"complex128"``, ``"c16"``, ``numpy.float64`` …

JAX's 64-bit mode is read and switched here only (the float64-without-x64 question has one answer):
:func:`x64_enabled` reads it; :func:`default_precision` is JAX's default float as a precision, for
the few functions documented to follow the mode; :func:`float64_mode` runs a block in float64
whatever the global setting (Hessians, L-BFGS refinements, form-factor tables that need float64
internally), and ``resolve_precision("float64")`` outside it is an error naming the argument, never
a silent float32.
"""
from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from ..validate import InputError, InputTypeError

_REAL = {"float32": jnp.float32, "float64": jnp.float64}
_COMPLEX = {"float32": jnp.complex64, "float64": jnp.complex128}
_ALIASES = {"float32": "float32", "single": "float32", "32": "float32", "complex64": "float32",
            "f4": "float32", "c8": "float32",
            "float64": "float64", "double": "float64", "64": "float64", "complex128": "float64",
            "f8": "float64", "c16": "float64"}
#: every spelling :func:`resolve_precision` accepts (tests iterate over it)
PRECISION_ALIASES = tuple(_ALIASES) + (32, 64, np.float32, np.float64, np.complex64, np.complex128,
                                       jnp.float32, jnp.float64, jnp.complex64, jnp.complex128)


def x64_enabled() -> bool:
    """True when JAX's 64-bit mode is on (globally or inside :func:`float64_mode`)."""
    return bool(jax.config.jax_enable_x64)


def default_precision() -> str:
    """JAX's default float as a precision: ``'float64'`` in 64-bit mode, else ``'float32'``.

    Only for functions whose documented default follows the mode; the house default for a
    ``precision=None`` argument is float32 (:func:`resolve_precision`)."""
    return "float64" if x64_enabled() else "float32"


@contextlib.contextmanager
def float64_mode():
    """Run the block with JAX's 64-bit mode on, whatever the global setting; restored afterwards.

    For code that must compute in float64 (second derivatives, least-squares refinements, tables
    compared to 1e-12) without asking the caller to switch x64 on for the whole program. Convert
    results to NumPy (or Python numbers) inside the block: a float64 JAX array used after it with
    the mode off is demoted to float32 by its next operation. Functions jitted inside are cached
    separately from the same functions outside (the mode is part of the cache key)."""
    with jax.enable_x64(True):
        yield


def resolve_precision(precision) -> str:
    """Normalise ``precision`` to ``'float32'`` or ``'float64'`` (see the module docstring)."""
    if precision is None:
        return "float32"
    if isinstance(precision, (bool, np.bool_)):
        raise InputError(f"precision must be 'float32' or 'float64' (or an alias), got {precision!r}")
    try:
        key = np.dtype(precision).name if not isinstance(precision, (str, int, np.integer)) else str(precision)
    except TypeError:
        key = str(precision)
    key = key.strip().lower()
    if key not in _ALIASES:
        raise InputError(f"precision must be 'float32' or 'float64' (aliases: {', '.join(_ALIASES)}), "
                         f"got {precision!r}")
    p = _ALIASES[key]
    if p == "float64" and not x64_enabled():
        raise InputError(
            f"precision={precision!r} needs JAX's 64-bit mode: call jax.config.update('jax_enable_x64', True) "
            "before creating arrays, or run the call inside `with jaxem.accel.float64_mode():`"
        )
    return p


def real_dtype(precision=None):
    """Real dtype for ``precision`` (float32 default)."""
    return _REAL[resolve_precision(precision)]


def complex_dtype(precision=None):
    """Complex dtype for ``precision`` (complex64 default)."""
    return _COMPLEX[resolve_precision(precision)]


def dtypes(precision=None) -> tuple:
    """(real, complex) dtypes for ``precision``."""
    p = resolve_precision(precision)
    return _REAL[p], _COMPLEX[p]


def precision_of(array) -> str:
    """'float64' if ``array`` is float64/complex128 and JAX's x64 mode is on, else 'float32'
    (integers → 'float32'; a NumPy float64 array with x64 off → 'float32', the precision JAX
    computes it in)."""
    if hasattr(array, "dtype"):
        dt = np.dtype(array.dtype)
    else:
        try:
            dt = np.asarray(array).dtype
        except Exception:
            dt = np.dtype(object)
        if dt.kind not in "biufc":
            raise InputTypeError(f"array must be a numeric array or number, got {type(array).__name__}")
    return "float64" if dt in (np.float64, np.complex128) and x64_enabled() else "float32"


def dtypes_of(array) -> tuple:
    """(real, complex) dtypes matching the precision of ``array`` (float64/complex128 → double)."""
    p = precision_of(array)
    return _REAL[p], _COMPLEX[p]


def real_dtype_of(x, precision=None):
    """Real dtype to compute ``x`` in: ``precision`` if given, else the precision of ``x``
    (float32 when JAX's x64 mode is off, even for NumPy float64 input)."""
    return real_dtype(precision) if precision is not None else _REAL[precision_of(x)]


def select_precision(precision, *arrays) -> str:
    """``precision`` if given, else float64 when any of ``arrays`` is double, else float32."""
    if precision is not None:
        return resolve_precision(precision)
    for a in arrays:
        if a is not None and hasattr(a, "dtype") and precision_of(a) == "float64":
            return "float64"
    return "float32"
