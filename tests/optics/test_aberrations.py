import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem import physics
from jaxem.optics import Aberrations, chi, chi_from_frequencies


def test_kirkland_defocus_cs_form():
    lam = physics.wavelength(200e3)
    k = np.linspace(0, 1.0, 50)
    ab = Aberrations.create(defocus=700.0, Cs=1.3e7)
    got = chi(ab, lam * k, 0.0 * k, lam)
    ref = np.pi * lam * k**2 * (0.5 * 1.3e7 * lam**2 * k**2 - 700.0)  # Kirkland eq. 3.42
    assert np.allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_twofold_symmetry_and_astigmatism_direction():
    lam = physics.wavelength(300e3)
    ab = Aberrations.create(C12=50.0, phi12=0.3)
    a = jnp.full(16, 0.01)
    phi = jnp.linspace(0, 2 * np.pi, 16)
    assert np.allclose(chi(ab, a, phi, lam), chi(ab, a, phi + np.pi, lam), atol=1e-9)
    # maximum along φ12
    assert chi(ab, 0.01, 0.3, lam) == pytest.approx(2 * np.pi / lam * 50.0 * 0.01**2 / 2)


@pytest.mark.parametrize("n,m", [(2, 1), (2, 3), (3, 4), (4, 5), (5, 6)])
def test_m_fold_symmetry(n, m):
    lam = physics.wavelength(300e3)
    ab = Aberrations.create(**{f"C{n}{m}": 1e4, f"phi{n}{m}": 0.2})
    phi = jnp.linspace(0, 2 * np.pi, 33)
    assert np.allclose(chi(ab, 0.02, phi, lam), chi(ab, 0.02, phi + 2 * np.pi / m, lam), atol=1e-8)


def test_grid_version_matches_polar():
    lam = physics.wavelength(300e3)
    ky = jnp.asarray(np.fft.fftfreq(8, 0.1))
    kx = jnp.asarray(np.fft.fftfreq(6, 0.1))
    ab = Aberrations.create(C10=-100.0, C21=1e3, phi21=1.0)
    got = chi_from_frequencies(ab, ky, kx, lam)
    kk = np.sqrt(ky[:, None] ** 2 + kx[None] ** 2)
    ref = chi(ab, lam * kk, np.arctan2(ky[:, None], kx[None]), lam)
    assert np.allclose(got, ref)


def test_gradients_float64():
    lam = physics.wavelength(300e3)
    a = jnp.linspace(0.0, 0.02, 7, dtype=jnp.float64)
    phi = jnp.linspace(0.0, 3.0, 7, dtype=jnp.float64)

    def f(ab):
        return jnp.sum(jnp.sin(chi(ab, a, phi, lam)))

    ab = Aberrations.create(C10=-50.0, C12=20.0, phi12=0.4, C30=1e4)
    ab = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), ab)
    check_grads(f, (ab,), order=1, modes=["rev", "fwd"], eps=1e-3)


def test_keyword_constructor_units_and_pytree():
    from jaxem import pytree

    ab = Aberrations(C10=-50.0, C30=-1e4)
    assert ab == Aberrations.create(defocus=50.0, Cs=-1e4) and ab.defocus == 50.0
    units = pytree.units_of(Aberrations)
    assert units["C10"] == "Å" and units["phi12"] == "rad" and len(units) == 25
    assert len(jax.tree.leaves(ab)) == 25  # every coefficient is a differentiable leaf
    assert ab.to_metadata() == {"C10": {"value": -50.0, "units": "Å"}, "C30": {"value": -1e4, "units": "Å"}}
    assert ab.replace(C10=3.0).C10 == 3.0


def test_bad_names_and_values():
    with pytest.raises(TypeError, match="unknown aberration"):
        Aberrations.create(C99=1.0)
    with pytest.raises(TypeError, match="did you mean 'defocus'"):
        Aberrations.create(defocs=1.0)
    with pytest.raises(ValueError, match="C30 given twice"):
        Aberrations.create(Cs=1.0, C30=2.0)
    with pytest.raises(ValueError, match="finite"):
        Aberrations.create(C30=float("nan"))
    with pytest.raises(ValueError, match="either"):
        Aberrations.create(defocus=1.0, C10=2.0)
