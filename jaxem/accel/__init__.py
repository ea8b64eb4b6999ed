"""Device and dtype policy, memory budget → batch sizes, and the CuPy bridge.

Public API: :func:`real_dtype`, :func:`complex_dtype`, :func:`dtypes_of`, :func:`real_dtype_of`,
:func:`memory_budget`, :func:`batch_size`, :func:`has_gpu`.
"""
from .policy import (PRECISION_ALIASES, complex_dtype, dtypes, dtypes_of, precision_of, real_dtype,
                     real_dtype_of, resolve_precision, select_precision)
from .memory import available_memory, batch_size, memory_budget, parse_bytes
from .devices import default_backend, enable_compilation_cache, has_gpu

__all__ = [
    "complex_dtype", "dtypes", "dtypes_of", "precision_of", "real_dtype", "real_dtype_of", "resolve_precision",
    "select_precision", "PRECISION_ALIASES", "parse_bytes",
    "available_memory", "batch_size", "memory_budget", "has_gpu", "default_backend", "enable_compilation_cache",
]
