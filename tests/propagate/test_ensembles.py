import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Grid
from jaxem.potential import potential
from jaxem.propagate import (EnsembleWaves, einstein_positions, ensemble_mean, frozen_phonon_multislice, multislice,
                             plane_wave, waves_from_array)
from jaxem.structure import Structure

A = 3.905


def srtio3(B=True):
    return Structure.create([[0, 0, 0], [A / 2, A / 2, A / 2], [A / 2, A / 2, 0], [A / 2, 0, A / 2], [0, A / 2, A / 2]],
                            ["Sr", "Ti", "O", "O", "O"], [A, A, A],
                            B={"Sr": 0.62, "Ti": 0.41, "O": 0.72} if B else None)


def test_einstein_displacement_statistics_within_1_percent():
    s = srtio3().repeat(4, 4, 2)
    keys = jax.random.split(jax.random.key(3), 2500)  # ≥ 80k draws per species and axis: 1 % ≈ 4σ
    pos = jax.vmap(lambda k: einstein_positions(k, s.positions, s.u2))(keys)
    d = np.asarray(pos - s.positions[None])
    numbers = np.asarray(s.numbers)
    for z, b in ((38, 0.62), (22, 0.41), (8, 0.72)):
        sel = d[:, numbers == z, :]
        want = np.sqrt(b / (8 * np.pi**2))
        for axis in range(3):
            assert np.std(sel[..., axis]) == pytest.approx(want, rel=0.01)
            assert abs(np.mean(sel[..., axis])) < 0.01 * want * 5


def test_tiles_and_configurations_are_independent():
    s = srtio3().repeat(2, 1, 1)
    k1, k2 = jax.random.split(jax.random.key(0))
    d1 = np.asarray(einstein_positions(k1, s.positions, s.u2) - s.positions)
    d2 = np.asarray(einstein_positions(k2, s.positions, s.u2) - s.positions)
    assert not np.allclose(d1[:5], d1[5:])  # lateral tiles differ
    assert not np.allclose(d1, d2)          # configurations differ


@pytest.mark.parametrize("n,batch", [(7, 3), (5, 5), (4, 1)])
def test_ensemble_mean_matches_direct_mean(n, batch):
    xs = jnp.arange(n * 6, dtype=jnp.float64).reshape(n, 2, 3)
    fn = lambda x: {"a": x**2, "b": jnp.sum(x) + 0j}
    got = ensemble_mean(fn, xs, batch)
    assert np.allclose(got["a"], np.mean(np.asarray(xs) ** 2, axis=0))
    assert np.allclose(got["b"], np.mean(np.asarray(xs).sum((1, 2))))


def test_static_snapshots_reproduce_plain_multislice():
    s = srtio3().repeat(2, 2, 3)
    grid = Grid.from_extent((2 * A, 2 * A), sampling=0.15)
    snaps = jnp.repeat(s.positions[None], 3, axis=0)
    r = frozen_phonon_multislice(None, s, plane_wave(grid, 300e3), snapshots=snaps, slice_thickness=A / 2)
    pot = potential(s.replace(z_repeats=1), gpts=grid.gpts, slice_thickness=A / 2)
    ref = multislice(plane_wave(grid, 300e3), pot).array
    assert np.allclose(r.mean_wave, ref, atol=1e-5)
    assert isinstance(r, EnsembleWaves) and r.n_configs == 3 and r.beam.energy == 300e3 and r.grid == grid
    assert len(jax.tree.leaves(r)) == 4  # n_configs, grid and beam are static
    assert np.allclose(r.tds_diffraction, 0.0, atol=1e-6)
    assert np.allclose(r.total_intensity, np.abs(np.asarray(ref)) ** 2, atol=1e-5)


def test_tds_positive_off_bragg_for_tiled_crystal():
    n = 3
    s = srtio3().repeat(n, n, 4)
    grid = Grid.from_extent((n * A, n * A), sampling=0.12)
    r = frozen_phonon_multislice(jax.random.key(1), s, plane_wave(grid, 300e3), n_configs=6, slice_thickness=A / 2)
    tds = np.asarray(r.tds_diffraction)
    k = np.sqrt(np.asarray(grid.k2(np.float64)))
    inside = k < 0.9 * grid.antialias_cutoff
    off_bragg = np.ones_like(inside)
    off_bragg[::n, :] = False
    off_bragg[:, ::n] = False
    sel = inside & off_bragg
    assert np.mean(tds[sel] > 0) > 0.99
    # flux bookkeeping: total = elastic + TDS, and the total stays ≤ 1
    assert float(r.total_diffraction.sum()) == pytest.approx(float(r.elastic_diffraction.sum() + tds.sum()), rel=1e-6)
    assert float(r.total_diffraction.sum()) <= 1.0 + 1e-5


def test_bad_input():
    s = srtio3(B=False)
    grid = Grid.from_extent((A, A), sampling=0.2)
    with pytest.raises(ValueError, match="structure: all Debye"):
        frozen_phonon_multislice(jax.random.key(0), s, plane_wave(grid, 300e3), n_configs=2)
    with pytest.raises(ValueError, match="n_configs must be ≥ 1"):
        frozen_phonon_multislice(jax.random.key(0), srtio3(), plane_wave(grid, 300e3), n_configs=0)
    with pytest.raises(ValueError, match="n_configs must be given"):
        frozen_phonon_multislice(jax.random.key(0), srtio3(), plane_wave(grid, 300e3))
    with pytest.raises(ValueError, match=r"snapshots must have shape \(5, 3\)"):
        frozen_phonon_multislice(None, srtio3(), plane_wave(grid, 300e3), snapshots=np.zeros((2, 3, 3)))
    snaps = np.zeros((2, 5, 3))
    snaps[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"snapshots holds 1 NaN/inf value\(s\) \[Å\] \(first at index \(1, 2, 0\)\)"):
        frozen_phonon_multislice(None, srtio3(), plane_wave(grid, 300e3), snapshots=snaps)
    with pytest.raises(TypeError, match="structure must be a jaxem Structure"):
        frozen_phonon_multislice(None, "SrTiO3", plane_wave(grid, 300e3), snapshots=snaps)
    with pytest.raises(ValueError, match="waves must be one incident wave"):
        frozen_phonon_multislice(jax.random.key(0), srtio3(), waves_from_array(np.ones((2,) + grid.gpts), grid, 300e3),
                                 n_configs=2)
