"""Computations of the thermal-diffuse-scattering comparison (demo section ``tds_comparison`` and the
notebook ``notebooks/tds_comparison.ipynb``): one crystal, three thermal models, a thickness series.

Models (Forbes et al., PRB 82 (2010) 104103; Hall & Hirsch, Proc. R. Soc. A 286 (1965) 158):

* ``static``: the static lattice, no Debye–Waller factor (reference);
* ``absorptive``: Hall–Hirsch absorptive potential v_DW + iv′ (elastic wave only: the TDS it removes
  is not in the pattern; the absorbed fraction is 1 − N_abs/N_DW, with N_DW the norm of the same
  multislice without v′, which removes the anti-alias loss common to both);
* ``einstein``: frozen phonons, independent Gaussian displacements ⟨u²⟩ = B/8π² per direction;
* ``md``: frozen phonons from LAMMPS Tersoff snapshots (SiC.tersoff: Si and C, so diamond only; no
  SrTiO3 potential is used here). It needs LAMMPS installed.
  The MD cell is a few unit cells deep; a deeper specimen stacks *different* frames along z, so
  blocks are decorrelated in time (correlations along z are kept within a block).

Everything here calls the library: plane waves through :func:`jaxem.propagate.multislice` and
:func:`jaxem.propagate.frozen_phonon_multislice`, STEM through :func:`jaxem.stem.stem_scan` with a
thickness series (``exit_planes``); only the loops over models and crystals are Python. Plane-wave
results: unshifted diffraction patterns (fractions of the beam) per exit plane; STEM: HAADF fractions
per probe position and exit plane.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ... import pytree, validate
from ...beam import Beam
from ...potential import absorptive_potential, potential
from ...propagate import frozen_phonon_multislice, multislice, plane_wave
from ...propagate.detect import diffraction_patterns_array
from ...propagate.profiles import bragg_intensities

ENERGY = 300e3  # eV
BEAM = Beam(ENERGY)
#: the STEM thermal models of :func:`haadf_series`
MODELS = ("static", "absorptive", "einstein", "md")


@pytree.dataclass
class Case:
    """A crystal in zone-axis orientation: ``cell`` (oriented, orthorhombic), lateral ``tiling``
    (n_y, n_x), ``nz`` cells along the beam, slice thickness ``dz`` [Å] (atoms are shifted by dz/2 so
    they sit mid-slice, never on a slice boundary), Bragg ``beams`` [(h_y, h_x)] (indices of the
    oriented cell) with their cubic Miller ``labels``, and the MD block depth ``md_block`` (cells; 0: no MD)."""

    name: str = pytree.field(static=True)
    cell: object
    tiling: tuple = pytree.field(static=True)
    nz: int = pytree.field(static=True)
    dz: float = pytree.field(static=True, units="Å")
    beams: tuple = pytree.field(static=True)
    labels: tuple = pytree.field(static=True)
    md_block: int = pytree.field(static=True, default=0)
    sampling: float = pytree.field(static=True, units="Å", default=0.05)

    @property
    def unit(self):
        return self.cell.translate([0.0, 0.0, self.dz / 2])

    @property
    def crystal(self):
        return self.unit.repeat(self.tiling[1], self.tiling[0], self.nz)

    @property
    def gpts(self):
        ly, lx = self.cell.lengths[1], self.cell.lengths[0]
        return tuple(t * int(math.ceil(L / self.sampling)) for t, L in zip(self.tiling, (ly, lx)))

    @property
    def slices_per_cell(self) -> int:
        return int(round(self.cell.lengths[2] / self.dz))

    def thicknesses(self):
        """Exit-plane thicknesses [Å] (one per unit cell)."""
        return np.arange(1, self.nz + 1) * self.cell.lengths[2]


def md_snapshots(case: Case, n_configs: int, steps: int = 1200, seed: int = 7):
    """LAMMPS Tersoff MD (300 K) of a (tiling × md_block) block; returns (structure, snapshots (n, N, 3)
    [Å], B_MD [Å²]) with frame (i·n_blocks + j) in block j of configuration i."""
    from ...md import debye_waller_factors, run_md, snapshots_as_ensemble

    if case.md_block < 1 or case.nz % case.md_block:
        raise validate.InputError(f"case.nz={case.nz} must be a multiple of case.md_block={case.md_block} (≥ 1)")
    n_blocks = case.nz // case.md_block
    block = case.unit.repeat(case.tiling[1], case.tiling[0], case.md_block).replace(z_repeats=1)
    every = 20
    n_frames_needed = n_configs * n_blocks
    steps = max(steps, every * (n_frames_needed + 5))
    traj = run_md(block, temperature=300.0, timestep_fs=0.5, equilibration_steps=400, production_steps=steps,
                  dump_every=every, seed=seed, progress=False)
    b_md = float(np.mean(list(debye_waller_factors(traj).values())))
    snaps = np.asarray(snapshots_as_ensemble(traj, n_frames_needed, burn_in=5, wrap=False))
    lz = float(block.lengths[2])
    snaps = snaps.reshape(n_configs, n_blocks, len(block), 3) + np.array([0, 0, 1.0])[None, None, None] * \
        (np.arange(n_blocks) * lz)[None, :, None, None]
    stacked = block.repeat(1, 1, n_blocks).replace(z_repeats=1)
    return stacked, jnp.asarray(snaps.reshape(n_configs, -1, 3), jnp.float32), b_md


def harmonic_snapshots_for(case: Case, n_configs: int, key, potential: str = "C", temperature: float = 300.0,
                           quantum: bool = True):
    """Quantum (zero-point included) harmonic-phonon snapshots of the same blocks as :func:`md_snapshots`:
    force constants of the (tiling × md_block) block by finite displacements with LAMMPS forces
    (:func:`jaxem.phonons.harmonic_phonons`), modes of that periodic block, and independent draws
    stacked along z. Returns (structure, snapshots (n, N, 3) [Å], B_harmonic [Å²])."""
    from ...phonons import harmonic_displacements, harmonic_phonons, mode_projector

    if case.md_block < 1 or case.nz % case.md_block:
        raise validate.InputError(f"case.nz={case.nz} must be a multiple of case.md_block={case.md_block} (≥ 1)")
    n_blocks = case.nz // case.md_block
    h = harmonic_phonons(case.unit, (case.tiling[1], case.tiling[0], case.md_block), potential=potential)
    proj = mode_projector(h)
    u = np.asarray(harmonic_displacements(key, proj, temperature, n_configs * n_blocks, quantum=quantum))
    b_h = float(8 * math.pi**2 * np.mean(u**2))
    block = h.supercell.replace(z_repeats=1)
    lz = float(block.lengths[2])
    pos = np.asarray(proj.positions)[None, None] + u.reshape(n_configs, n_blocks, len(block), 3)
    pos = pos + np.array([0, 0, 1.0]) * (np.arange(n_blocks) * lz)[None, :, None, None]
    stacked = block.repeat(1, 1, n_blocks).replace(z_repeats=1)
    return stacked, jnp.asarray(pos.reshape(n_configs, -1, 3), jnp.float32), b_h


def unbiased_tds(total, elastic, n: int):
    """TDS part n/(n−1)·(⟨|Ψ|²⟩ − |⟨Ψ⟩|²): |mean of n samples|² overestimates |⟨Ψ⟩|² by var/n, so
    the plain difference is biased low by the factor (1 − 1/n)."""
    if n < 2:
        raise validate.InputError(f"n: the TDS part needs at least 2 configurations, got n={n}")
    return (total - elastic) * (n / (n - 1))


def _norm(psi, norm):
    return np.asarray(jnp.sum(jnp.abs(psi) ** 2, axis=(-2, -1))) / norm


def plane_wave_series(case: Case, n_configs: int, key, snapshots=None, b_md=None, harmonic=None):
    """Thickness series of every model under plane-wave illumination.

    Returns a dict: ``z`` [Å]; per model ``dp`` (n_exit, ny, nx) (total for frozen phonons),
    ``elastic`` and ``tds`` (frozen phonons), ``bragg`` (n_exit, n_beams) (elastic part), ``norm``;
    ``absorbed`` (absorptive model, 1 − N_abs/N_DW) and ``grid``.
    """
    crystal = case.crystal
    gpts = case.gpts
    pot_abs = absorptive_potential(crystal, ENERGY, gpts=gpts, slice_thickness=case.dz)
    grid = pot_abs.grid
    w = plane_wave(grid, BEAM)
    step = case.slices_per_cell
    out = {"z": case.thicknesses(), "grid": grid, "models": {}}
    beams = case.beams

    def record(name, total, elastic=None):
        el = total if elastic is None else elastic
        rec = {"dp": total, "bragg": np.asarray(bragg_intensities(el, grid, case.tiling, beams)),
               "norm": np.asarray(jnp.sum(total, axis=(-2, -1)))}
        if elastic is not None:
            rec["elastic"] = elastic
            rec["tds"] = unbiased_tds(total, elastic, n_members)
        out["models"][name] = rec

    n_members = n_configs
    static = multislice(w, potential(crystal, gpts=gpts, slice_thickness=case.dz), exit_planes=step).array
    record("static", diffraction_patterns_array(static, w.norm))
    psi_abs = multislice(w, pot_abs, exit_planes=step).array
    psi_dw = multislice(w, pot_abs.replace(array=pot_abs.array.real.astype(pot_abs.array.dtype)),
                        exit_planes=step).array
    record("absorptive", diffraction_patterns_array(psi_abs, w.norm))
    out["absorbed"] = 1.0 - _norm(psi_abs, w.norm) / _norm(psi_dw, w.norm)
    out["dw_loss"] = 1.0 - _norm(psi_dw, w.norm)
    ens = frozen_phonon_multislice(key, crystal, w, n_configs=n_configs, slice_thickness=case.dz, exit_planes=step)
    record("einstein", ens.total_diffraction, ens.elastic_diffraction)
    if snapshots is not None:
        stacked, snaps = snapshots
        n_members = int(snaps.shape[0])
        ens = frozen_phonon_multislice(None, stacked, w, snapshots=snaps, slice_thickness=case.dz, exit_planes=step)
        record("md", ens.total_diffraction, ens.elastic_diffraction)
    if harmonic is not None:
        stacked, snaps = harmonic
        n_members = int(snaps.shape[0])
        ens = frozen_phonon_multislice(None, stacked, w, snapshots=snaps, slice_thickness=case.dz, exit_planes=step)
        record("harmonic", ens.total_diffraction, ens.elastic_diffraction)
        n_members = n_configs
    if snapshots is not None:
        if b_md is not None:
            n_members = n_configs
            soft = crystal.replace(u2=jnp.full_like(crystal.u2, b_md / (8 * math.pi**2)))
            pot_soft = absorptive_potential(soft, ENERGY, gpts=gpts, slice_thickness=case.dz)
            psi_soft = multislice(w, pot_soft, exit_planes=step).array
            record("absorptive_bmd", diffraction_patterns_array(psi_soft, w.norm))
            dw_soft = pot_soft.replace(array=pot_soft.array.real.astype(pot_soft.array.dtype))
            out["absorbed_bmd"] = 1.0 - _norm(psi_soft, w.norm) / _norm(multislice(w, dw_soft, exit_planes=step).array,
                                                                       w.norm)
            ens = frozen_phonon_multislice(key, soft, w, n_configs=n_configs, slice_thickness=case.dz,
                                           exit_planes=step)
            record("einstein_bmd", ens.total_diffraction, ens.elastic_diffraction)
    return out


def probe_scan(case: Case, n: int = 2):
    """:class:`~jaxem.stem.GridScan` of n × n probe positions (y, x) [Å] over the central unit cell."""
    from ...stem import GridScan

    ly, lx = case.cell.lengths[1], case.cell.lengths[0]
    cy, cx = (t // 2 for t in case.tiling)
    return GridScan.create((cy * ly, cx * lx), ((cy + 1) * ly, (cx + 1) * lx), gpts=(n, n))


def haadf_series(case: Case, models, n_configs: int, key, semi_angle=20.0, inner=70.0, outer=125.0,
                 snapshots=None, n_side: int = 2):
    """HAADF fraction (n_positions, n_exit) per model vs thickness, probe on ``n_side``² positions of the
    central cell, from :func:`jaxem.stem.stem_scan` with a thickness series (one exit plane per unit
    cell). ``models`` ⊂ {'static', 'absorptive', 'einstein', 'md'}. The absorptive value is the elastic
    (channelled) wave, ``absorptive_tds`` the single-inelastic TDS into the detector (detector-specific
    v′), and ``absorbed`` the flux v′ removes at all angles (1 − N_abs/N_DW, the wave norm measured by
    an annular detector integrating to the grid's limit)."""
    from ...stem import AnnularDetector, STEMSimulation, stem_scan

    for name in models:
        validate.choice(name, "models entry", MODELS)
    crystal = case.crystal
    pot_abs = absorptive_potential(crystal, ENERGY, gpts=case.gpts, slice_thickness=case.dz)
    pot_static = potential(crystal, gpts=case.gpts, slice_thickness=case.dz)
    sim = STEMSimulation(BEAM, semi_angle, (AnnularDetector(inner, outer, "HAADF"), AnnularDetector(0.0, name="all")))
    scan = probe_scan(case, n_side)
    step = case.slices_per_cell
    res = {"z": case.thicknesses(), "positions": scan.positions().reshape(-1, 2)}

    def run(pot, name="HAADF", **kw):
        out = stem_scan(sim, scan, pot, exit_planes=step, progress=False, **kw)
        return {k: np.asarray(m.array).reshape(scan.n_positions, -1) for k, m in out.items()}

    for name in models:
        if name == "static":
            res[name] = run(pot_static)["HAADF"]
        elif name == "absorptive":
            pot_det = absorptive_potential(crystal, ENERGY, gpts=case.gpts, slice_thickness=case.dz,
                                           detector=(inner, outer))
            r = run(pot_abs, tds_potentials={"HAADF": pot_det})
            res[name], res["absorptive_tds"] = r["HAADF"], r["HAADF_tds"]
            dw = run(pot_abs.replace(array=pot_abs.array.real.astype(pot_abs.array.dtype)))
            res["absorbed"] = 1.0 - r["all"] / dw["all"]  # flux removed by v′ (all angles): the TDS ceiling
        elif name == "einstein":
            res[name] = run(pot_static, structure=crystal, thermal="einstein", n_configs=n_configs, key=key)["HAADF"]
        elif name == "md":
            if snapshots is not None:
                stacked, snaps = snapshots
                res[name] = run(pot_static, structure=stacked, thermal="snapshots", snapshots=snaps)["HAADF"]
    return res


def default_cases(small: bool):
    """The three crystals of the comparison: diamond [001] (with MD), SrTiO3 [001] and SrTiO3 [110]."""
    from ...structure import crystals, zone_axis

    dia = zone_axis(crystals.diamond(), [0, 0, 1])
    sto = zone_axis(crystals.SrTiO3(), [0, 0, 1])
    sto110 = zone_axis(crystals.SrTiO3(), [1, 1, 0])
    # diamond [001]: the oriented cell is a/√2 × a/√2 (axes along [110], [1-10]); SrTiO3 [110]: x ∥ [001]
    nzd, nzs, nz110 = (8, 8, 6) if small else (40, 40, 28)
    return [
        Case("diamond [001]", dia, (4, 4), nzd, dia.lengths[2] / 4, ((0, 0), (0, 2), (2, 2), (0, 4)),
             ("000", "220", "400", "440"), md_block=4),
        Case("SrTiO3 [001]", sto, (3, 3), nzs, sto.lengths[2] / 2, ((0, 0), (1, 1), (0, 2), (2, 2)),
             ("000", "110", "200", "220")),
        Case("SrTiO3 [110]", sto110, (2, 3), nz110, sto110.lengths[2] / 4, ((0, 0), (0, 1), (2, 0), (2, 2)),
             ("000", "001", "1-10", "1-11")),
    ]
