"""jax.distributed with 2 processes on localhost (gloo): the gradient over the sharded global batch
equals the single-process gradient (float64)."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_two_process_gradient_equals_one_process():
    from tests.parallel._dist_problem import data, loss, params

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    procs = [subprocess.Popen([sys.executable, str(Path(__file__).with_name("_distributed_worker.py")), str(i),
                               str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                              cwd=str(ROOT)) for i in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads([ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1][7:]))
    d = jax.tree.map(jnp.asarray, data())
    value, grad = jax.value_and_grad(lambda p: jnp.mean(jax.vmap(lambda x: loss(p, x))(d)))(params())
    for r in results:
        assert abs(r["value"] - float(value)) <= 1e-12 * abs(float(value))
        assert np.max(np.abs(np.asarray(r["grad"]) - np.asarray(grad))) <= 1e-12 * np.max(np.abs(np.asarray(grad)))
