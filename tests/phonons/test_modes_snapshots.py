"""Mode projection (u ↔ Q, v ↔ P) and harmonic-ensemble snapshots."""
import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxem.phonons import harmonic_displacements, harmonic_snapshots, mode_projector
from jaxem.phonons.harmonic import AMU_A2_PS2
from jaxem.validate import InputError

from .conftest import needs_lammps

pytestmark = needs_lammps


@pytest.fixture(scope="module")
def proj(sic_small):
    return mode_projector(sic_small, "float64")


def test_round_trip_and_unitarity(sic_small, proj):
    n = len(sic_small.masses)
    rng = np.random.default_rng(1)
    u = rng.normal(size=(4, n, 3)) * 0.05
    v = rng.normal(size=(4, n, 3)) * 0.01
    np.testing.assert_allclose(np.asarray(proj.displacements(proj.project(u))), u, atol=1e-10)  # Å
    np.testing.assert_allclose(np.asarray(proj.velocities(proj.project_velocities(v))), v, atol=1e-12)
    b = np.asarray(proj.basis).reshape(3 * n, 3 * n)
    np.testing.assert_allclose(b @ b.conj().T, np.eye(3 * n), atol=1e-12)


def test_modes_diagonalise_the_finite_displacement_force_constants(sic_small, proj):
    """Σ_qν ½ω²|Q|² equals the harmonic energy ½ uᵀΦu of the supercell force constants from LAMMPS."""
    n = len(sic_small.masses)
    phi = sic_small.supercell_force_constants().transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
    u = np.random.default_rng(2).normal(size=(n, 3)) * 0.02
    e_ref = 0.5 * u.ravel() @ phi @ u.ravel()
    q = proj.project(u)
    e_modes = float(np.sum(proj.mode_energies(q, 0 * q)))
    assert e_modes == pytest.approx(e_ref, rel=1e-6)
    # the mode energies are in eV: ½ω²|Q|² with ω [rad/fs], Q [√u·Å]
    w = 2 * math.pi * np.asarray(proj.frequencies) * 1e-3
    np.testing.assert_allclose(np.asarray(proj.mode_energies(q, 0 * q)), 0.5 * w**2 * np.abs(q) ** 2 * AMU_A2_PS2 * 1e6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(1e-4, 0.3))
def test_parseval(proj, seed, scale):
    """Σ|Q|² = Σ_j M_j |u_j|² (the map √M u → Q is unitary) for any displacement field."""
    n = proj.positions.shape[0]
    u = np.random.default_rng(seed).normal(size=(n, 3)) * scale
    m = np.asarray(proj.sqrt_masses) ** 2
    assert float(np.sum(np.abs(proj.project(u)) ** 2)) == pytest.approx(float(np.sum(m[:, None] * u**2)), rel=1e-10)


@pytest.mark.parametrize("quantum", [True, False])
def test_snapshot_msd_matches_phonon_value(sic_small, proj, quantum):
    """Per-site ⟨u²⟩ over 2,000 snapshots within 2 % of the phonon value of the same (periodic) supercell."""
    u = np.asarray(harmonic_displacements(jax.random.key(3), proj, 300.0, 2000, quantum=quantum, precision="float64"))
    ref = sic_small.mean_square_displacements(300.0, quantum=quantum, qpoints=sic_small.commensurate_qpoints())
    site = sic_small.primitive_index()
    for b in range(2):
        np.testing.assert_allclose((u[:, site == b] ** 2).mean((0, 1)), ref[b], rtol=0.02)
    # centre of mass fixed: the uniform translations are not excited
    m = np.asarray(proj.sqrt_masses) ** 2
    np.testing.assert_allclose(np.einsum("j,sjk->sk", m, u), 0.0, atol=1e-9)


def test_restricted_modes_and_positions(sic_small, proj):
    band = (20.0, 40.0)  # optic modes only
    u = harmonic_displacements(jax.random.key(4), proj, 300.0, 50, modes=band, precision="float64")
    q = np.asarray(proj.project(u))
    f = np.asarray(proj.frequencies)
    off = (f < band[0]) | (f > band[1])
    assert np.abs(q[:, off]).max() < 1e-10 and np.abs(q[:, ~off]).max() > 1e-3
    pos = harmonic_snapshots(jax.random.key(4), proj, 300.0, 50, modes=band, precision="float64")
    np.testing.assert_allclose(np.asarray(pos - proj.positions[None]), np.asarray(u), atol=1e-12)
    # the draw of snapshot k does not depend on how many are drawn
    np.testing.assert_allclose(np.asarray(harmonic_displacements(jax.random.key(4), proj, 300.0, 5, modes=band,
                                                                 precision="float64")), np.asarray(u[:5]))
    with pytest.raises(InputError, match="modes"):
        harmonic_displacements(jax.random.key(4), proj, 300.0, 5, modes=(40.0, 20.0))
    with pytest.raises(InputError, match="modes must be None"):
        harmonic_displacements(jax.random.key(4), proj, 300.0, 5, modes=np.ones((2, 2), bool))
    with pytest.raises(InputError, match="n must be"):
        harmonic_displacements(jax.random.key(4), proj, 300.0, 0)


@pytest.mark.parametrize("make_key", [jax.random.PRNGKey, jax.random.key], ids=["legacy", "typed"])
def test_any_key_style_and_n_not_a_block_multiple(proj, make_key):
    """Regression: legacy uint32 keys (shape (2,)) with n = 70 (not a multiple of the 64-draw block)
    failed in the key padding; both key styles give the same first draws whatever n."""
    key = make_key(5)
    u70 = np.asarray(harmonic_displacements(key, proj, 300.0, 70, precision="float64"))
    assert u70.shape == (70, proj.positions.shape[0], 3) and np.all(np.isfinite(u70))
    assert len({float(np.abs(x).sum()) for x in u70}) == 70  # padding keys never leak into the result
    np.testing.assert_allclose(np.asarray(harmonic_displacements(key, proj, 300.0, 3, precision="float64")), u70[:3])
