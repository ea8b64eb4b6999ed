"""Gradients through PRISM (float64 check_grads): aberrations, probe positions, atomic positions and
Debye–Waller ⟨u²⟩ (B) of a detector image, on a small SrTiO3 cell at f = 2."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem import Beam
from jaxem.optics import Aberrations
from jaxem.potential import build_potential, potential_layout
from jaxem.propagate import fresnel_propagator, transmission_functions
from jaxem.stem import AnnularDetector, CenterOfMassDetector, build_smatrix, prism_signals, probe_coefficients
from jaxem.stem.prism import band_gpts, plane_wave_indices, smatrix_array, window_grid
from jaxem.structure import crystals

A = 3.905
BEAM = Beam(300e3)
F = (2, 2)
DETS = (AnnularDetector(12.0, 26.0, "ADF"), CenterOfMassDetector(10.0))
SEMI = 10.0
POS = jnp.asarray([[0.3, 0.5], [1.2, 2.0], [2.9, 0.8]])


@pytest.fixture(scope="module")
def case():
    sto = crystals.SrTiO3(B={"Sr": 0.62, "Ti": 0.44, "O": 0.73}).repeat(2, 2, 1)
    layout = potential_layout(sto, gpts=(32, 32), slice_thickness=A / 2, debye_waller=True, precision="float64")
    pot = build_potential(layout, sto)
    sm = build_smatrix(pot, BEAM, SEMI, F, precision="float64")
    wg = window_grid(layout.grid, F)
    states = tuple(jax.tree.map(lambda a: jnp.asarray(a, jnp.float64) if np.asarray(a).dtype.kind == "f" else a,
                                d.prepare(BEAM, wg)) for d in DETS)
    return sto, layout, sm, states


def _image(sm, coeffs, states, pos=POS):
    adf, com = prism_signals(sm, pos, coeffs, DETS, states)
    return jnp.sum(adf * jnp.asarray([1.0, 2.0, 3.0])) + 1e-3 * jnp.sum(com)


def test_grad_aberrations(case):
    _, _, sm, states = case

    @jax.jit
    def f(c10, c30, c12, phi12):
        ab = Aberrations(C10=c10, C30=c30, C12=c12, phi12=phi12)
        return _image(sm, probe_coefficients(sm, SEMI, ab), states)

    check_grads(f, (jnp.float64(-20.0), jnp.float64(5e4), jnp.float64(8.0), jnp.float64(0.4)), order=1,
                modes=("rev",), eps=1e-3, atol=1e-7, rtol=2e-3)
    g = jax.grad(f)(-20.0, 5e4, 8.0, 0.4)
    assert np.isfinite(g) and g != 0


def test_grad_probe_positions(case):
    _, _, sm, states = case
    coeffs = probe_coefficients(sm, SEMI, Aberrations(C10=-20.0))
    check_grads(jax.jit(lambda p: _image(sm, coeffs, states, p)), (POS,), order=1, modes=("rev",), eps=1e-4,
                atol=1e-7, rtol=2e-3)


def test_grad_atomic_positions_and_debye_waller(case):
    sto, layout, sm, states = case
    coeffs = probe_coefficients(sm, SEMI)
    idx = plane_wave_indices(layout.grid, BEAM, SEMI, F)
    prop = fresnel_propagator(layout.grid, BEAM, layout.slice_thickness, jnp.complex128)
    band = band_gpts(layout.grid, F)

    @jax.jit
    def image(positions, u2):
        pot = build_potential(layout, sto.replace(positions=positions, u2=u2))
        t = transmission_functions(pot.array, BEAM, layout.grid, jnp.complex128)
        S = smatrix_array(jnp.asarray(idx), t, jnp.asarray(layout.sequence), prop, gpts=layout.grid.gpts, band=band,
                          batch=8)
        return _image(sm.replace(array=S), coeffs, states)

    x0, u0 = jnp.asarray(sto.positions, jnp.float64), jnp.asarray(sto.u2, jnp.float64)
    np.testing.assert_allclose(image(x0, u0), _image(sm, coeffs, states), rtol=1e-12)  # same S-matrix
    check_grads(image, (x0, u0), order=1, modes=("rev",), eps=1e-5, atol=1e-7, rtol=5e-3)
