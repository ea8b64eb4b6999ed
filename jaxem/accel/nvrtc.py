"""Compile CUDA kernel sources with NVRTC without a GPU (the CI check of ``kernels/*.cu``).

CuPy's own compiler queries the device and fails on a machine without one, so this goes through
NVIDIA's ``cuda.bindings.nvrtc`` (the ``cuda-bindings`` and ``nvidia-cuda-nvrtc`` wheels) directly:
create a program, compile it for a real architecture (``sm_80``, ``sm_90``), read back the CUBIN.
A source that does not compile raises :class:`CompileError` with NVRTC's log.
"""
from __future__ import annotations

__all__ = ["CompileError", "compile_cuda", "nvrtc_version", "ARCHS"]

#: architectures every kernel must compile for (A100, H100/H200)
ARCHS = ("sm_80", "sm_90")


class CompileError(RuntimeError):
    """NVRTC could not compile a source; the message holds its log."""


def _nvrtc():
    try:
        from cuda.bindings import nvrtc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("NVRTC needs the cuda-bindings and nvidia-cuda-nvrtc wheels (pip install "
                          "'cuda-bindings>=13' 'nvidia-cuda-nvrtc>=13')") from exc
    return nvrtc


def _check(result, what, prog=None):
    nvrtc = _nvrtc()
    err = result[0]
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        log = _log(prog) if prog is not None else ""
        raise CompileError(f"{what} failed ({err.name}){': ' + log if log else ''}")
    return result[1:] if len(result) > 2 else (result[1] if len(result) == 2 else None)


def _log(prog) -> str:
    nvrtc = _nvrtc()
    err, size = nvrtc.nvrtcGetProgramLogSize(prog)
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS or size <= 1:
        return ""
    buf = b" " * size
    nvrtc.nvrtcGetProgramLog(prog, buf)
    return buf.decode(errors="replace").rstrip("\x00").strip()


def nvrtc_version() -> tuple:
    """(major, minor) of the NVRTC library."""
    return tuple(_check(_nvrtc().nvrtcVersion(), "nvrtcVersion"))


def compile_cuda(source: str, name: str = "kernel.cu", arch: str = "sm_80", options=()) -> bytes:
    """CUBIN of ``source`` for ``arch`` (e.g. ``'sm_90'``); :class:`CompileError` with the log on failure."""
    nvrtc = _nvrtc()
    prog = _check(nvrtc.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], []), "nvrtcCreateProgram")
    try:
        opts = [f"--gpu-architecture={arch}".encode(), b"-std=c++17", b"-lineinfo"] + [o.encode() for o in options]
        res = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
        if res[0] != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            raise CompileError(f"{name} does not compile for {arch}:\n{_log(prog)}")
        size = _check(nvrtc.nvrtcGetCUBINSize(prog), "nvrtcGetCUBINSize")
        buf = b" " * size
        _check(nvrtc.nvrtcGetCUBIN(prog, buf), "nvrtcGetCUBIN")
        return bytes(buf)
    finally:
        nvrtc.nvrtcDestroyProgram(prog)
