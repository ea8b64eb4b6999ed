"""Memory budget → batch sizes.

Batch axes (probe positions, configurations, frames) are processed in batches whose size comes from
the memory that is free on the device, times a budget fraction, never from a hard-coded constant.
The budget can be set with the environment variable ``JAXEM_MEMORY_BUDGET`` (bytes, or with a
suffix K/M/G) or per call.
"""
from __future__ import annotations

import os

import jax

_DEFAULT_FRACTION = 0.25


def _parse_bytes(text: str) -> int:
    text = text.strip().upper().rstrip("B")
    mult = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    if text and text[-1] in mult:
        return int(float(text[:-1]) * mult[text[-1]])
    return int(float(text))


def available_memory(device=None) -> int:
    """Free memory [bytes] on ``device`` (default: the first JAX device).

    GPUs report ``bytes_limit − bytes_in_use``; on CPU the host's available memory is used.
    """
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


def memory_budget(budget=None, device=None) -> int:
    """Bytes that one batched computation may use: ``budget`` if given (int bytes or '2G'), else the
    environment variable ``JAXEM_MEMORY_BUDGET``, else a quarter of the free device memory."""
    if budget is None:
        budget = os.environ.get("JAXEM_MEMORY_BUDGET")
    if budget is None:
        return int(_DEFAULT_FRACTION * available_memory(device))
    value = _parse_bytes(budget) if isinstance(budget, str) else int(budget)
    if value <= 0:
        raise ValueError(f"memory budget must be > 0 bytes, got {budget!r}")
    return value


def batch_size(bytes_per_item: int, n_items: int, budget=None, device=None) -> int:
    """Largest batch (≥ 1, ≤ ``n_items``) whose working set ``bytes_per_item × batch`` fits the budget."""
    if n_items < 1:
        raise ValueError(f"n_items must be ≥ 1, got {n_items}")
    if bytes_per_item <= 0:
        raise ValueError(f"bytes_per_item must be > 0, got {bytes_per_item}")
    b = memory_budget(budget, device) // int(bytes_per_item)
    return int(max(1, min(n_items, b)))
