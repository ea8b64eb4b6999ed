"""Helpers of the TDS comparison: MD snapshot stacking, unbiased TDS estimator, probe positions, detector."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.cli.sections import tds_models
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


def test_probe_scan_covers_the_central_cell():
    case = _case()
    pos = tds_models.probe_scan(case, 2).positions().reshape(-1, 2)
    a = case.cell.lengths[0]
    np.testing.assert_allclose(pos, [[a, a], [a, 1.5 * a], [1.5 * a, a], [1.5 * a, 1.5 * a]], rtol=1e-6)


def test_haadf_series_runs_every_model_through_stem_scan():
    case = _case(md_block=0, nz=2)
    case = case.replace(sampling=0.08)  # 125 mrad fits a 0.08 Å grid at 300 kV (Nyquist ≈ 123 mrad: error)
    with pytest.raises(ValueError, match="outer angle of 125 mrad exceeds"):
        tds_models.haadf_series(case, ["static"], 2, jax.random.key(0), n_side=1)
    with pytest.raises(ValueError, match="models entry must be one of .*did you mean 'einstein'"):
        tds_models.haadf_series(case, ["einstien"], 2, jax.random.key(0), n_side=1)
    case = case.replace(sampling=0.06)
    hs = tds_models.haadf_series(case, ["static", "absorptive", "einstein"], 2, jax.random.key(0), n_side=1)
    assert hs["static"].shape == hs["einstein"].shape == hs["absorptive_tds"].shape == (1, case.nz)
    assert np.all(hs["absorbed"] > 0) and np.all(np.diff(hs["absorptive_tds"], axis=1) > 0)
    assert np.all(hs["einstein"] > 0) and np.all(np.isfinite(hs["absorptive"]))


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
