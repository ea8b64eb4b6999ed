"""Run in a subprocess with 8 fake CPU devices (XLA_FLAGS set before JAX is imported): every batch
axis sharded over the 8 devices equals one device in float64 (printed as JSON for the test)."""
import json
import os

assert "--xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", "")
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxem import parallel  # noqa: E402
from jaxem.beam import Beam  # noqa: E402
from jaxem.potential import potential  # noqa: E402
from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, stem_scan  # noqa: E402
from jaxem.structure import crystals  # noqa: E402

A = 3.905
out = {"n_devices": len(jax.devices())}
mesh = parallel.batch_mesh()
one = parallel.batch_mesh(jax.devices()[:1])

# STEM probe positions (7 × 3 = 21: not a multiple of 8) -------------------------------------------
pot = potential(crystals.SrTiO3().repeat(1, 1, 2), sampling=0.25, slice_thickness=A / 2, precision="float64")
sim = STEMSimulation(300e3, 12.0, (AnnularDetector(0.0, 12.0, "BF"), PixelatedDetector(20.0, 1)))
scan = GridScan.create((0, 0), (A, A), gpts=(7, 3))
ref = stem_scan(sim, scan, pot, precision="float64", progress=False)
got = parallel.sharded_stem_scan(sim, scan, pot, precision="float64", mesh=mesh)
out["stem"] = max(float(np.max(np.abs(got[k] - ref[k].array))) for k in ("BF", "pixelated"))

# frozen-phonon configurations / MD snapshots / TACAW frames: per-member exit-wave intensities -----
from jaxem.propagate.multislice import fresnel_propagator, transmission_functions  # noqa: E402
from jaxem.propagate import multislice_array  # noqa: E402
from jaxem.propagate.ensembles import ensemble_mean  # noqa: E402

beam = Beam(300e3)
grid = pot.grid
rng = np.random.default_rng(0)
members = jnp.asarray(pot.array[None] + 0.3 * rng.random((11,) + pot.array.shape))  # 11 "configurations"
prop = fresnel_propagator(grid, beam, float(pot.slice_thickness), jnp.complex128)
seq = jnp.asarray(pot.sequence, jnp.int32)


def member_dp(v):
    t = transmission_functions(v, beam, grid, jnp.complex128)
    psi = multislice_array(jnp.ones(grid.gpts, jnp.complex128), t, seq, prop)
    return jnp.abs(jnp.fft.fft2(psi)) ** 2


ens_ref = ensemble_mean(member_dp, members, 3)
ens = parallel.shard_mean(member_dp, members, mesh=mesh)
out["fp_ensemble"] = float(jnp.max(jnp.abs(ens - ens_ref)) / jnp.max(ens_ref))
frames_ref = jax.vmap(member_dp)(members)
frames = parallel.shard_batch(jax.vmap(member_dp), members, mesh=mesh)
out["frames"] = float(jnp.max(jnp.abs(frames - frames_ref)))

# HRTEM ROI fits: a gradient step of a defocus fit per ROI ------------------------------------------
from jaxem.optics import Aberrations  # noqa: E402
from jaxem.optics.imaging import image_intensity  # noqa: E402
from jaxem.propagate import Waves  # noqa: E402

psi = jax.vmap(lambda v: multislice_array(jnp.ones(grid.gpts, jnp.complex128), transmission_functions(
    v, beam, grid, jnp.complex128), seq, prop))(members[:9])
data = jax.vmap(lambda p: image_intensity(Waves(p, grid, beam), Aberrations(C10=-60.0)))(psi)


def fit_step(item, c10):
    p, d = item
    loss = lambda c: jnp.mean((image_intensity(Waves(p, grid, beam), Aberrations(C10=c)) - d) ** 2)  # noqa: E731
    v, g = jax.value_and_grad(loss)(c10)
    return jnp.stack([v, g])


c0 = jnp.asarray(-40.0)
roi_ref = jax.vmap(lambda it: fit_step(it, c0))((psi, data))
roi = parallel.shard_batch(jax.vmap(lambda it, c: fit_step(it, c), in_axes=(0, None)), (psi, data), (c0,), mesh=mesh)
out["roi_fits"] = float(jnp.max(jnp.abs(roi - roi_ref)) / jnp.max(jnp.abs(roi_ref)))

# gradient through the sharded ensemble mean (psum) equals one device's ------------------------------
loss = lambda s, m: jnp.sum(parallel.shard_mean(lambda v, s: member_dp(s * v), members, (s,), mesh=m))  # noqa: E731
g8 = jax.grad(loss)(1.0, mesh)
g1 = jax.grad(loss)(1.0, one)
g8, g1 = float(g8), float(g1)
out["grad"] = abs(g8 - g1) / abs(g1)
print("RESULT " + json.dumps(out))
