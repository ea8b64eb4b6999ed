import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

from jaxem.optics.aberrations import Aberrations, chi, chi_from_frequencies
from jaxem.phase import geometry


@given(st.floats(-np.pi, np.pi), st.booleans())
def test_rotation_preserves_length(theta, tr):
    rng = np.random.default_rng(0)
    ky, kx = rng.normal(size=(2, 20))
    ry, rx = geometry.rotate_frequencies(jnp.asarray(ky), jnp.asarray(kx), theta, tr)
    np.testing.assert_allclose(np.hypot(ry, rx), np.hypot(ky, kx), rtol=1e-12)


def test_rotation_is_counter_clockwise_and_flip_equivalence():
    ky, kx = geometry.rotate_frequencies(jnp.asarray(0.0), jnp.asarray(1.0), np.pi / 2)
    assert float(ky) == pytest.approx(1.0) and abs(float(kx)) < 1e-12  # +x → +y
    rng = np.random.default_rng(1)
    ky, kx = rng.normal(size=(2, 10))
    fy, fx = geometry.rotate_frequencies(jnp.asarray(ky), jnp.asarray(kx), -np.pi / 2, True)
    np.testing.assert_allclose(fy, -ky, atol=1e-12)  # flip of the detector ky axis
    np.testing.assert_allclose(fx, kx, atol=1e-12)


def test_chi_gradient_matches_finite_differences_and_defocus_shift():
    lam = 0.0197
    ab = Aberrations.create(C10=120.0, C12=30.0, phi12=0.4, C21=500.0, phi21=0.1, C30=1e4)
    rng = np.random.default_rng(2)
    k = jnp.asarray(rng.uniform(-1, 1, (12, 2)))
    g = np.asarray(geometry.chi_gradient(ab, k[:, 0], k[:, 1], lam))
    h = 1e-6
    from jaxem.optics.aberrations import chi as chi_polar

    def chi_at(kk):
        return np.asarray(chi_polar(ab, lam * np.hypot(kk[:, 0], kk[:, 1]), np.arctan2(kk[:, 0], kk[:, 1]), lam))

    kk = np.asarray(k)
    for i in range(2):
        dk = np.zeros(2)
        dk[i] = h
        fd = (chi_at(kk + dk) - chi_at(kk - dk)) / (2 * h)
        np.testing.assert_allclose(g[:, i], fd, rtol=1e-5, atol=1e-6)
    # pure defocus: s = ∇χ/2π = λ C10 k
    g0 = geometry.chi_gradient(Aberrations(C10=100.0), k[:, 0], k[:, 1], lam) / (2 * np.pi)
    np.testing.assert_allclose(g0, lam * 100.0 * np.asarray(k), rtol=1e-10)
    assert np.all(np.isfinite(geometry.chi_gradient(ab, jnp.zeros(1), jnp.zeros(1), lam)))


def test_aperture_and_bright_field_pixels():
    a = geometry.aperture(jnp.asarray([0.0, 0.95, 1.0, 1.05, 2.0]), 1.0, 0.1)
    np.testing.assert_allclose(a, [1, 1, 0.5, 0, 0], atol=1e-12)
    idx = geometry.bright_field_pixels((32, 32), (16, 16), (0.1, 0.1), 0.5, 0.1)
    r = np.hypot(idx[:, 0] - 16, idx[:, 1] - 16) * 0.1
    assert r.max() < 0.55 and len(idx) == pytest.approx(np.pi * 5.5**2, rel=0.1)
    with pytest.raises(ValueError, match="no bright-field pixel"):
        geometry.bright_field_pixels((8, 8), (4.5, 4.5), (1.0, 1.0), 0.01, 0.001)


def test_chi_orders_equals_full_chi_and_skips_zero_orders():
    ab = Aberrations.create(C10=120.0, C12=30.0, phi12=0.4, C30=1e4)
    assert geometry.active_orders(ab) == ((1, 0), (1, 2), (3, 0))
    rng = np.random.default_rng(4)
    a, p = jnp.asarray(rng.uniform(0, 0.03, 50)), jnp.asarray(rng.uniform(-3, 3, 50))
    np.testing.assert_allclose(geometry.chi_orders(ab, a, p, 0.0197, geometry.active_orders(ab)),
                               chi(ab, a, p, 0.0197), rtol=1e-12)
