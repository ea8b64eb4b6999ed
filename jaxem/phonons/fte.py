"""Frozen-trajectory excitation (FTE): put energy into one phonon mode of a thermal MD state, relax it
by NVE, and follow the relaxation in mode space and in time-resolved diffuse scattering.

This is **our operator**, the mode-space design of the reference note (§2.2, "Option A"). The FTE
paper (Marciniak, Marciniak, Castellanos-Reyes & Rusz, Ultramicroscopy 282 (2026) 114320) describes
its technique only as a "trajectory post-processing technique" that excites phonons "beyond their
thermal equilibrium population" for a (q, ω)-resolved analysis; its operator is not public. Ours puts
energy into one (q, ν) mode with an exact, testable map in two variants: the ``"amplitude"`` variant
rescales the mode's thermal oscillation (in the harmonic limit the same as a (q, ω) filter-and-amplify
of the frozen trajectory, the reference note's "Option B", i.e. the paper's wording), the default
``"impulsive"`` variant adds the energy as a momentum kick (exact energy bookkeeping, see step 2):

1. a thermal MD state (x, v) (an NVT run of :func:`jaxem.md.simulate`, frames far apart in time are
   independent copies) is projected on the harmonic modes of the same potential:
   Q_qν, P_qν (:class:`~jaxem.phonons.ModeProjector`; u = x − R₀, velocities in Å/fs);
2. the chosen mode (q*, ν*) and its −q* partner get the target harmonic energy
   E = ½|P|² + ½ω²|Q|², keeping Q(−q) = Q(q)* so that u, v stay real; every other mode is untouched.
   Two operators (:func:`excite_mode` ``how=``): ``"impulsive"`` (default) changes only the pair's
   momenta P — a sudden momentum transfer; positions and hence the potential energy are untouched, so
   the total energy injected is exactly the harmonic estimate Σ_selected (E_target − E_old) —, and
   ``"amplitude"`` scales (Q, P) by one real factor (phases kept; the reference note's option A, the
   paper's "population beyond thermal equilibrium"), whose displacement couples anharmonically to the
   bath so that the energy really injected differs from the harmonic estimate (by a few % per copy for
   Ni at 300 K);
3. the excited state is mapped back to atoms and integrated by NVE (LAMMPS velocity Verlet);
4. an ensemble of copies, each excited from a different thermal state, gives at each delay t the
   frozen-phonon diffuse intensity ⟨|Ψ|²⟩ − |⟨Ψ⟩|² over copies (an ensemble average, not a time
   average: the state is not stationary), to be integrated over elliptical regions
   (:func:`jaxem.phonons.frfpms.ellipse_mask`) and followed in time;
5. the selected mode's energy E(t) (mean over copies) relaxes to equipartition; an exponential fit
   gives the relaxation time τ(q*, ν*) with a bootstrap confidence interval over copies.

Gauge. Phonopy's eigenvectors at −q are not always the complex conjugates of those at q (they may
be rotated inside a degenerate set), and at q ≡ −q they need not be real. :func:`paired_projector`
fixes the gauge: at −q it uses e*(q) (the same frequencies, D(−q) = D(q)*), and at q ≡ −q it
rotates each degenerate set to real vectors; so "the −q partner of (q, ν)" is one mode and the
mode energies of every other mode are exactly conserved by the excitation.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from .modes import AMU_A2_FS2, ModeProjector

#: k_B [eV/K]
KB_EV = 8.617333262e-5


def _partner(qpoints) -> np.ndarray:
    """Index of −q for each commensurate q (modulo a reciprocal lattice vector)."""
    q = np.asarray(qpoints, np.float64)
    d = q[None, :, :] + q[:, None, :]
    d = np.abs(d - np.rint(d)).max(-1)
    j = np.argmin(d, axis=1)
    if np.max(d[np.arange(len(q)), j]) > 1e-6:
        raise validate.InputError("projector: the q-point set is not closed under q → −q (not a commensurate set)")
    return j


def paired_projector(projector: ModeProjector, tol: float = 1e-6) -> ModeProjector:
    """The projector in the pair gauge (module docstring): basis(−q, ν) = basis(q, ν)* for q ≢ −q and
    real basis vectors at q ≡ −q. Same modes, same frequencies; u → Q → u stays exact. Idempotent: a
    projector already in the pair gauge is returned unchanged (every function here applies it again, and a
    second rotation inside a degenerate set would make "branch ν" a different mode)."""
    b = np.array(projector.basis, dtype=np.complex128)
    f = np.asarray(projector.frequencies, np.float64)
    nq, nb = f.shape
    part = _partner(projector.qpoints)
    for i in range(nq):
        j = int(part[i])
        if j > i:
            b[j] = np.conj(b[i])
        elif j == i:  # self-partner: rotate each degenerate set to real vectors
            k = 0
            while k < nb:
                m = k + 1
                while m < nb and abs(f[i, m] - f[i, k]) < tol * max(1.0, abs(f[i, k])):
                    m += 1
                v = b[i, k:m].reshape(m - k, -1).T  # (3N, d)
                if np.max(np.abs(v.imag)) <= 1e-12 * np.max(np.abs(v)):  # already real: keep (idempotent)
                    b[i, k:m] = b[i, k:m].real
                    k = m
                    continue
                r = np.concatenate([v.real, v.imag], axis=1)
                uu, sv, _ = np.linalg.svd(r, full_matrices=False)
                if np.sum(sv > 1e-8 * sv[0]) != m - k:
                    raise RuntimeError(f"internal: degenerate set at q {i} is not closed under conjugation")
                b[i, k:m] = uu[:, : m - k].T.reshape((m - k,) + b.shape[2:])
                k = m
    return projector.replace(basis=jnp.asarray(b, projector.basis.dtype))


def _q_index(projector: ModeProjector, q) -> int:
    if isinstance(q, (int, np.integer)):
        return validate.integer(q, "q", lo=0, hi=projector.frequencies.shape[0] - 1)
    qv = np.asarray(validate.array(q, "q", shape=(3,), kind="real"), float)
    d = np.asarray(projector.qpoints, float) - qv
    d = np.abs(d - np.rint(d)).max(1)
    i = int(np.argmin(d))
    if d[i] > 1e-6:
        raise validate.InputError(f"q = {qv.tolist()} is not a commensurate q-point of the supercell (primitive "
                                  f"reciprocal fractional coordinates); the supercell's q-points are "
                                  f"{np.round(np.asarray(projector.qpoints), 4).tolist()}")
    return i


@pytree.dataclass
class Excitation:
    """An excited state: ``positions`` (N, 3) [Å], ``velocities`` (N, 3) [Å/ps] (LAMMPS metal units, as
    :func:`jaxem.md.simulate`), mode energies [eV] before/after (n_q, n_branches), the ``selected``
    modes (boolean mask: the mode and its −q partner) and the harmonic ``injected`` energy [eV]."""

    positions: np.ndarray = pytree.field(units="Å")
    velocities: np.ndarray = pytree.field(units="Å/ps")
    energies_before: np.ndarray = pytree.field(units="eV")
    energies_after: np.ndarray = pytree.field(units="eV")
    selected: np.ndarray = pytree.field(static=False)
    injected: float = pytree.field(units="eV")


def mode_state(projector: ModeProjector, positions, velocities):
    """(Q, P, E) of one state or a batch: positions (…, N, 3) [Å], velocities (…, N, 3) [Å/ps]."""
    u = jnp.asarray(positions) - projector.positions
    v = jnp.asarray(velocities) * 1e-3
    Q, P = projector.project(u), projector.project_velocities(v)
    return Q, P, projector.mode_energies(Q, P)


HOW = ("impulsive", "amplitude")


def excite_mode(projector: ModeProjector, positions, velocities, q, branch: int, energy,
                how: str = "impulsive") -> Excitation:
    """Set the harmonic energy of mode (``q``, ``branch``) and of its −q partner to ``energy`` [eV].

    ``projector`` should be in the pair gauge (:func:`paired_projector`; applied here if not).
    ``q``: a commensurate q-point (primitive reciprocal fractional coordinates) or its index;
    ``positions`` (N, 3) [Å] and ``velocities`` (N, 3) [Å/ps] of a thermal state. Every other mode's
    (Q, P) is unchanged and Q(−q) = Q(q)*, P(−q) = P(q)* still hold. ``how`` picks the operator:

    * ``"impulsive"`` (default): an instantaneous momentum kick. Only the pair's momenta change,
      P → P' = |P'| P/|P| (phase kept; a real sign at q ≡ −q) with ½|P'|² = E_target − ½ω²|Q|²; the
      positions are not touched. The potential energy is therefore unchanged exactly and the kinetic
      energy, exactly quadratic in the velocities, changes by Σ_pair ½(|P'|² − |P|²): the total energy
      injected into the crystal is exactly the harmonic estimate, anharmonic bath or not. This is the
      physics of a sudden momentum transfer (an electron or pump pulse shorter than a phonon period):
      positions are continuous at t = 0, so the diffuse scattering at delay 0 is the thermal one and the
      change grows as the kick turns into displacement. The excited mode starts near its equilibrium
      crossing in every copy (the kicked part is coherent), so an ensemble's intensity at G ± q* beats
      at 2ω like a standing wave on top of the relaxation. It needs E_target ≥ ½ω²|Q|² (a kick cannot
      lower the potential energy): otherwise an error names ``energy`` and that minimum.
    * ``"amplitude"``: (Q, P) of the pair scaled by one real factor s = √(E_target / E_qν), the
      reference note's option A and, in the harmonic limit, the paper's "population beyond thermal
      equilibrium" (a (q, ω) filter-and-amplify of the frozen trajectory, note option B): the mode
      keeps its thermal oscillation phase, so the ensemble is a hotter incoherent population. Moving
      the atoms couples the scaled mode to the bath's displacements through the cubic (and higher)
      anharmonicity: the energy really injected differs from the harmonic estimate by a random-sign
      term (3.5 % for one of 8 copies of 32-atom Ni at 300 K, TA(X) set to 4 k_BT; < 1 % at 10 K; it
      averages out over copies).

    The default is ``"impulsive"`` because its energy bookkeeping is exact per copy (the equipartition
    end point :func:`final_energy` and every energy-flow balance use the harmonic injected energy) and
    it does not displace atoms discontinuously. Both set the selected mode's harmonic energy to the
    target exactly."""
    projector = paired_projector(projector)
    how = validate.choice(how, "how", HOW)
    n = projector.positions.shape[0]
    x = np.asarray(validate.array(positions, "positions", shape=(n, 3), ndim=2, kind="real", units="Å",
                                  finite=True), np.float64)
    v = np.asarray(validate.array(velocities, "velocities", shape=(n, 3), ndim=2, kind="real", units="Å/ps",
                                  finite=True), np.float64)
    iq = _q_index(projector, q)
    nb = projector.frequencies.shape[1]
    branch = validate.integer(branch, "branch", lo=0, hi=nb - 1)
    target = validate.scalar(energy, "energy", "eV", positive=True)
    if float(projector.frequencies[iq, branch]) < 1e-3:
        raise validate.InputError(f"branch {branch} at q index {iq} is a uniform translation (ω = 0): it has no "
                                  "restoring force and cannot be excited")
    Q, P, E = mode_state(projector, x, v)
    jq = int(_partner(projector.qpoints)[iq])
    sel = np.zeros(E.shape, bool)
    sel[iq, branch] = sel[jq, branch] = True
    e_old = float(E[iq, branch])
    if how == "amplitude":
        if e_old <= 0:
            raise validate.InputError(f"mode (q index {iq}, branch {branch}) carries no energy to rescale (E = 0): "
                                      "start from a thermal state or use how='impulsive'")
        s = math.sqrt(target / e_old)
        m = jnp.asarray(sel, Q.real.dtype) * (s - 1.0)
        x2 = x + np.asarray(projector.displacements(m * Q))
        v2 = v + np.asarray(projector.velocities(m * P)) * 1e3
    else:
        q0, p0 = complex(Q[iq, branch]), complex(P[iq, branch])
        w = float(projector.omega[iq, branch])
        e_pot = 0.5 * (w * abs(q0)) ** 2 * AMU_A2_FS2
        if target < e_pot:
            raise validate.InputError(
                f"energy = {target:.6g} eV is below the potential part ½ω²|Q|² = {e_pot:.6g} eV of mode (q index "
                f"{iq}, branch {branch}) in this state: an impulsive kick changes only the momenta and cannot lower "
                f"it; use energy ≥ {e_pot:.6g} eV (or how='amplitude')")
        p_abs = math.sqrt(max(2.0 * (target - e_pot) / AMU_A2_FS2, 0.0))
        if jq == iq:  # q ≡ −q: real mode coordinates in the pair gauge, keep the sign of P
            p_new = complex(p_abs * (1.0 if p0.real >= 0 else -1.0))
        else:
            p_new = p_abs * (p0 / abs(p0)) if abs(p0) > 0 else complex(p_abs)
        dP = np.zeros(E.shape, np.complex128)
        dP[iq, branch] = p_new - p0
        if jq != iq:
            dP[jq, branch] = np.conj(p_new) - complex(P[jq, branch])
        x2 = x.copy()
        v2 = v + np.asarray(projector.velocities(jnp.asarray(dP, projector.basis.dtype))) * 1e3
    E2 = mode_state(projector, x2, v2)[2]
    injected = float(np.sum(np.where(sel, target - np.asarray(E), 0.0)))
    return Excitation(x2, v2, np.asarray(E), np.asarray(E2), sel, injected)


def nve(structure, potential, positions, velocities, steps: int, dump_every: int, timestep_fs: float = 1.0):
    """NVE (velocity Verlet, LAMMPS) from given positions (N, 3) [Å] and velocities (N, 3) [Å/ps].

    Returns (x (F + 1, N, 3) unwrapped [Å], v (F + 1, N, 3) [Å/ps], total energy (F + 1,) [eV]) at
    steps 0, dump_every, … (frame 0 is the start): :func:`jaxem.md.simulate` with the given state,
    no equilibration, ``ensemble="nve"`` and ``record_start=True``, kept in memory."""
    from .. import md

    steps = validate.integer(steps, "steps", lo=1)
    every = validate.integer(dump_every, "dump_every", lo=1)
    dt = validate.scalar(timestep_fs, "timestep_fs", "fs", positive=True, hi=10.0)
    if steps % every:
        raise validate.InputError(f"steps ({steps}) must be a multiple of dump_every ({every})")
    n = len(structure)
    x = np.asarray(validate.array(positions, "positions", shape=(n, 3), ndim=2, finite=True), np.float64)
    v = np.asarray(validate.array(velocities, "velocities", shape=(n, 3), ndim=2, finite=True), np.float64)
    run = md.simulate(structure, potential, positions=x, velocities=v, record_start=True, equilibration_steps=0,
                      production_steps=steps, dump_every=every, timestep_fs=dt, ensemble="nve", store_path=False,
                      progress=False)
    return (np.asarray(run.trajectory.positions, np.float64), np.asarray(run.trajectory.velocities, np.float64),
            np.asarray(run.thermo["total_energy"], np.float64))


def total_energy(structure, potential, positions, velocities) -> float:
    """Potential (LAMMPS) + kinetic energy [eV] of a state (velocities [Å/ps])."""
    from ..md import engine

    s = structure.replace(positions=jnp.asarray(positions, structure.positions.dtype))
    e_pot, _ = engine.energy_forces(s, potential)
    m = np.asarray([engine.potential(potential).masses[engine.potential(potential).type_of(int(z)) - 1]
                    for z in np.asarray(structure.numbers)])
    ke = 0.5 * np.sum(m[:, None] * (np.asarray(velocities) * 1e-3) ** 2) * AMU_A2_FS2
    return float(e_pot + ke)


@pytree.dataclass
class FTERun:
    """An FTE ensemble: ``times`` (F,) [fs] after the excitation; ``positions`` (n_copies, F, N, 3)
    [Å] (unwrapped); ``mode_energy`` (n_copies, F) [eV], the mean harmonic energy of the selected
    pair; ``selected`` mask; ``injected`` (n_copies,) harmonic estimates [eV]; ``total_energy``
    (n_copies, F) [eV] (NVE: constant to the integration error); ``temperature`` [K] of the bath;
    ``set_energies`` {name: (n_copies, F) [eV]} harmonic energies of the requested mode sets; ``how``
    the excitation operator (:func:`excite_mode`)."""

    times: np.ndarray = pytree.field(units="fs")
    positions: np.ndarray = pytree.field(units="Å")
    mode_energy: np.ndarray = pytree.field(units="eV")
    selected: np.ndarray
    injected: np.ndarray = pytree.field(units="eV")
    total_energy: np.ndarray = pytree.field(units="eV")
    temperature: float = pytree.field(static=True, units="K")
    set_energies: dict | None = pytree.field(default=None, units="eV")
    how: str = pytree.field(static=True, default="impulsive")


def copy_seeds(seed: int, n_copies: int) -> np.ndarray:
    """LAMMPS velocity seeds (1 … 9·10⁸) of ``n_copies`` copies, drawn from ``seed`` by NumPy's
    SeedSequence: runs with different ``seed`` share no copy."""
    seed = validate.integer(seed, "seed", lo=0)
    return np.random.SeedSequence(seed).generate_state(n_copies, np.uint64) % 900_000_000 + 1


def thermal_states(structure, potential, temperature, n_copies: int, *, seed: int = 1,
                   equilibration_steps: int = 1000, timestep_fs: float = 1.0, progress: bool = False):
    """``n_copies`` independent thermal states (x [Å], v [Å/ps]): one Nosé–Hoover NVT run of
    :func:`jaxem.md.simulate` per copy, each with its own velocity seed (:func:`copy_seeds`), the
    state taken after ``equilibration_steps`` steps (plus 10 production steps)."""
    from tqdm.auto import tqdm

    from .. import md

    n_copies = validate.integer(n_copies, "n_copies", lo=1)
    xs, vs = [], []
    for s in tqdm(copy_seeds(seed, n_copies), disable=not progress, desc="thermal copies"):
        run = md.simulate(structure, potential, temperature=temperature, timestep_fs=timestep_fs,
                          equilibration_steps=equilibration_steps, production_steps=10, dump_every=10,
                          ensemble="nvt", seed=int(s), store_path=False, progress=False)
        xs.append(np.asarray(run.trajectory.positions[-1]))
        vs.append(np.asarray(run.trajectory.velocities[-1]))
    return np.stack(xs), np.stack(vs)


def fte_ensemble(structure, potential, projector: ModeProjector, q, branch: int, energy, *, temperature,
                 n_copies: int = 8, seed: int = 1, steps: int = 2000, dump_every: int = 10,
                 timestep_fs: float = 1.0, equilibration_steps: int = 1000, sets: dict | None = None,
                 how: str = "impulsive", progress: bool = False) -> FTERun:
    """Excite (``q``, ``branch``) to ``energy`` [eV] in ``n_copies`` independent thermal states at
    ``temperature`` [K] (NVT seed ``seed``) and relax each by NVE for ``steps`` steps, recording
    every ``dump_every``. ``projector`` is the harmonic projector of ``structure`` (same atom order;
    pair gauge applied here). ``sets`` {name: (n_q, n_branches) mask}: also record the harmonic energy
    of these mode sets (e.g. :func:`jaxem.phonons.modal.branch_sets`) from the exact velocities.
    ``how``: the excitation operator of :func:`excite_mode` ("impulsive" or "amplitude").
    Returns :class:`FTERun`."""
    from tqdm.auto import tqdm

    from .tacaw import check_nyquist

    proj = paired_projector(projector)
    how = validate.choice(how, "how", HOW)
    steps = validate.integer(steps, "steps", lo=1)
    every = validate.integer(dump_every, "dump_every", lo=1)
    dt = validate.scalar(timestep_fs, "timestep_fs", "fs", positive=True, hi=10.0)
    check_nyquist(every * dt, float(np.max(proj.frequencies)), "dump_every × timestep_fs")
    if steps % every:
        raise validate.InputError(f"steps ({steps}) must be a multiple of dump_every ({every})")
    xs, vs = thermal_states(structure, potential, temperature, n_copies, seed=seed,
                            equilibration_steps=equilibration_steps, timestep_fs=timestep_fs, progress=progress)
    ref = np.asarray(proj.positions)
    pos, emode, inj, etot = [], [], [], []
    per_set = {k: [] for k in (sets or {})}
    for c in tqdm(range(n_copies), disable=not progress, desc="FTE copies"):
        # the reference sites of this copy: nearest lattice image of the unwrapped frame
        cell = np.asarray(structure.cell, np.float64)
        d = (xs[c] - ref) @ np.linalg.inv(cell)
        x0 = xs[c] - np.rint(d) @ cell
        ex = excite_mode(proj, x0, vs[c], q, branch, energy, how)
        x, v, e = nve(structure, potential, ex.positions, ex.velocities, steps, dump_every, timestep_fs)
        E = np.asarray(mode_state(proj, x, v)[2])
        pos.append(x.astype(np.float32) if x.nbytes > 2**28 else x)
        emode.append(E[:, ex.selected].mean(-1))
        for k, m in (sets or {}).items():
            per_set[k].append(np.sum(np.where(np.asarray(m, bool), E, 0.0), axis=(-2, -1)))
        inj.append(ex.injected)
        etot.append(e)
    times = np.arange(steps // dump_every + 1) * dump_every * timestep_fs
    return FTERun(times, np.stack(pos), np.stack(emode), ex.selected, np.asarray(inj), np.stack(etot),
                  float(temperature), {k: np.stack(v) for k, v in per_set.items()} if sets else None, how)


def _fit_tau(t, e, e_final):
    """τ [fs] of E(t) − E_∞ = (E₀ − E_∞) e^{−t/τ}: log-linear least squares over the decay above 10 % of
    the initial excess (the noisy tail is not used)."""
    y = np.asarray(e, float) - e_final
    y0 = y[0]
    keep = y > 0.1 * y0
    stop = int(np.argmin(keep)) if not keep.all() else len(y)
    stop = max(stop, 3)
    tt, yy = np.asarray(t, float)[:stop], np.clip(y[:stop], 1e-30, None)
    slope = np.polyfit(tt, np.log(yy), 1)[0]
    return -1.0 / slope if slope < 0 else np.inf


def final_energy(run: FTERun) -> float:
    """Equipartition energy per mode [eV] after the injected energy has spread over all 3N − 3
    vibrational modes of the supercell: k_BT + ⟨injected⟩/(3N − 3) (harmonic estimate)."""
    n_modes = 3 * run.positions.shape[2] - 3
    return float(KB_EV * run.temperature + np.mean(run.injected) / n_modes)


def relaxation_time(run: FTERun, n_boot: int = 500, seed: int = 0, e_final=None):
    """Relaxation time τ [fs] of the selected mode's energy (mean over copies) towards equipartition
    E_∞ (:func:`final_energy` by default, or ``e_final`` [eV]), with a bootstrap standard error over
    copies (resampling the copies with replacement). Returns (τ, σ_τ) [fs]."""
    e = np.asarray(run.mode_energy)
    if e.shape[0] < 2:
        raise validate.InputError(f"run has {e.shape[0]} copies; a confidence interval needs at least 2 (use ≥ 8)")
    ef = final_energy(run) if e_final is None else validate.scalar(e_final, "e_final", "eV", positive=True)
    tau = _fit_tau(run.times, e.mean(0), ef)
    rng = np.random.default_rng(seed)
    boots = [_fit_tau(run.times, e[rng.integers(0, len(e), len(e))].mean(0), ef) for _ in range(n_boot)]
    boots = np.asarray(boots)
    boots = boots[np.isfinite(boots)]
    return float(tau), float(np.std(boots))


def time_resolved_tds(kernel, positions, memory_budget=None) -> jnp.ndarray:
    """Diffuse intensity ⟨|Ψ|²⟩ − |⟨Ψ⟩|² over copies at each delay: ``positions`` (n_copies, F, N, 3) [Å]
    through ``kernel`` (:class:`~jaxem.phonons.FrameKernel`) → (F, …q). One delay at a time (memory flat
    in the number of delays); the copies of a delay are one batch."""
    from .frfpms import incoherent

    from .frfpms import check_unwrapped

    pos = np.asarray(positions)
    if pos.ndim != 4:
        raise validate.InputError(f"positions must be (n_copies, n_delays, N, 3) [Å], got shape {pos.shape}")
    if pos.shape[0] < 2:
        raise validate.InputError(f"positions holds {pos.shape[0]} copy; an ensemble average needs at least 2")
    validate.array(pos, "positions", shape=(kernel.structure.positions.shape[0], 3), kind="real", units="Å")
    for c in range(pos.shape[0]):  # copies are followed in time: their coordinates must be unwrapped
        check_unwrapped(pos[c], kernel.structure.cell, f"positions[{c}]")
    return jnp.stack([incoherent(kernel(pos[:, k], memory_budget)) for k in range(pos.shape[1])])


__all__ = ["HOW", "paired_projector", "Excitation", "mode_state", "excite_mode", "nve", "total_energy", "FTERun",
           "copy_seeds", "thermal_states", "fte_ensemble", "relaxation_time", "final_energy", "time_resolved_tds"]
