"""Module-level functions for Dask workers (they must pickle by reference)."""
import jax.numpy as jnp


def member_intensity(v):
    """|F[exp(i v)]|² of one 'configuration' v (ny, nx): a stand-in per-member multislice."""
    return jnp.abs(jnp.fft.fft2(jnp.exp(1j * v))) ** 2
