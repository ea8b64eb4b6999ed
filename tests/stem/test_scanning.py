import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Grid
from jaxem.io import load
from jaxem.potential import potential
from jaxem.potential.projected import PotentialSlices
from jaxem.stem import (AnnularDetector, CenterOfMassDetector, GridScan, PixelatedDetector, SegmentedDetector,
                        STEMSimulation, stem_scan, stem_scan_to_zarr)
from jaxem.structure import Structure, crystals

A = 3.905


def vacuum(grid, n=2):
    return PotentialSlices(jnp.zeros((1,) + grid.gpts, jnp.float32), (0,) * n, 1.0, grid)


def test_vacuum_probe_detector_bookkeeping():
    grid = Grid((96, 96), (0.1, 0.1))
    sim = STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 16.0, "BF"), AnnularDetector(16.0, 60.0, "DF"),
                                       SegmentedDetector(0.0, 16.0, 4, 2), PixelatedDetector(30.0),
                                       CenterOfMassDetector()))
    res = stem_scan(sim, GridScan.create((1.0, 1.0), (5.0, 5.0), gpts=(2, 3)), vacuum(grid), progress=False)
    assert np.allclose(res["BF"].array, 1.0, atol=1e-5)
    assert np.allclose(res["DF"].array, 0.0, atol=1e-6)
    seg = sum(np.asarray(res[f"segmented_r{r}_s{s}"].array) for r in range(2) for s in range(4))
    assert np.allclose(seg, res["BF"].array, atol=1e-5)
    assert np.allclose(res["com"].array, 0.0, atol=1e-3)
    assert np.allclose(np.asarray(res["pixelated"].array).sum((-2, -1)), 1.0, atol=1e-5)
    assert res["pixelated"].axes[-1].units == "mrad"


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


def test_zarr_streaming_equals_in_memory(tmp_path):
    pot = potential(crystals.SrTiO3().repeat(1, 1, 2), sampling=0.12, slice_thickness=A / 2)
    sim = STEMSimulation(300e3, 15.0, (PixelatedDetector(25.0, 2), AnnularDetector(0.0, 15.0, "BF")))
    scan = GridScan.create((0, 0), (A, A), gpts=(3, 2))
    mem = stem_scan(sim, scan, pot, progress=False)
    path = tmp_path / "scan.zarr"
    stem_scan_to_zarr(path, sim, scan, potential=pot, progress=False, memory_budget=2**16)  # tiny: row chunks
    import zarr

    z = zarr.open_group(str(path), mode="r")
    assert z["pixelated"].shape == mem["pixelated"].shape
    assert np.allclose(z["pixelated"][...], mem["pixelated"].array, atol=1e-7)
    assert np.allclose(z["BF"][...], mem["BF"].array)


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
                    progress=False)["ADF"]
    assert ein.metadata["n_configurations"] == 3 and np.all(np.isfinite(ein.array))


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


def test_bad_inputs():
    grid = Grid((32, 32), (0.1, 0.1))
    sim = STEMSimulation(200e3, 15.0, (AnnularDetector(0.0, 10.0),))
    with pytest.raises(ValueError, match="outside the cell"):
        stem_scan(sim, GridScan.create((0, 0), (5.0, 1.0), gpts=(2, 2)), vacuum(grid), progress=False)
    with pytest.raises(ValueError, match="inner < outer"):
        AnnularDetector(20.0, 10.0)
    with pytest.raises(ValueError, match="finer sampling"):
        stem_scan(STEMSimulation(200e3, 15.0, (AnnularDetector(70.0, 200.0),)),
                  GridScan.create((0, 0), (1.0, 1.0), gpts=(1, 1)), vacuum(grid), progress=False)
    with pytest.raises(ValueError, match="sampling"):
        GridScan.create((0, 0), (1.0, 1.0), sampling=-1)
    with pytest.raises(ValueError, match="structure"):
        stem_scan(sim, GridScan.create((0, 0), (1.0, 1.0), gpts=(1, 1)), vacuum(grid), thermal="einstein",
                  progress=False)
    with pytest.raises(ValueError, match="thermal"):
        stem_scan(sim, GridScan.create((0, 0), (1.0, 1.0), gpts=(1, 1)), vacuum(grid), thermal="qep",
                  progress=False)
