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


_CACHE_SCRIPT = """
import json, os, sys
import jax, jax.numpy as jnp
from jaxem.accel import disable_compilation_cache, enable_compilation_cache
hits = []
jax.monitoring.register_event_listener(lambda name, **kw: hits.append(name) if name.endswith("cache_hits") else None)
a, b = sys.argv[1:3]
def compile_one(c):
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.jit(lambda x: jnp.sin(x) * c + jnp.cos(x))(jnp.ones(7)).block_until_ready()
enable_compilation_cache(a, max_bytes=2**26)
compile_one(3.0)
n_a = len(os.listdir(a))
enable_compilation_cache(b, max_bytes=2**26)
compile_one(4.0)
disable_compilation_cache()
compile_one(5.0)
print(json.dumps({"hits": len(hits), "a": sorted(os.listdir(a)), "n_a_before": n_a, "b": sorted(os.listdir(b))}))
"""


def _cache_run(a, b):
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("JAX_COMPILATION_CACHE_DIR", "JAXEM_NO_COMPILATION_CACHE")}
    out = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT, str(a), str(b)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_compilation_cache_switches_folders_locks_them_and_turns_off(tmp_path):
    """enable → entries in folder a, under JAX's file lock (the size bound makes the reads and writes of several
    processes on one folder exclusive); enable with folder b → new entries go to b, not a (JAX kept writing to
    the first folder before); disable → no new entries anywhere; a second process reads the entries back."""
    a, b = tmp_path / "a", tmp_path / "b"
    first = _cache_run(a, b)
    programs = {k: [f for f in first[k] if f.startswith("jit__lambda-") and f.endswith("-cache")] for k in "ab"}
    assert ".lockfile" in first["a"] and ".lockfile" in first["b"]
    assert len(programs["a"]) == 1, first  # sin·3 only: the sin·4 program went to b
    assert len(first["a"]) == first["n_a_before"], "the second folder's programs went to the first one"
    assert len(programs["b"]) == 1, first  # sin·4 only: turned off, sin·5 was not written
    assert first["hits"] == 0
    second = _cache_run(a, b)
    assert second["hits"] >= 2
    assert second["a"] == first["a"] and second["b"] == first["b"]


def test_enable_compilation_cache_checks_its_bound(tmp_path):
    from jaxem.accel import enable_compilation_cache
    from jaxem.validate import InputError

    with pytest.raises(InputError, match="max_bytes"):
        enable_compilation_cache(tmp_path / "c", max_bytes=1000)
    with pytest.raises(TypeError, match="max_bytes"):
        enable_compilation_cache(tmp_path / "c", max_bytes="4 GB")
