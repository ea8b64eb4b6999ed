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


def enable_compilation_cache(path=None) -> str:
    """Turn on JAX's persistent compilation cache (cold starts reuse compiled programs).

    ``path`` defaults to ``$JAX_COMPILATION_CACHE_DIR`` or ``~/.cache/jaxem/jax``. Returns the path.
    """
    import os
    from pathlib import Path

    given = path if path is not None else os.environ.get("JAX_COMPILATION_CACHE_DIR")
    what = "path" if path is not None else "the environment variable JAX_COMPILATION_CACHE_DIR"
    if given is not None and not isinstance(given, (str, os.PathLike)):
        raise TypeError(f"{what} must be a folder path, got {type(given).__name__}")
    path = Path(given or Path.home() / ".cache" / "jaxem" / "jax")
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{what}: the compilation cache folder {path} is a file")
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    return str(path)
