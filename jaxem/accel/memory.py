"""The memory policy: one function turns a budget and an operation's bytes per item into a batch.

Batch axes (probe positions, configurations, frames, tilts, bright-field pixels) are processed in
batches whose size comes from the memory budget, never from a hard-coded constant. Each operation
declares its working set per batch item in bytes (``bytes_per_item``) and calls :func:`batch_size`.
The budget is the argument ``memory_budget`` (the one name used across jaxem: bytes as an int, or a
string such as ``"512M"``, ``"2 GiB"``), else the environment variable ``JAXEM_MEMORY_BUDGET``, else a
quarter of the free device memory. On the CPU backend an operation may also cap its working set
(``cpu_cap`` bytes) where larger batches are memory-bound and slower; an explicit budget lifts it.

The cap for FFT-bound batches (waves through the slice step, probes, frames, plane waves) is one
number, :data:`CPU_WORKING_SET`, read through :func:`cpu_working_set` (environment variable
``JAXEM_CPU_WORKING_SET`` overrides it; ``off`` lifts it). It also makes batch shapes independent of
the free memory on the CPU (the budget, a quarter of the free memory, is far above the cap), so a
repeated call never recompiles.
"""
from __future__ import annotations

import math
import os
import re

import jax

from .. import validate
from ..validate import InputError, InputTypeError

_DEFAULT_FRACTION = 0.25
#: working set [bytes] of one vmapped batch of FFT-bound work (waves in the slice step, probes, phonon
#: frames, plane waves) on the CPU backend, when no explicit ``memory_budget`` is given: batched 2-D
#: FFTs are cache-bound there, and a batch whose estimated working set exceeds this runs slower per
#: item than a smaller one (measurements: benchmarks/multislice_cpu_batch.py)
CPU_WORKING_SET = 16 * 2**20
_OFF = ("off", "none", "no", "false")
_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 10**3, "KIB": 2**10, "M": 2**20, "MB": 10**6, "MIB": 2**20,
          "G": 2**30, "GB": 10**9, "GIB": 2**30, "T": 2**40, "TB": 10**12, "TIB": 2**40}


def parse_bytes(value, name: str = "memory_budget") -> int:
    """Bytes from an int or a string like ``'256M'`` (binary K/M/G/T), ``'2 GiB'`` or ``'500 MB'``."""
    if isinstance(value, bool):
        raise InputTypeError(f"{name} must be a number of bytes or a string like '512M', got {value!r}")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", value)
        if not m or m.group(2).upper() not in _UNITS:
            raise InputError(f"{name} must be a number of bytes or a string like '512M', '2 GiB', got {value!r}")
        out = float(m.group(1)) * _UNITS[m.group(2).upper()]
    else:
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise InputTypeError(f"{name} must be a number of bytes or a string like '512M', got {value!r}") from None
    if not out >= 1 or out != out or out == float("inf"):
        raise InputError(f"{name} must be ≥ 1 byte and finite, got {value!r}")
    return int(out)


def available_memory(device=None) -> int:
    """Free memory [bytes] on ``device`` (default: the first JAX device).

    GPUs report ``bytes_limit − bytes_in_use``; on CPU the host's available memory is used.
    """
    if device is not None and not callable(getattr(device, "memory_stats", None)):
        raise InputTypeError(f"device must be a JAX device (e.g. jax.devices()[0]) or None, got {device!r}")
    device = device or jax.devices()[0]
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:  # CPU backends may not implement memory_stats
        stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # pragma: no cover - psutil is a dependency
        return 4 * 2**30


def memory_budget(memory_budget=None, device=None) -> int:
    """Bytes that one batched computation may use: ``memory_budget`` if given (int bytes or '2G'),
    else the environment variable ``JAXEM_MEMORY_BUDGET``, else a quarter of the free device memory."""
    if memory_budget is not None:
        return parse_bytes(memory_budget, "memory_budget")
    env = os.environ.get("JAXEM_MEMORY_BUDGET")
    if env is not None and env.strip():
        return parse_bytes(env, "the environment variable JAXEM_MEMORY_BUDGET")
    return int(_DEFAULT_FRACTION * available_memory(device))


def cpu_working_set():
    """The CPU working-set cap [bytes] for FFT-bound batches: the environment variable
    ``JAXEM_CPU_WORKING_SET`` (bytes or a string such as ``'32M'``; ``off`` → None, no cap), else
    :data:`CPU_WORKING_SET`. Pass it as ``cpu_cap`` to :func:`batch_size`."""
    env = os.environ.get("JAXEM_CPU_WORKING_SET")
    if env is None or not env.strip():
        return CPU_WORKING_SET
    if env.strip().lower() in _OFF:
        return None
    return parse_bytes(env, "the environment variable JAXEM_CPU_WORKING_SET")


def batch_size(bytes_per_item: int, n_items: int, memory_budget=None, device=None, *, cpu_cap=None) -> int:
    """Largest batch (≥ 1, ≤ ``n_items``) whose working set ``bytes_per_item × batch`` fits the budget.

    ``cpu_cap``: on the CPU backend, and only when no explicit ``memory_budget`` is given, also keep
    the working set under this many bytes.
    """
    n_items = validate.integer(n_items, "n_items", lo=1)
    per = max(1, int(math.ceil(validate.scalar(bytes_per_item, "bytes_per_item", "bytes", positive=True,
                                               allow_traced=False))))
    budget = globals()["memory_budget"](memory_budget, device)
    b = budget // per
    if cpu_cap is not None and memory_budget is None and jax.default_backend() == "cpu":
        b = min(b, int(cpu_cap) // per)
    return int(max(1, min(int(n_items), b)))
