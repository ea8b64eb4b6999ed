import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

from jaxem.beam import Beam
from jaxem.optics.aberrations import Aberrations, chi
from jaxem.optics.apertures import Aperture
from jaxem.optics.ctf import transfer_function
from jaxem.phase import geometry

LAM = Beam(300e3).wavelength


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


def test_parallax_shifts_are_grad_chi_over_2pi_in_angstrom():
    # ∇_k χ = λ ∇_α χ: compare with central differences of optics' χ in k [1/Å]
    ab = Aberrations.create(C10=120.0, C12=30.0, phi12=0.4, C21=500.0, phi21=0.1, C30=1e4)
    rng = np.random.default_rng(2)
    k = rng.uniform(-1, 1, (12, 2))
    s = np.asarray(geometry.parallax_shifts(ab, jnp.asarray(k[:, 0]), jnp.asarray(k[:, 1]), LAM))

    def chi_at(kk):
        return np.asarray(chi(ab, LAM * np.hypot(kk[:, 0], kk[:, 1]), np.arctan2(kk[:, 0], kk[:, 1]), LAM))

    h = 1e-6
    for i in range(2):
        dk = np.zeros(2)
        dk[i] = h
        fd = (chi_at(k + dk) - chi_at(k - dk)) / (2 * h) / (2 * np.pi)
        np.testing.assert_allclose(s[:, i], fd, rtol=1e-5, atol=1e-7)
    # pure defocus: s = λ C10 k [Å]
    s0 = geometry.parallax_shifts(Aberrations(C10=100.0), jnp.asarray(k[:, 0]), jnp.asarray(k[:, 1]), LAM)
    np.testing.assert_allclose(s0, LAM * 100.0 * k, rtol=1e-10)


def test_parallax_shifts_finite_at_the_origin_with_finite_gradients():
    ab = Aberrations(C10=100.0, C12=10.0, phi12=0.3)
    assert np.all(np.asarray(geometry.parallax_shifts(ab, jnp.zeros(1), jnp.zeros(1), LAM)) == 0)

    def f(theta):  # the k = 0 pixel rotated by θ: its shift must not make the gradient NaN
        ky, kx = geometry.rotate_frequencies(jnp.zeros(2), jnp.asarray([0.0, 0.3]), theta)
        return jnp.sum(geometry.parallax_shifts(ab, ky, kx, LAM))

    assert np.isfinite(float(jax.grad(f)(0.2)))


def test_probe_is_the_optics_transfer_function():
    ab = Aberrations.create(C10=120.0, C12=30.0, phi12=0.4, C30=1e4)
    k = jnp.asarray(np.linspace(-1.2, 1.2, 41))
    cutoff, edge = 1.0, 0.05
    mine = geometry.probe_at(ab, k[:, None], k[None, :], LAM, cutoff, edge, geometry.active_orders(ab))
    ref = transfer_function(ab, k[:, None], k[None, :], LAM, Aperture(1e3 * LAM * cutoff, 1e3 * LAM * edge))
    np.testing.assert_allclose(mine, ref, atol=1e-9)
    assert geometry.active_orders(ab) == ((1, 0), (1, 2), (3, 0))
    restricted = geometry.restrict(ab, ((1, 0),))
    assert restricted.C10 == ab.C10 and restricted.C30 == 0.0 and restricted.C12 == 0.0


def test_aperture_and_bright_field_pixels():
    # raised-cosine edge of full width 0.1 1/Å centred on the radius 1 1/Å
    a = geometry.aperture_amplitude(jnp.asarray([0.0, 0.95, 1.0, 1.05, 2.0]), 0.0, LAM, 1.0, 0.1)
    np.testing.assert_allclose(a, [1, 1, 0.5, 0, 0], atol=1e-9)
    idx = geometry.bright_field_pixels((32, 32), (16, 16), (0.1, 0.1), LAM, 0.5, 0.1)
    r = np.hypot(idx[:, 0] - 16, idx[:, 1] - 16) * 0.1
    assert r.max() < 0.55 and len(idx) == pytest.approx(np.pi * 5.5**2, rel=0.1)
    with pytest.raises(ValueError, match="no bright-field pixel"):
        geometry.bright_field_pixels((8, 8), (4.5, 4.5), (1.0, 1.0), LAM, 0.01, 0.001)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "north"])
def test_rotation_and_aberrations_checked(bad):
    with pytest.raises((ValueError, TypeError), match="rotation"):
        geometry.check_rotation(bad)
    with pytest.raises(ValueError, match="aberrations.C10"):
        geometry.check_aberrations(Aberrations(C10=float("nan")))
    with pytest.raises(TypeError, match="aberrations"):
        geometry.check_aberrations({"C10": 1.0})
