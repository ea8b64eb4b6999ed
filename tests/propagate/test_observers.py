"""The observer hook of the one slice step: exit planes, detector integrals of a thickness series and
the absorbed (single-inelastic TDS) flux, against straightforward references."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Beam, Grid
from jaxem.propagate import (AbsorbedIntensity, DetectorIntegrals, ExitPlanes, Observers, fresnel_propagator,
                             multislice_array, transmission_functions)

BEAM = Beam(300e3)


def _setup(rng, n_unique=3, n_slices=7, complex_potential=False):
    grid = Grid((16, 16), (0.2, 0.2))
    v = rng.uniform(0, 20, (n_unique, 16, 16))
    if complex_potential:
        v = v + 1j * rng.uniform(0, 2, v.shape)
    trans = transmission_functions(jnp.asarray(v), BEAM, grid, jnp.complex128)
    prop = fresnel_propagator(grid, BEAM, 1.5, jnp.complex128)
    seq = jnp.asarray(rng.integers(0, n_unique, n_slices), jnp.int32)
    psi0 = jnp.asarray(np.exp(1j * rng.uniform(0, 1, (16, 16))) / 16.0)  # Σ|ψ|² = 1
    return grid, v, trans, prop, seq, psi0


def _by_hand(psi, trans, seq, prop):
    """Every intermediate wave, one slice at a time (the reference)."""
    out = [psi]
    for i in np.asarray(seq):
        psi = jnp.fft.ifft2(jnp.fft.fft2(psi * trans[i]) * prop)
        out.append(psi)
    return out


def test_exit_planes_observer_equals_exit_slices_and_by_hand(rng):
    _, _, trans, prop, seq, psi0 = _setup(rng)
    waves = _by_hand(psi0, trans, seq, prop)
    psi, buf = multislice_array(psi0, trans, seq, prop, observer=ExitPlanes((2, 5, 7)))
    np.testing.assert_allclose(psi, waves[-1], atol=1e-13)
    for j, n in enumerate((2, 5, 7)):
        np.testing.assert_allclose(buf[j], waves[n], atol=1e-13)
    np.testing.assert_array_equal(multislice_array(psi0, trans, seq, prop, exit_slices=(2, 5, 7)), buf)
    np.testing.assert_array_equal(multislice_array(psi0, trans, seq, prop), psi)


def test_detector_integrals_of_a_thickness_series(rng):
    grid, _, trans, prop, seq, psi0 = _setup(rng)
    waves = _by_hand(psi0, trans, seq, prop)
    masks = jnp.asarray(rng.uniform(0, 1, (2, 16, 16)))
    _, sig = multislice_array(psi0, trans, seq, prop, observer=DetectorIntegrals(masks, (3, 7)))
    for j, n in enumerate((3, 7)):
        dp = np.abs(np.fft.fft2(np.asarray(waves[n]))) ** 2 / 256
        np.testing.assert_allclose(sig[j], np.tensordot(np.asarray(masks), dp, axes=((1, 2), (0, 1))), rtol=1e-12)
    # vmapped over waves (as STEM does over probe positions), the observer state is batched too
    batch = jnp.stack([psi0, psi0 * 0.5])
    _, sig_b = jax.vmap(lambda p: multislice_array(p, trans, seq, prop, observer=DetectorIntegrals(masks, (3, 7))))(batch)
    np.testing.assert_allclose(sig_b[1], 0.25 * sig_b[0], rtol=1e-12)


@pytest.mark.parametrize("slices", [None, (1, 4, 7)])
def test_absorbed_intensity_sums_over_the_waves_entering_each_slice(rng, slices):
    _, v, trans, prop, seq, psi0 = _setup(rng, complex_potential=True)
    waves = _by_hand(psi0, trans, seq, prop)
    vdet = jnp.asarray(np.stack([v.imag, 0.5 * v.imag]))  # two "detectors"
    obs = AbsorbedIntensity(vdet, seq, BEAM, slices)
    _, out = multislice_array(psi0, trans, seq, prop, observer=obs)
    terms = [2 * BEAM.sigma * np.tensordot(np.asarray(vdet[:, int(i)]), np.abs(np.asarray(w)) ** 2,
                                           axes=((1, 2), (0, 1))) for w, i in zip(waves[:-1], np.asarray(seq))]
    running = np.cumsum(terms, axis=0)
    if slices is None:
        np.testing.assert_allclose(out, running[-1], rtol=1e-12)
    else:
        total, rec = out
        np.testing.assert_allclose(total, running[-1], rtol=1e-12)
        np.testing.assert_allclose(rec, running[[s - 1 for s in slices]], rtol=1e-12)
    # the absorbed flux is what the absorptive potential removes from the wave
    lost = 1.0 - float(jnp.sum(jnp.abs(waves[-1]) ** 2))
    assert lost > 0


def test_combined_observers_and_gradients_through_them(rng):
    _, _, trans, prop, seq, psi0 = _setup(rng)
    masks = jnp.asarray(rng.uniform(0, 1, (1, 16, 16)))
    both = Observers((ExitPlanes((4,)), DetectorIntegrals(masks, (4, 7))))
    _, (buf, sig) = multislice_array(psi0, trans, seq, prop, observer=both)
    assert buf.shape == (1, 16, 16) and sig.shape == (2, 1)

    def loss(scale):  # gradient flows through the traced masks of an observer and the checkpointed step
        _, s = multislice_array(psi0, trans, seq, prop, checkpoint=True,
                                observer=DetectorIntegrals(masks * scale, (7,)))
        return s[0, 0]

    from jax.test_util import check_grads

    check_grads(loss, (jnp.float64(1.3),), order=1, modes=["rev"])
    with pytest.raises(ValueError, match="either exit_slices or observer"):
        multislice_array(psi0, trans, seq, prop, exit_slices=(2,), observer=ExitPlanes((3,)))


def test_kernels_take_the_beam_itself():
    grid = Grid((8, 8), (0.2, 0.2))
    with pytest.raises(TypeError, match="beam must be a jaxem Beam"):
        fresnel_propagator(grid, 300e3, 1.0)
    with pytest.raises(TypeError, match="beam must be a jaxem Beam"):
        transmission_functions(jnp.zeros((1, 8, 8)), 6.5e-4, grid)  # a loose σ is not an energy
