"""Device queries and the optional CuPy bridge (DLPack, zero-copy)."""
from __future__ import annotations

import functools

import jax


def default_backend() -> str:
    """'gpu', 'tpu' or 'cpu'."""
    return jax.default_backend()


@functools.lru_cache(maxsize=1)
def has_gpu() -> bool:
    """True when JAX sees a CUDA/ROCm device."""
    try:
        return any(d.platform == "gpu" for d in jax.devices())
    except RuntimeError:
        return False


def cupy_available() -> bool:
    """True when CuPy imports and a GPU is present (kernels in ``kernels/`` are then used)."""
    if not has_gpu():
        return False
    try:
        import cupy  # noqa: F401
    except Exception:
        return False
    return True


def to_cupy(x):
    """JAX array → CuPy array without a copy (DLPack)."""
    import cupy

    return cupy.from_dlpack(x)


def from_cupy(x):
    """CuPy array → JAX array without a copy (DLPack)."""
    import jax.numpy as jnp

    return jnp.from_dlpack(x)


def release_compiled_programs() -> None:
    """Drop JAX's in-memory caches of compiled programs (and collect them). On the CPU backend every live compiled
    program keeps its memory mappings; a process that compiles thousands of programs reaches Linux's
    ``vm.max_map_count`` (65,530 by default) and XLA then crashes inside its next compilation (a segfault or an
    abort: pytest workers after about 30 min, 2026-12-06). Long processes call it between independent stages (the
    gallery after every section, the test session when a worker holds too many mappings)."""
    import gc

    jax.clear_caches()
    gc.collect()


def memory_map_count() -> int:
    """Number of memory mappings of this process (0 where ``/proc`` is missing)."""
    try:
        with open("/proc/self/maps") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


#: default bound of the persistent compilation cache [bytes]; least recently used programs are evicted beyond it
COMPILATION_CACHE_MAX_BYTES = 4 * 2**30


def enable_compilation_cache(path=None, max_bytes: int = COMPILATION_CACHE_MAX_BYTES) -> str:
    """Turn on JAX's persistent compilation cache (cold starts reuse compiled programs).

    ``path`` defaults to ``$JAX_COMPILATION_CACHE_DIR`` or ``~/.cache/jaxem/jax``. Returns the path.

    The ``jaxem`` CLI calls it on GPU backends (on the CPU backend only with ``JAXEM_COMPILATION_CACHE=1``; see
    docs/architecture.md).

    ``max_bytes`` bounds the folder (least recently used programs are evicted) and, through it, makes several
    processes safe on one folder: with a bound, JAX reads and writes entries under a file lock, so a batch of jobs
    sharing ``~/.cache`` never reads an entry another job is still writing (without one JAX writes entries in
    place, unlocked). Takes effect at once, also when the process has already used a cache (JAX opens its cache
    folder once, at the first compilation that uses it, and keeps writing there until the cache is reset: a second
    call with another folder, or turning it off, was silently ignored before).
    """
    import os
    from pathlib import Path

    from jax.experimental.compilation_cache import compilation_cache

    from .. import validate

    given = path if path is not None else os.environ.get("JAX_COMPILATION_CACHE_DIR")
    what = "path" if path is not None else "the environment variable JAX_COMPILATION_CACHE_DIR"
    if given is not None and not isinstance(given, (str, os.PathLike)):
        raise TypeError(f"{what} must be a folder path, got {type(given).__name__}")
    max_bytes = validate.integer(max_bytes, "max_bytes", lo=2**20)
    path = Path(given or Path.home() / ".cache" / "jaxem" / "jax")
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{what}: the compilation cache folder {path} is a file")
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    jax.config.update("jax_compilation_cache_max_size", int(max_bytes))
    compilation_cache.reset_cache()
    return str(path)


def disable_compilation_cache() -> None:
    """Turn JAX's persistent compilation cache off for this process (also after :func:`enable_compilation_cache`)."""
    from jax.experimental.compilation_cache import compilation_cache

    jax.config.update("jax_compilation_cache_dir", None)
    compilation_cache.reset_cache()
