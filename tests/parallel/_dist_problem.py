"""A small gradient problem: fit a phase-object thickness scale and defocus-like curvature to 8 images."""
import jax.numpy as jnp
import numpy as np


def data():
    rng = np.random.default_rng(3)
    return rng.random((8, 16, 16)), rng.random((8, 16, 16))


def params():
    return jnp.asarray([0.7, 0.01])


def loss(p, item):
    v, target = item
    k2 = (jnp.fft.fftfreq(16)[:, None] ** 2 + jnp.fft.fftfreq(16)[None, :] ** 2)
    psi = jnp.fft.ifft2(jnp.fft.fft2(jnp.exp(1j * p[0] * v)) * jnp.exp(-1j * jnp.pi * p[1] * 1e3 * k2))
    return jnp.mean((jnp.abs(psi) ** 2 - target) ** 2)
