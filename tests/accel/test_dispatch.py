"""The kernel dispatcher: JAXEM_KERNELS modes, explicit overrides, the CUDA sources it loads."""
import pytest

from jaxem.accel import dispatch
from jaxem.validate import InputError, InputTypeError


def test_modes_and_overrides(monkeypatch):
    monkeypatch.delenv("JAXEM_KERNELS", raising=False)
    assert dispatch.kernel_mode() == "auto"
    monkeypatch.setattr(dispatch, "_gpu_with_cupy", lambda: False)
    assert dispatch.use_kernel() is False           # auto on a machine without a GPU + CuPy: the twin
    monkeypatch.setattr(dispatch, "_gpu_with_cupy", lambda: True)
    assert dispatch.use_kernel() is True            # auto with a GPU and CuPy: the kernel
    monkeypatch.setenv("JAXEM_KERNELS", "Twin ")
    assert dispatch.kernel_mode() == "twin" and dispatch.use_kernel() is False
    monkeypatch.setenv("JAXEM_KERNELS", "kernel")
    assert dispatch.use_kernel() is True and dispatch.use_kernel(False) is False  # the argument wins
    monkeypatch.setenv("JAXEM_KERNELS", "fast")
    with pytest.raises(InputError, match="JAXEM_KERNELS"):
        dispatch.kernel_mode()
    with pytest.raises(InputTypeError, match="kernel must be None, True or False, got 'yes'"):
        dispatch.use_kernel("yes")


def test_sources_are_found_and_named(monkeypatch, tmp_path):
    assert {"structure_factor", "segment_sum"} <= set(dispatch.kernel_sources())
    assert "__global__" in dispatch.kernel_source("segment_sum")
    with pytest.raises(InputError, match="kernel name must be one of"):
        dispatch.kernel_source("segment_summ")
    (tmp_path / "mine.cu").write_text("__global__ void k() {}")
    monkeypatch.setenv("JAXEM_KERNEL_DIR", str(tmp_path))
    assert list(dispatch.kernel_sources()) == ["mine"]
