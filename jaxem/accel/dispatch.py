"""The kernel dispatcher: which implementation of a hot loop runs, and where the CUDA sources live.

Every CUDA kernel in ``kernels/*.cu`` has a pure-JAX *twin* computing the same function. A call
site asks :func:`use_kernel` and gets the kernel only on a GPU where CuPy imports (the kernel is
launched inside ``jit`` by :mod:`jax.experimental.buffer_callback` on XLA's stream, no host copies);
everywhere else the twin runs. A flag forces either path:

* the argument ``kernel=`` of each operation: ``None`` (automatic), ``True`` (the kernel path),
  ``False`` (the twin);
* the environment variable ``JAXEM_KERNELS`` = ``auto`` (default) | ``kernel`` | ``twin``.

On a CPU backend the kernel path runs the kernel's NumPy emulation inside the same
``buffer_callback`` plumbing (same launch geometry, same VJP), so the dispatch, the callback and the
custom VJP are tested without a GPU; the CUDA source itself is compile-checked by NVRTC
(:mod:`jaxem.accel.nvrtc`) and compared with its twin on a GPU by the ``gpu``-marked tests.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from .. import validate

__all__ = ["kernel_mode", "use_kernel", "kernel_dir", "kernel_source", "kernel_sources", "cupy_module",
           "MODES"]

MODES = ("auto", "kernel", "twin")


def kernel_mode() -> str:
    """The mode from ``JAXEM_KERNELS`` (``auto`` when unset)."""
    value = os.environ.get("JAXEM_KERNELS", "auto").strip().lower() or "auto"
    return validate.choice(value, "the environment variable JAXEM_KERNELS", MODES)


def _gpu_with_cupy() -> bool:
    from .devices import cupy_available

    return bool(cupy_available())


def use_kernel(kernel=None) -> bool:
    """True when the kernel path should run.

    Args:
        kernel: None (follow ``JAXEM_KERNELS``; ``auto`` picks the kernel only on a GPU with CuPy),
            True (force the kernel path: CUDA on a GPU, its NumPy emulation on CPU), False (the twin).
    """
    if kernel is not None and not isinstance(kernel, bool):
        raise validate.InputTypeError(f"kernel must be None, True or False, got {kernel!r}")
    if kernel is None:
        mode = kernel_mode()
        if mode != "auto":
            kernel = mode == "kernel"
        else:
            return _gpu_with_cupy()
    if kernel:
        import jax

        if jax.default_backend() == "gpu" and not _gpu_with_cupy():
            raise validate.InputError("kernel=True (or JAXEM_KERNELS=kernel) on a GPU needs CuPy: install "
                                      "jaxem[gpu] (cupy-cuda13x), or pass kernel=False for the JAX twin")
    return bool(kernel)


def kernel_dir() -> Path:
    """Folder of the ``*.cu`` sources: ``JAXEM_KERNEL_DIR``, else ``kernels/`` of the source tree."""
    env = os.environ.get("JAXEM_KERNEL_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for cand in (here / "kernels", here.parents[1] / "kernels"):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"the CUDA kernel sources (kernels/*.cu) were not found beside {here}; set "
                            "JAXEM_KERNEL_DIR")


def kernel_sources() -> dict:
    """{name: path} of every ``*.cu`` kernel source."""
    return {p.stem: p for p in sorted(kernel_dir().glob("*.cu"))}


def kernel_source(name: str) -> str:
    """The CUDA C source ``kernels/<name>.cu``."""
    srcs = kernel_sources()
    validate.choice(name, "kernel name", tuple(srcs))
    return srcs[name].read_text()


@functools.lru_cache(maxsize=None)
def cupy_module(name: str):
    """The compiled CuPy ``RawModule`` of ``kernels/<name>.cu`` (compiled once per process, on first use)."""
    import cupy

    return cupy.RawModule(code=kernel_source(name), options=("-std=c++17",))
