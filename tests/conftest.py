"""Test configuration: 64-bit JAX available (library code casts explicitly, so defaults stay
float32/complex64), fake CPU devices for sharding tests, hypothesis profile without deadlines."""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
# The CLI turns on JAX's persistent compilation cache (~/.cache/jaxem/jax; GPU backends, or JAXEM_COMPILATION_CACHE=1)
# for the whole process: a test that calls
# `cli.main` in-process would leave it on for every later test of its worker, all workers and runs sharing one folder
# (and workers would share one folder). Tests never use it;
# subprocesses inherit the setting. tests/accel/test_devices.py turns it on explicitly, in a temporary folder.
os.environ.setdefault("JAXEM_NO_COMPILATION_CACHE", "1")
# JAX reads JAX_COMPILATION_CACHE_DIR as its own setting: `make` exported it until 2026-12-06, and then every test
# worker, notebook kernel and subprocess of `make test` shared one persistent cache folder. Tests run without it,
# whatever the environment (the crashes of stop 25's CI were memory mappings: _bounded_memory_maps below).
os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from jaxem.accel.devices import memory_map_count, release_compiled_programs  # noqa: E402

jax.config.update("jax_enable_x64", True)

settings.register_profile(
    "jaxem", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("jaxem")


def _has_gpu() -> bool:
    try:
        return any(d.platform == "gpu" for d in jax.devices())
    except RuntimeError:
        return False


def pytest_collection_modifyitems(config, items):
    if _has_gpu():
        return
    skip = pytest.mark.skip(reason="needs a GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def _max_map_count() -> int:
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):  # not Linux
        return 65_530


#: memory mappings of a worker beyond which its compiled programs are dropped after a test (a third of Linux's
#: vm.max_map_count, at most 20,000)
MAX_MAPS = min(20_000, _max_map_count() // 3)


@pytest.fixture(autouse=True)
def _bounded_memory_maps():
    """Every compiled XLA:CPU program that JAX keeps in its caches holds memory mappings; a pytest worker compiles
    thousands in a run and grew by 3,000–5,000 mappings a minute. At Linux's vm.max_map_count (65,530) XLA crashed
    inside its next compilation (a segfault in the ptycho section test, an abort in the hrtem_fit one, a CI
    timeout after the crash, 2026-12-06; with the limit lowered to 12,000 the same segfault comes after about 60
    tests). After a test that leaves more than MAX_MAPS, the caches are dropped (jax.clear_caches brought 9,058
    mappings back to 2,689)."""
    yield
    if memory_map_count() > MAX_MAPS:
        release_compiled_programs()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
