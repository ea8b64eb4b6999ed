"""One of two jax.distributed processes on localhost: prints the gradient of a multislice-style loss
over its half of the data (the test compares it with the single-process gradient)."""
import json
import sys

from jaxem.parallel.distributed import initialize

pid, port = int(sys.argv[1]), sys.argv[2]
initialize(f"127.0.0.1:{port}", 2, pid, local_devices=2)
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
from tests.parallel._dist_problem import data, loss, params  # noqa: E402
from jaxem.parallel.distributed import distributed_value_and_grad  # noqa: E402

d = data()
half = jax.tree.map(lambda a: a[4 * pid:4 * pid + 4], d)
value, grad = distributed_value_and_grad(loss, params(), half)
print("RESULT " + json.dumps({"value": float(value), "grad": [float(g) for g in grad]}), flush=True)
jax.distributed.shutdown()
