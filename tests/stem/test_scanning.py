import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Beam, Grid, accel
from jaxem.optics import Aberrations
from jaxem.potential import potential
from jaxem.potential.projected import PotentialSlices
from jaxem.stem import (AnnularDetector, CenterOfMassDetector, GridScan, PixelatedDetector, SegmentedDetector,
                        STEMSimulation, stem_scan)
from jaxem.structure import Structure, crystals
from jaxem.validate import InputError, InputTypeError

A = 3.905


def vacuum(grid, n=2):
    return PotentialSlices(jnp.zeros((1,) + grid.gpts, jnp.float32), (0,) * n, 1.0, grid)


def test_vacuum_probe_detector_bookkeeping():
    grid = Grid((96, 96), (0.1, 0.1))
    sim = STEMSimulation(Beam(200e3), 15.0, (AnnularDetector(0.0, 16.0, "BF"), AnnularDetector(16.0, 60.0, "DF"),
                                             SegmentedDetector(0.0, 16.0, 4, 2), PixelatedDetector(30.0),
                                             CenterOfMassDetector(), AnnularDetector(0.0, name="all")))
    res = stem_scan(sim, GridScan.create((1.0, 1.0), (5.0, 5.0), gpts=(2, 3)), vacuum(grid), progress=False)
    assert np.allclose(res["BF"].array, 1.0, atol=1e-5)
    assert np.allclose(res["all"].array, 1.0, atol=1e-5)  # outer = inf: everything the grid holds
    assert np.allclose(res["DF"].array, 0.0, atol=1e-6)
    seg = sum(np.asarray(res[f"segmented_r{r}_s{s}"].array) for r in range(2) for s in range(4))
    assert np.allclose(seg, res["BF"].array, atol=1e-5)
    assert np.allclose(res["com"].array, 0.0, atol=1e-3)
    pix = res["pixelated"]
    assert np.allclose(np.asarray(pix.array).sum((-2, -1)), 1.0, atol=1e-5)
    assert pix.shape[:2] == (2, 3) and [a.units for a in pix.axes] == ["Å", "Å", "mrad", "mrad"]
    # centred convention: the pattern of a centred probe disc is symmetric about its middle pixel
    p = np.asarray(pix.array[0, 0])
    np.testing.assert_allclose(p, p[::-1, ::-1], atol=1e-6)
    meta = res["BF"].metadata
    assert meta["beam"]["energy"] == {"value": 200e3, "units": "eV"}
    assert meta["semi_angle"] == {"value": 15.0, "units": "mrad"} and meta["detector"]["type"] == "AnnularDetector"


def test_lattice_periodicity_and_com_deflection():
    sto = crystals.SrTiO3().repeat(3, 3, 2)
    pot = potential(sto, sampling=0.08, slice_thickness=A / 2)
    sim = STEMSimulation(300e3, 20.0, (AnnularDetector(40.0, 75.0, "ADF"), CenterOfMassDetector()))
    # positions a lattice vector apart give the same signal
    scan = GridScan.create((0.3, 0.2), (0.3 + 2 * A, 0.2 + A), gpts=(2, 1))
    res = stem_scan(sim, scan, pot, progress=False)
    assert np.allclose(res["ADF"].array[0], res["ADF"].array[1], rtol=1e-3, atol=5e-5)  # float32 round-off
    # a probe just left (−x) of the Sr column at the origin is deflected towards it (+x)
    sr = np.asarray(sto.positions)[np.asarray(sto.numbers) == 38][0]
    scan = GridScan.create((A + sr[1], A + sr[0] - 0.4), (A + sr[1] + 0.01, A + sr[0] - 0.39), gpts=(1, 1))
    com = np.asarray(stem_scan(sim, scan, pot, progress=False)["com"].array)[0, 0]
    assert com[1] > 0.1 and abs(com[0]) < 0.3 * com[1]


def test_thickness_series_equals_separate_runs_and_chunks_do_not_matter():
    sto = crystals.SrTiO3().repeat(1, 1, 4)
    pot = potential(sto, sampling=0.12, slice_thickness=A / 2)
    h = pot.n_slices // 2
    sim = STEMSimulation(300e3, 15.0, (AnnularDetector(30.0, 60.0, "ADF"), PixelatedDetector(20.0, name="dp")))
    scan = GridScan.create((0, 0), (A, A), gpts=(3, 2))
    series = stem_scan(sim, scan, pot, exit_planes=h, progress=False)
    adf = series["ADF"]
    assert adf.shape == (3, 2, 2) and adf.axes[2].name == "thickness"
    assert adf.axes[2].sampling == pytest.approx(2 * A, rel=1e-3) and adf.metadata["exit_slices"] == [h, 2 * h]
    assert series["dp"].shape[:3] == (3, 2, 2)
    full = stem_scan(sim, scan, pot, progress=False)
    np.testing.assert_allclose(adf.array[..., -1], full["ADF"].array, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(series["dp"].array[:, :, -1], full["dp"].array, rtol=1e-5, atol=1e-8)
    half = PotentialSlices(pot.array, pot.sequence[:h], pot.slice_thickness, pot.grid)
    np.testing.assert_allclose(adf.array[..., 0], stem_scan(sim, scan, half, progress=False)["ADF"].array,
                               rtol=1e-5, atol=1e-7)
    # row chunks of one row each (tiny budget) and a streaming callback give the same numbers
    seen = []
    small = stem_scan(sim, scan, pot, exit_planes=h, memory_budget=2**11, progress=False,
                      chunk_callback=lambda rows, chunk: seen.append((rows, {k: v.shape for k, v in chunk.items()})))
    np.testing.assert_allclose(small["ADF"].array, adf.array, rtol=1e-6)
    assert "dp" not in small  # diffraction patterns went to the callback only
    assert len(seen) == 3 and seen[0][0] == slice(0, 1) and seen[0][1]["dp"][:3] == (1, 2, 2)


def test_static_snapshots_equal_static_scan_and_einstein_runs():
    sto = crystals.SrTiO3().repeat(1, 1, 2)
    pot = potential(sto.replace(z_repeats=1), sampling=0.1, slice_thickness=A / 2)
    sim = STEMSimulation(300e3, 20.0, (AnnularDetector(30.0, 60.0, "ADF"),))
    scan = GridScan.create((0, 0), (A, A), gpts=(2, 2))
    static = stem_scan(sim, scan, pot, progress=False)["ADF"].array
    snaps = jnp.repeat(sto.positions[None], 2, axis=0)
    fp = stem_scan(sim, scan, pot, structure=sto, thermal="snapshots", snapshots=snaps, progress=False)["ADF"].array
    assert np.allclose(static, fp, rtol=1e-4)
    ein = stem_scan(sim, scan, pot, structure=sto, thermal="einstein", n_configs=3, key=jax.random.key(0),
                    exit_planes=2, progress=False)["ADF"]
    assert ein.metadata["n_configurations"] == 3 and np.all(np.isfinite(ein.array)) and ein.shape[:2] == (2, 2)
    assert ein.shape[2] == len(ein.metadata["exit_slices"]) == len(ein.metadata["thickness"]["value"])
    # configurations batched by the budget or one at a time: the same mean
    one = stem_scan(sim, scan, pot, structure=sto, thermal="einstein", n_configs=3, key=jax.random.key(0),
                    exit_planes=2, memory_budget=2**20, progress=False)["ADF"]
    np.testing.assert_allclose(one.array, ein.array, rtol=1e-4)


def test_absorptive_tds_accumulator_equals_per_slice_sum():
    """``<name>_tds`` equals Σ_n 2σ Σ_r |ψ_n|² v′_det,n summed over the waves entering each slice, taken
    from :func:`jaxem.propagate.multislice` (exit plane after every slice), at every recorded thickness."""
    from jaxem.optics import probe
    from jaxem.potential import absorptive_potential
    from jaxem.propagate import multislice, waves_from_array

    beam = Beam(300e3)
    st = crystals.SrTiO3().translate([0, 0, A / 4]).repeat(1, 1, 4)
    pot = absorptive_potential(st, beam.energy, gpts=(48, 48), slice_thickness=A / 2, model="fraction",
                               fraction=0.002)
    sim = STEMSimulation(beam, 20.0, (AnnularDetector(0.0, name="all"),))
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(1, 2))
    res = stem_scan(sim, scan, pot, exit_planes=2, tds_potentials={"all": pot}, progress=False)
    tds = np.asarray(res["all_tds"].array).reshape(2, -1)
    exits = np.asarray(res["all_tds"].metadata["exit_slices"])
    assert tds.shape == (2, pot.n_slices // 2) and np.all(np.diff(tds, axis=1) > 0)
    probes = probe(pot.grid, beam, 20.0, positions=scan.positions().reshape(-1, 2))
    waves = waves_from_array(probes, pot.grid, beam, norm=1.0)
    every = multislice(waves, pot, exit_planes=1).array  # (P, n_slices, ny, nx)
    entering = jnp.concatenate([probes[:, None], every[:, :-1]], axis=1)
    per_slice = 2 * beam.sigma * jnp.sum(jnp.abs(entering) ** 2 * jnp.imag(pot.full())[None], axis=(-2, -1))
    ref = np.cumsum(np.asarray(per_slice), axis=1)[:, exits - 1]
    np.testing.assert_allclose(tds, ref, rtol=5e-4)
    # with v′ the whole absorptive potential, the accumulator is the flux it removes (to first order)
    dw = stem_scan(sim, scan, pot.replace(array=pot.array.real.astype(pot.array.dtype), energy=None), exit_planes=2,
                   progress=False)["all"].array
    absorbed = 1 - np.asarray(res["all"].array) / np.asarray(dw)
    np.testing.assert_allclose(tds, absorbed.reshape(2, -1), rtol=0.05)


def test_every_precision_alias_is_honoured():
    grid = Grid((32, 32), (0.1, 0.1))
    sim = STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 16.0, "BF"), PixelatedDetector(20.0)))
    scan = GridScan.create((0.0, 0.0), (1.0, 1.0), gpts=(1, 1))
    for alias in accel.PRECISION_ALIASES:
        want = accel.real_dtype(alias)
        res = stem_scan(sim, scan, vacuum(grid), precision=alias, progress=False)
        assert res["BF"].array.dtype == want and res["pixelated"].array.dtype == want, alias
        assert res["BF"].array[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_haadf_against_abtem_static_potential():
    abtem = pytest.importorskip("abtem")
    import ase

    atoms = ase.Atoms("SrTiOOO", scaled_positions=[[0, 0, 0], [.5, .5, .5], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]],
                      cell=[A, A, A], pbc=True) * (2, 2, 3)
    gpts = 192  # atoms on grid points (abTEM deposits off-grid atoms bilinearly)
    pot = potential(Structure.from_ase(atoms).replace(z_repeats=3), gpts=gpts, slice_thickness=A / 2)
    sim = STEMSimulation(300e3, 20.0, (AnnularDetector(70.0, 140.0, "HAADF"),))
    pts = [(0.0, 0.0), (A / 2, A / 2), (0.0, A / 2), (A / 4, A / 4)]
    mine = []
    for y, x in pts:
        scan = GridScan.create((y, x), (y + 0.01, x + 0.01), gpts=(1, 1))
        mine.append(float(stem_scan(sim, scan, pot, progress=False)["HAADF"].array[0, 0]))
    ab_pot = abtem.Potential(atoms, gpts=gpts, slice_thickness=A / 2, projection="infinite", parametrization="lobato")
    probe = abtem.Probe(semiangle_cutoff=20.0, energy=300e3, soft=False)  # hard aperture, as ours
    det = abtem.AnnularDetector(inner=70.0, outer=140.0)
    ref = np.asarray(probe.scan(ab_pot, scan=abtem.CustomScan([(x, y) for y, x in pts]), detectors=det).compute().array)
    assert np.allclose(mine, ref, rtol=0.02)


def test_simulation_validation_names_the_argument():
    with pytest.raises(InputError, match="detectors is empty"):
        STEMSimulation(200e3, 15.0, ())
    with pytest.raises(InputTypeError, match=r"detectors\[1\]"):
        STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 10.0), "HAADF"))
    with pytest.raises(InputError, match="both produce the output 'annular'"):
        STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 10.0), AnnularDetector(20.0, 40.0)))
    with pytest.raises(InputError, match="semi_angle"):
        STEMSimulation(200e3, -1.0, (AnnularDetector(0.0, 10.0),))
    with pytest.raises(InputError, match="semi_angle"):
        STEMSimulation(200e3, float("nan"), (AnnularDetector(0.0, 10.0),))
    with pytest.raises(InputError, match="edge_width"):
        STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 10.0),), edge_width=-1.0)
    with pytest.raises((InputError, InputTypeError), match="energy|beam"):
        STEMSimulation("lots", 15.0, (AnnularDetector(0.0, 10.0),))
    with pytest.raises(InputTypeError, match="aberrations"):
        STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 10.0),), aberrations={"C10": 1.0})
    sim = STEMSimulation("200 kV", 15.0, AnnularDetector(0.0, 10.0), aberrations=Aberrations(C10=-20.0))
    assert sim.beam == Beam(200e3) and len(sim.detectors) == 1 and hash(sim) == hash(
        STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 10.0),), aberrations=Aberrations(C10=-20.0)))


def test_scan_validation_names_the_argument():
    grid = Grid((32, 32), (0.1, 0.1))
    sim = STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 10.0),))
    one = GridScan.create((0, 0), (1.0, 1.0), gpts=(1, 1))
    sto = crystals.SrTiO3().repeat(1, 1, 2)
    with pytest.raises(InputError, match="outside the cell"):
        stem_scan(sim, GridScan.create((0, 0), (5.0, 1.0), gpts=(2, 2)), vacuum(grid), progress=False)
    with pytest.raises(InputError, match="detector 'annular' outer angle of 200 mrad exceeds"):
        stem_scan(STEMSimulation(200e3, 15.0, (AnnularDetector(70.0, 200.0),)), one, vacuum(grid), progress=False)
    with pytest.raises(InputError, match="sim.semi_angle of 90 mrad exceeds"):
        stem_scan(STEMSimulation(200e3, 90.0, (AnnularDetector(0.0, 10.0),)), one, vacuum(grid), progress=False)
    with pytest.raises(InputError, match="needs structure"):
        stem_scan(sim, one, vacuum(grid), thermal="einstein", progress=False)
    with pytest.raises(InputError, match=r"thermal must be one of .*did you mean 'einstein'"):
        stem_scan(sim, one, vacuum(grid), thermal="einstien", progress=False)
    with pytest.raises(InputError, match="structure is not used with thermal=None"):
        stem_scan(sim, one, vacuum(grid), structure=sto, progress=False)
    with pytest.raises(InputError, match="snapshots is not used with thermal='einstein'"):
        stem_scan(sim, one, vacuum(grid), structure=sto, thermal="einstein", snapshots=np.zeros((1, 5, 3)),
                  progress=False)
    with pytest.raises(InputError, match="n_configs is not used"):
        stem_scan(sim, one, vacuum(grid), n_configs=4, progress=False)
    with pytest.raises(InputTypeError, match="key must be a jax.random key"):
        stem_scan(sim, one, vacuum(grid), structure=sto, thermal="einstein", key="seed", progress=False)
    with pytest.raises(InputError, match="n_configs must be ≥ 1"):
        stem_scan(sim, one, vacuum(grid), structure=sto, thermal="einstein", n_configs=0, progress=False)
    with pytest.raises(InputError, match="structure has a lateral cell"):
        stem_scan(sim, one, vacuum(grid), structure=sto, thermal="einstein", progress=False)
    with pytest.raises(InputError, match="needs snapshots"):
        stem_scan(sim, one, vacuum(grid), structure=sto, thermal="snapshots", progress=False)
    cell = Structure.create([[1.0, 1.0, 0.5]], ["Si"], [3.2, 3.2, 2.0], B=0.5)
    with pytest.raises(InputError, match=r"snapshots must have shape \(1, 3\)"):
        stem_scan(sim, one, vacuum(grid), structure=cell, thermal="snapshots", snapshots=np.zeros((2, 3, 3)),
                  progress=False)
    with pytest.raises(InputError, match="snapshots holds 1 NaN"):
        stem_scan(sim, one, vacuum(grid), structure=cell, thermal="snapshots",
                  snapshots=np.array([[[np.nan, 1.0, 0.5]]]), progress=False)
    with pytest.raises(InputError, match="B = 0 everywhere"):
        stem_scan(sim, one, vacuum(grid), structure=cell.replace(u2=0 * cell.u2), thermal="einstein", progress=False)
    with pytest.raises(InputTypeError, match="potential must be a PotentialSlices"):
        stem_scan(sim, one, np.zeros((1, 32, 32)), progress=False)
    with pytest.raises(InputTypeError, match="sim must be"):
        stem_scan("sim", one, vacuum(grid), progress=False)
    with pytest.raises(InputTypeError, match="scan must be"):
        stem_scan(sim, (0, 0), vacuum(grid), progress=False)
    with pytest.raises(InputError, match="exit_planes"):
        stem_scan(sim, one, vacuum(grid), exit_planes=[3], progress=False)
    with pytest.raises(InputError, match="precision"):
        stem_scan(sim, one, vacuum(grid), precision="half", progress=False)
    with pytest.raises(InputError, match="memory_budget"):
        stem_scan(sim, one, vacuum(grid), memory_budget="lots", progress=False)
    bad = PotentialSlices(jnp.full((1, 32, 32), jnp.nan, jnp.float32), (0, 0), 1.0, grid)
    with pytest.raises(InputError, match=r"potential.array holds 1024 NaN/inf"):
        stem_scan(sim, one, bad, progress=False)
    built_for = PotentialSlices(jnp.zeros((1, 32, 32), jnp.complex64), (0,), 1.0, grid, energy=300e3)
    with pytest.raises(InputError, match="built for 300000 eV .* sim.beam has 200000 eV"):
        stem_scan(sim, one, built_for, progress=False)
    with pytest.raises(InputError, match="tds_potentials key"):
        stem_scan(sim, one, vacuum(grid), tds_potentials={"HAADF": vacuum(grid)}, progress=False)
    with pytest.raises(InputError, match="tds_potentials belong"):
        stem_scan(sim, one, vacuum(grid), structure=crystals.SrTiO3(), thermal="einstein",
                  tds_potentials={"annular": vacuum(grid)}, progress=False)
