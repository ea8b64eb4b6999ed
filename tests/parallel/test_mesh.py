"""Sharded batch axes on 8 fake CPU devices equal one device (float64 to 1e-12): STEM positions,
frozen-phonon configurations (ensemble mean by psum, and its gradient), MD/TACAW frames, HRTEM ROI
fit steps. The devices must be set before JAX is imported, so the checks run in a subprocess."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaxem import parallel
from jaxem.validate import InputError, InputTypeError

ROOT = Path(__file__).resolve().parents[2]


def test_eight_fake_devices_equal_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "PYTHONPATH": str(ROOT),
           "JAX_PLATFORMS": "cpu"}
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("_mesh_checks.py"))], env=env,
                         capture_output=True, text=True, timeout=300)
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    res = json.loads(lines[-1][len("RESULT "):])
    assert res["n_devices"] == 8
    for key in ("stem", "fp_ensemble", "frames", "roi_fits", "grad"):
        assert res[key] <= 1e-12, (key, res[key])


def test_mesh_arguments():
    import jax.numpy as jnp

    with pytest.raises(InputTypeError, match="mesh must be a 1-D"):
        parallel.shard_batch(lambda x: x, jnp.ones(3), mesh="gpu")
    with pytest.raises(InputError, match="devices is empty"):
        parallel.batch_mesh([])
    with pytest.raises(InputError, match="leading .*batch.* length 3"):
        parallel.shard_batch(lambda x: x, (jnp.ones(3), jnp.ones(4)))
    assert jnp.allclose(parallel.shard_mean(lambda x: 2 * x, jnp.arange(5.0)), 4.0)
