import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads
from scipy import integrate

from jaxem import Beam, physics
from jaxem.grid import Grid
from jaxem.optics import Aperture, aperture_function, aperture_on_grid


def _radial(r, a0, w):
    """Independent raised-cosine profile written from the docstring definition."""
    r = np.asarray(r, float)
    out = np.where(r <= a0 - w / 2, 1.0, 0.0)
    edge = (r > a0 - w / 2) & (r < a0 + w / 2)
    return np.where(edge, 0.5 * (1 + np.cos(np.pi * (r - a0 + w / 2) / w)), out)


def test_hard_aperture_inside_outside():
    ap = Aperture.create(10.0)
    a = jnp.asarray([0.0, 5.0, 9.999, 10.0, 10.001, 30.0])
    assert np.array_equal(np.asarray(aperture_function(a, 0 * a, ap)), [1, 1, 1, 1, 0, 0])


def test_soft_profile_matches_definition():
    ap = Aperture.create(12.0, edge_width=3.0)
    r = np.linspace(0, 20, 401)
    got = aperture_function(jnp.asarray(r, jnp.float64), jnp.zeros(401, jnp.float64), ap)
    assert np.allclose(got, _radial(r, 12.0, 3.0), atol=1e-12)
    assert float(aperture_function(12.0, 0.0, ap)) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("a0,w", [(10.0, 0.0), (10.0, 2.0), (5.0, 10.0)])
def test_open_area(a0, w):
    """∫ A d²α = π α₀² + (π/4 − 2/π) w² (analytic), by 1D quadrature of the profile."""
    ap = Aperture.create(a0, edge_width=w)
    f = lambda r: 2 * np.pi * r * float(aperture_function(jnp.float64(r), jnp.float64(0.0), ap))
    area, _ = integrate.quad(f, 0, a0 + w, points=[a0 - w / 2, a0 + w / 2], limit=200)
    assert area == pytest.approx(np.pi * a0**2 + (np.pi / 4 - 2 / np.pi) * w**2, rel=1e-6)


def test_centre_offset_shifts():
    ap = Aperture.create(4.0, edge_width=1.0, center=(2.0, -3.0))
    ay = jnp.linspace(-10, 10, 41)[:, None]
    ax = jnp.linspace(-10, 10, 41)[None, :]
    got = aperture_function(ay, ax, ap)
    ref = _radial(np.hypot(np.asarray(ay) - 2.0, np.asarray(ax) + 3.0), 4.0, 1.0)
    assert np.allclose(got, ref, atol=1e-6)


def test_on_grid_matches_numpy():
    g = Grid((32, 40), (0.2, 0.15))
    energy = 200e3
    lam = physics.wavelength(energy)
    ap = Aperture.create(15.0, edge_width=2.0)
    got = aperture_on_grid(g, energy, ap, precision="float64")
    ky = np.fft.fftfreq(32, 0.2)[:, None] * lam * 1e3
    kx = np.fft.fftfreq(40, 0.15)[None, :] * lam * 1e3
    assert got.dtype == jnp.float64
    assert np.allclose(got, _radial(np.hypot(ky, kx), 15.0, 2.0), atol=1e-12)
    assert aperture_on_grid(g, energy, 15.0).dtype == jnp.float32


@given(st.floats(1.0, 50.0), st.floats(0.0, 1.0), st.floats(-20, 20), st.floats(-20, 20))
def test_values_in_unit_interval_and_monotone(a0, wfrac, ay, ax):
    ap = Aperture.create(a0, edge_width=2 * a0 * wfrac)
    v = float(aperture_function(ay, ax, ap))
    assert 0.0 <= v <= 1.0
    r = np.linspace(0, 2 * a0, 64)
    prof = np.asarray(aperture_function(jnp.asarray(r), jnp.zeros_like(jnp.asarray(r)), ap))
    assert np.all(np.diff(prof) <= 1e-7)
    assert prof[0] == 1.0


def test_gradient_of_semi_angle_float64():
    r = jnp.linspace(5.0, 15.0, 23, dtype=jnp.float64)

    def f(a0, w):
        return jnp.sum(aperture_function(r, 0.0 * r, Aperture(semi_angle=a0, edge_width=w)) ** 2)

    check_grads(f, (jnp.float64(10.0), jnp.float64(3.0)), order=1, modes=["rev", "fwd"], eps=1e-4)
    # a hard aperture (w = 0) still gives finite (zero) gradients
    g = jax.grad(f, argnums=(0, 1))(jnp.float64(10.0), jnp.float64(0.0))
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("kwargs,match", [
    (dict(semi_angle=0.0), "semi_angle must be > 0"),
    (dict(semi_angle=-1.0), "semi_angle must be > 0"),
    (dict(semi_angle=float("nan")), "semi_angle must be finite"),
    (dict(semi_angle=10.0, edge_width=-1.0), "edge_width must be ≥ 0"),
    (dict(semi_angle=10.0, edge_width=25.0), "edge_width must be ≤ 2·semi_angle"),
    (dict(semi_angle=10.0, center=(1.0,)), "center must be a"),
    (dict(semi_angle=10.0, center=(1.0, float("inf"))), "center"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Aperture.create(**kwargs)


def test_bad_input_on_grid():
    g = Grid((8, 8), (0.1, 0.1))
    with pytest.raises(ValueError, match="energy"):
        aperture_on_grid(g, -1.0, 10.0)
    with pytest.raises(ValueError, match="aperture"):
        aperture_on_grid(g, 300e3, 0.0)
    with pytest.raises(ValueError, match="aperture: expected a semi-angle"):
        aperture_on_grid(g, 300e3, "big")
    with pytest.raises(TypeError, match="aperture: expected a semi-angle"):
        aperture_on_grid(g, 300e3, [1.0, 2.0])
    with pytest.raises(ValueError, match="aperture of 1000 mrad exceeds the limit 98.44 mrad"):
        aperture_on_grid(g, 300e3, 1000.0)  # beyond the grid: an error, not a silent crop
    assert np.array_equal(aperture_on_grid(g, Beam(300e3), "20 mrad"), aperture_on_grid(g, 300e3, 20.0))


def test_aperture_is_a_pytree_with_units():
    from jaxem import pytree

    ap = Aperture.create(10.0, 1.0, (0.5, 0.0))
    assert len(jax.tree.leaves(ap)) == 4 and set(pytree.units_of(ap).values()) == {"mrad"}
    assert ap.to_metadata()["center_y"] == {"value": 0.5, "units": "mrad"}


def test_an_invalid_aperture_object_is_reported_under_its_argument_name():
    from jaxem.optics import ctf

    with pytest.raises(ValueError, match="objective_aperture: edge_width must be ≤ 2·semi_angle"):
        ctf(Grid((16, 16), (0.1, 0.1)), 300e3, objective_aperture=Aperture(5.0, 20.0))
