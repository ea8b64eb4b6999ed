import jax.numpy as jnp
import pytest

from jaxem.accel import default_backend, has_gpu
from jaxem.accel.devices import cupy_available, from_cupy, to_cupy


def test_backend_queries_are_consistent():
    assert default_backend() in ("cpu", "gpu", "tpu")
    assert has_gpu() == (default_backend() == "gpu")
    if not has_gpu():
        assert not cupy_available()


@pytest.mark.gpu
def test_dlpack_round_trip_without_copy():
    pytest.importorskip("cupy")
    x = jnp.arange(16.0)
    c = to_cupy(x)
    assert c.shape == (16,)
    assert jnp.array_equal(from_cupy(c), x)


def test_enable_compilation_cache(tmp_path):
    import jax

    old = jax.config.jax_compilation_cache_dir
    try:
        from jaxem.accel import enable_compilation_cache

        assert enable_compilation_cache(tmp_path / "c") == str(tmp_path / "c")
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "c")
    finally:
        jax.config.update("jax_compilation_cache_dir", old)
