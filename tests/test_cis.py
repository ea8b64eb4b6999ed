"""The fast exp(iφ) of the transmission function (jaxem.accel.cis) against float64 NumPy."""
import jax
import jax.test_util
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jaxem.accel.cis import cis, exp_i


@pytest.mark.parametrize("lim", [1.0, 10.0, 100.0, 3.0e4])
def test_cis_float32_accuracy(lim):
    phi = np.random.default_rng(0).uniform(-lim, lim, 200_000).astype(np.float32)
    ref = np.exp(1j * phi.astype(np.float64))
    got = np.asarray(jax.jit(cis)(jnp.asarray(phi)))
    assert got.dtype == np.complex64
    # float32 round-off of φ itself is |φ|·6e-8: the bound scales with it beyond |φ| ≈ 1
    assert np.abs(got - ref).max() <= 1.5e-7 * max(1.0, lim / 100)


def test_cis_quadrant_boundaries_and_specials():
    k = np.arange(-40, 41)
    phi = np.concatenate([k * np.pi / 4, k * np.pi / 2 + 1e-6, k * np.pi / 2 - 1e-6, [0.0, -0.0]]).astype(np.float32)
    got = np.asarray(cis(jnp.asarray(phi)))
    np.testing.assert_allclose(got, np.exp(1j * phi.astype(np.float64)), atol=2e-7)
    assert np.isnan(np.asarray(cis(jnp.asarray([np.nan, np.inf], np.float32)))).all()
    big = np.float32(1e6)  # beyond the exact reduction: error ~ |φ|·6e-8 (φ's own rounding), unit modulus
    assert abs(complex(cis(jnp.asarray(big))) - np.exp(1j * float(big))) < 1e6 * 1.2e-7
    assert abs(abs(complex(cis(jnp.asarray(big)))) - 1) < 1e-6


def test_float64_is_jnp_exp_unchanged():
    phi = jnp.linspace(-50, 50, 1001, dtype=jnp.float64)  # tests run with x64 enabled (conftest)
    assert cis(phi).dtype == jnp.complex128
    np.testing.assert_array_equal(np.asarray(cis(phi)), np.asarray(jnp.exp(1j * phi)))


def test_exp_i_absorptive():
    z = (np.random.default_rng(1).uniform(-5, 5, 1000) + 1j * np.random.default_rng(2).uniform(0, 2, 1000))
    got = np.asarray(exp_i(jnp.asarray(z, jnp.complex64)))
    np.testing.assert_allclose(got, np.exp(1j * z), atol=3e-7)


def test_derivative_is_exact():
    g = jax.grad(lambda p: jnp.sum(jnp.real(cis(p)) * 0.3 + jnp.imag(cis(p)) * 0.7))
    phi = jnp.linspace(-20, 20, 101, dtype=jnp.float32)
    np.testing.assert_allclose(np.asarray(g(phi)), -0.3 * np.sin(phi) + 0.7 * np.cos(phi), atol=3e-7)
    jax.test_util.check_grads(lambda p: exp_i(p * (1 + 0.1j)), (jnp.linspace(-3.0, 3.0, 7, dtype=jnp.float64),),
                              order=2)


@settings(max_examples=60, deadline=None)
@given(st.floats(-2.0e4, 2.0e4, allow_nan=False, width=32))
def test_unit_modulus_and_agreement(phi):
    got = complex(cis(jnp.float32(phi)))
    assert abs(abs(got) - 1) < 3e-7
    assert abs(got - np.exp(1j * float(np.float32(phi)))) < 1.5e-7 * max(1.0, abs(phi) / 100)
