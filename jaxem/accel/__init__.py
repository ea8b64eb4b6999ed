"""Device and dtype policy, memory budget → batch sizes, memory estimates, the CuPy bridge and the
kernel dispatcher.

Public API: :func:`real_dtype`, :func:`complex_dtype`, :func:`dtypes_of`, :func:`real_dtype_of`,
:func:`x64_enabled`, :func:`default_precision`, :func:`float64_mode` (the one float64-without-x64 answer),
:func:`memory_budget`, :func:`batch_size`, :func:`cpu_working_set`, :func:`has_gpu`, :class:`MemoryEstimate`,
:func:`out_of_memory_hint`, :func:`use_kernel`.
"""
from .policy import (PRECISION_ALIASES, complex_dtype, default_precision, dtypes, dtypes_of, float64_mode,
                     precision_of, real_dtype, real_dtype_of, resolve_precision, select_precision, x64_enabled)
from .memory import CPU_WORKING_SET, available_memory, batch_size, cpu_working_set, memory_budget, parse_bytes
from .devices import default_backend, disable_compilation_cache, enable_compilation_cache, has_gpu
from . import estimate
from .estimate import MemoryEstimate, OutOfMemoryError, out_of_memory_hint
from .dispatch import kernel_mode, use_kernel

__all__ = [
    "complex_dtype", "dtypes", "dtypes_of", "precision_of", "real_dtype", "real_dtype_of", "resolve_precision",
    "select_precision", "PRECISION_ALIASES", "parse_bytes", "x64_enabled", "default_precision", "float64_mode",
    "available_memory", "batch_size", "memory_budget", "CPU_WORKING_SET", "cpu_working_set", "has_gpu",
    "default_backend", "disable_compilation_cache", "enable_compilation_cache",
    "MemoryEstimate", "OutOfMemoryError", "out_of_memory_hint", "estimate", "kernel_mode", "use_kernel",
]
