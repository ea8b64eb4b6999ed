"""Partitioned PRISM: spacing 1 is PRISM exactly; a coarse partition of a strongly defocused probe stays
close to it with a fraction of the plane waves."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Beam
from jaxem.optics import Aberrations
from jaxem.potential import potential
from jaxem.stem import AnnularDetector, PixelatedDetector, build_smatrix, prism_signals, probe_coefficients
from jaxem.stem.prism import coefficients, window_grid
from jaxem.stem.prism_partition import build_partitioned_smatrix, partitioned_signals
from jaxem.structure import crystals
from jaxem.validate import InputError

A = 3.905
BEAM = Beam(300e3)
DETS = (AnnularDetector(15.0, 30.0, "ADF"), PixelatedDetector(20.0, name="dp"))
POS = jnp.asarray([[0.4, 0.7], [2.1, 3.3]])
AB = Aberrations(C10=-150.0, C30=2e5)


@pytest.fixture(scope="module")
def case():
    pot = potential(crystals.SrTiO3().repeat(2, 2, 1), gpts=(32, 32), slice_thickness=A / 2, precision="float64")
    states = tuple(d.prepare(BEAM, window_grid(pot.grid, (1, 1))) for d in DETS)
    exact = build_smatrix(pot, BEAM, 15.0, 1, precision="float64")
    ref = prism_signals(exact, POS, probe_coefficients(exact, 15.0, AB), DETS, states)
    return pot, states, exact, ref


def _partitioned(pot, states, spacing):
    sm, fine, w = build_partitioned_smatrix(pot, BEAM, 15.0, spacing, precision="float64", batch=8)
    c = coefficients(fine, pot.grid, BEAM, sm.window, 15.0, AB, dtype=jnp.complex128)
    return sm, partitioned_signals(sm, fine, w, POS, c, DETS, states)


def test_spacing_one_is_prism_and_coarse_partitions_approximate_it(case):
    pot, states, exact, ref = case
    _, one = _partitioned(pot, states, 1)
    for a, b in zip(ref, one):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-9, atol=1e-12)
    sm, two = _partitioned(pot, states, 2)
    assert sm.n_beams < 0.5 * exact.n_beams
    adf = np.asarray(ref[0])
    assert np.max(np.abs(np.asarray(two[0]) - adf)) / adf.max() < 0.05
    dp, dp2 = np.asarray(ref[1]), np.asarray(two[1])
    assert np.sqrt(((dp2 - dp) ** 2).sum()) / np.sqrt((dp ** 2).sum()) < 0.1


def test_parents_beyond_the_grid_are_refused(case):
    pot = case[0]
    with pytest.raises(InputError, match="outermost parent beam of spacing = 9"):
        build_partitioned_smatrix(pot, BEAM, 15.0, 9)
