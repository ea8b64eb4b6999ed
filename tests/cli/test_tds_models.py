"""Helpers of the TDS comparison: MD snapshot stacking, unbiased TDS estimator, probe positions, detector."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.cli.sections import tds_models
from jaxem.grid import Grid
from jaxem.md import LammpsNotFoundError, find_lammps
from jaxem.structure import crystals, zone_axis


def _case(md_block=2, nz=4):
    dia = zone_axis(crystals.diamond(), [0, 0, 1])
    return tds_models.Case("diamond [001]", dia, (2, 2), nz, dia.lengths[2] / 4, ((0, 0),), ("000",),
                           md_block=md_block)


def test_unbiased_tds_removes_the_finite_ensemble_bias():
    # waves Ψ = μ + ε, ε complex Gaussian with variance s² per pixel: TDS = s²
    n, s2 = 5, 0.3
    key = jax.random.key(0)
    eps = (jax.random.normal(key, (4000, n, 64)) + 1j * jax.random.normal(jax.random.fold_in(key, 1), (4000, n, 64)))
    psi = 1.0 + eps * np.sqrt(s2 / 2)
    total = jnp.mean(jnp.abs(psi) ** 2, axis=1)
    elastic = jnp.abs(jnp.mean(psi, axis=1)) ** 2
    assert float(jnp.mean(total - elastic)) == pytest.approx(s2 * (1 - 1 / n), rel=0.01)
    assert float(jnp.mean(tds_models.unbiased_tds(total, elastic, n))) == pytest.approx(s2, rel=0.01)
    with pytest.raises(ValueError, match="at least 2"):
        tds_models.unbiased_tds(total, elastic, 1)


def test_probe_positions_and_mask():
    case = _case()
    pos = tds_models.probe_positions(case, 2)
    a = case.cell.lengths[0]
    np.testing.assert_allclose(pos, [[a, a], [a, 1.5 * a], [1.5 * a, a], [1.5 * a, 1.5 * a]], rtol=1e-6)
    grid = Grid(gpts=(100, 100), sampling=(0.05, 0.05))
    m = np.asarray(tds_models.haadf_mask(grid, 70.0, 125.0))
    assert m[0, 0] == 0 and m.sum() > 0
    with pytest.raises(ValueError):
        tds_models.haadf_mask(Grid(gpts=(50, 50), sampling=(0.1, 0.1)), 70.0, 125.0)


def test_md_snapshots_stack_different_frames():
    try:
        find_lammps()
    except LammpsNotFoundError:
        pytest.skip("LAMMPS (lmp) not installed")
    case = _case(md_block=2, nz=4)
    stacked, snaps, b_md = tds_models.md_snapshots(case, 3, steps=400)
    n_block = len(case.unit) * 4 * 2
    assert snaps.shape == (3, 2 * n_block, 3) and len(stacked) == 2 * n_block
    lz = 2 * case.cell.lengths[2]
    d = np.asarray(snaps) - np.asarray(stacked.positions)[None]
    d[..., :2] -= np.round(d[..., :2] / case.cell.lengths[0]) * case.cell.lengths[0]  # periodic in x, y
    rms = np.sqrt(np.mean(d**2))
    assert 0.02 < rms < 0.2  # thermal displacements around the ideal sites (√(B/8π²) ≈ 0.024–0.04 Å)
    top, bottom = np.asarray(snaps)[:, n_block:], np.asarray(snaps)[:, :n_block]
    assert np.all(np.abs(top[..., 2] - bottom[..., 2] - lz) < 0.5)  # block j shifted by j·lz
    assert not np.allclose(top - [0, 0, lz], bottom, atol=1e-4)  # … but from another frame
    assert 0.01 < b_md < 0.143  # classical MD: below the tabulated (quantum) B of diamond
    with pytest.raises(ValueError, match="multiple"):
        tds_models.md_snapshots(_case(md_block=3, nz=4), 2)


def test_single_inelastic_accumulator_equals_absorbed_flux_for_full_vprime():
    """The accumulator Σ_n 2σ Σ_r |ψ_n|² v′_n equals the same sum over the waves entering each slice taken
    from :func:`jaxem.propagate.multislice` (exit plane after every slice), and — with v′_det the whole v′ —
    the flux the absorptive potential removes, 1 − N_abs/N_DW, to first order in σv′: a weak absorption
    (v′ = 0.002·v) leaves a 3–4% excess, because the multislice transmission functions are band-limited
    by the 2/3 anti-alias aperture while the accumulator sees the full-bandwidth v′."""
    from jaxem import physics
    from jaxem.optics.probes import probe
    from jaxem.potential import absorptive_potential
    from jaxem.propagate import multislice, waves_from_array
    from jaxem.propagate.multislice import fresnel_propagator, transmission_functions

    cell = zone_axis(crystals.SrTiO3(), [0, 0, 1])
    a = float(cell.lengths[2])
    st = cell.translate([0, 0, a / 4]).repeat(2, 2, 4)
    pot = absorptive_potential(st, tds_models.ENERGY, gpts=(96, 96), slice_thickness=a / 2, model="fraction",
                               fraction=0.002)
    grid = pot.grid
    probes = probe(grid, tds_models.ENERGY, 20.0, positions=np.array([[0.0, 0.0], [a / 2, a / 2]]))
    sigma = physics.interaction_constant(tds_models.ENERGY)
    trans = transmission_functions(pot.array, sigma, grid, probes.dtype)
    prop = fresnel_propagator(grid, tds_models.ENERGY, pot.slice_thickness, dtype=probes.dtype)
    acc = np.asarray(tds_models._absorptive_tds(probes, trans, jnp.asarray(pot.sequence, jnp.int32), prop,
                                                jnp.imag(pot.array).astype(jnp.float32), jnp.float32(sigma),
                                                (2, 4, 6, 8)))
    waves = waves_from_array(probes, grid, tds_models.ENERGY, norm=1.0)
    psi = multislice(waves, pot, exit_planes=2).array
    dw = multislice(waves, pot.replace(array=pot.array.real.astype(pot.array.dtype)), exit_planes=2).array
    absorbed = 1 - np.asarray(jnp.sum(jnp.abs(psi) ** 2, (-2, -1)) / jnp.sum(jnp.abs(dw) ** 2, (-2, -1)))
    assert acc.shape == (2, 4) and np.all(np.diff(acc, axis=1) > 0)
    np.testing.assert_allclose(acc, absorbed, rtol=0.05)
    every = multislice(waves, pot, exit_planes=1).array  # (P, n_slices, ny, nx)
    entering = jnp.concatenate([probes[:, None], every[:, :-1]], axis=1)
    vim = jnp.imag(pot.full())
    per_slice = 2 * sigma * jnp.sum(jnp.abs(entering) ** 2 * vim[None], axis=(-2, -1))
    ref = np.cumsum(np.asarray(per_slice), axis=1)[:, [1, 3, 5, 7]]
    np.testing.assert_allclose(acc, ref, rtol=2e-4)
