"""Mode-resolved motion and diffraction: displacements rebuilt from a chosen set of phonon modes,
band-limited harmonic ensembles, analytic harmonic trajectories and the one-phonon cross-section.

Mode sets. With the unitary mode basis of :class:`~jaxem.phonons.ModeProjector`, any displacement
field is u = Σ_qν u_qν; keeping only a set S of modes (a branch, the acoustic or optic group, a
(q, ν) cell, a frequency band) gives u^(S) = M^{−1/2} Re Σ_{(q,ν)∈S} b*_qν Q_qν, the motion of S
alone (dynasor's ``get_u`` idea; Fransson et al., Adv. Theory Simul. 4, 2000240 (2021)). A set
must contain the −q partner of each of its modes for u^(S) to be the real field of those modes
(:func:`closed` adds them); the sets of a partition add up to the whole motion exactly. Frozen
multislice of R₀ + u^(S) gives the diffuse scattering of S (:func:`mode_resolved_tds`), at
equilibrium or at each delay after an excitation, and the harmonic mode energies summed per set
follow energy flow between branches (:func:`set_energies`).

Band-limited ensembles (FRFPMS route (ii), Zeiger & Rusz PRB 104, 104301 (2021)): only modes with
f in [f_lo, f_hi) are populated (:func:`band_masks`, half-open bins so every mode is in exactly one).

Analytic harmonic trajectories (:func:`harmonic_trajectory`): each mode evolves as
Q(t) = Q₀ cos ωt + (P₀/ω) sin ωt; the TACAW of such a trajectory has lines exactly at the harmonic
frequencies (no anharmonic shift or width).

One-phonon cross-section (kinematic, first Born; reference note §1.2 item 4, the polyatomic form of
Pfeifer et al.): the first-order term of the structure factor of R₀ + u in mode (q, ν) is
F_qν(Q) = Σ_j f_j(Q) e^{−W_j} e^{−2πiQ·R_j} 2π Q·(b*_qν,j / √M_j), so its intensity is
|F_qν(Q)|² ⟨|Q_qν|²⟩ (classical: k_BT/ω²), with Q = G + q a 3D transfer [1/Å, no 2π]. The sum over j
runs over the supercell, so the selection rule Q − q ∈ reciprocal lattice is automatic.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from .harmonic import mode_amplitudes
from .modes import ModeProjector


def closed(projector: ModeProjector, mask) -> np.ndarray:
    """``mask`` (n_q, n_branches) with the −q partner of every selected mode added."""
    from .fte import _partner

    m = np.asarray(mask, bool)
    return m | m[_partner(projector.qpoints)]


def band_masks(projector: ModeProjector, edges) -> np.ndarray:
    """(n_bands, n_q, n_branches) masks of half-open frequency bins [f_k, f_{k+1}) [THz] (``edges``
    ascending, n_bands + 1 values); the ω = 0 translations (|f| < 1e-3 THz) belong to no bin."""
    e = np.asarray(validate.array(edges, "edges", ndim=1, kind="real", units="THz", finite=True), float)
    if len(e) < 2 or np.any(np.diff(e) <= 0):
        raise validate.InputError(f"edges must be ≥ 2 ascending frequencies [THz], got {e.tolist()}")
    f = np.asarray(projector.frequencies, float)
    live = np.abs(f) >= 1e-3
    return np.stack([(f >= lo) & (f < hi) & live for lo, hi in zip(e[:-1], e[1:])])


def branch_sets(projector: ModeProjector, n_acoustic: int = 3) -> dict:
    """Masks {"branch ν": …, "acoustic": …, "optic": …} (branches sorted by frequency at each q, as
    phonopy returns them; the lowest ``n_acoustic`` are the acoustic group)."""
    nq, nb = projector.frequencies.shape
    out = {}
    for k in range(nb):
        m = np.zeros((nq, nb), bool)
        m[:, k] = True
        out[f"branch {k}"] = m
    ac = np.zeros((nq, nb), bool)
    ac[:, :n_acoustic] = True
    out["acoustic"] = ac
    if nb > n_acoustic:
        out["optic"] = ~ac
    return out


def cell_set(projector: ModeProjector, q, branches) -> np.ndarray:
    """Mask of the (q, ν) cell: the modes ``branches`` at commensurate ``q`` and their −q partners."""
    from .fte import _q_index

    iq = _q_index(projector, q)
    m = np.zeros(projector.frequencies.shape, bool)
    m[iq, list(np.atleast_1d(branches))] = True
    return closed(projector, m)


def mode_filter(projector: ModeProjector, displacements, mask) -> jnp.ndarray:
    """u^(S) (…, N, 3) [Å]: ``displacements`` (…, N, 3) [Å] keeping only the modes in ``mask``
    (closed under q → −q here). Linear: the sets of a partition add up to u."""
    from .fte import paired_projector

    p = paired_projector(projector)
    m = jnp.asarray(closed(p, mask))
    Q = p.project(jnp.asarray(displacements))
    return p.displacements(jnp.where(m, Q, 0))


def check_displacements_near(u, cell, name: str = "positions") -> None:
    """An error when a displacement from the reference sites exceeds a quarter of a cell length:
    the coordinates were wrapped into the cell (or belong to another reference), and a mode projection
    of them would be meaningless. Give unwrapped coordinates (LAMMPS ``xu yu zu``) of the same atoms."""
    lengths = np.linalg.norm(np.asarray(cell, float), axis=-1)
    big = np.argwhere(np.abs(np.asarray(u)) > 0.25 * lengths)
    if big.size:
        idx = tuple(int(v) for v in big[0])
        axis = idx[-1]
        raise validate.InputError(
            f"{name}: atom {idx[-2]} is displaced by {float(np.asarray(u)[idx]):.4g} Å along {'xyz'[axis]} from its "
            f"reference site (more than a quarter of the cell, {lengths[axis]:.4g} Å): the coordinates look wrapped "
            f"into the cell; give unwrapped coordinates (LAMMPS dump xu yu zu) of the projector's atoms")


def set_energies(projector: ModeProjector, positions, velocities, sets: dict) -> dict:
    """{name: harmonic energy [eV] of the modes in each set} for states (…, N, 3) (velocities [Å/ps])."""
    from .fte import mode_state, paired_projector

    E = mode_state(paired_projector(projector), positions, velocities)[2]
    return {k: jnp.sum(jnp.where(jnp.asarray(m), E, 0.0), axis=(-2, -1)) for k, m in sets.items()}


def mode_resolved_tds(kernel, projector: ModeProjector, positions, sets: dict, memory_budget=None) -> dict:
    """Diffuse scattering of each mode set: {name: ParitySplit} over the ensemble ``positions``
    (n, N, 3) [Å] (snapshots, or the copies at one delay), each member rebuilt as R₀ + u^(S) and
    paired with its mirror R₀ − u^(S) (:func:`jaxem.phonons.frfpms.parity_split`); "all" is the
    unfiltered motion. ``kernel`` is a :class:`~jaxem.phonons.FrameKernel` of the equilibrium
    structure, whose positions must be the projector's R₀. The one-phonon part of a set's own ensemble
    lacks the other sets' Debye–Waller damping; for each set's one-phonon intensity inside the full
    ensemble (the sets of a partition then add up to the full one) use :func:`branch_parity_split`."""
    from .frames import check_frames
    from .frfpms import parity_split

    ref = jnp.asarray(projector.positions)
    pos = np.asarray(check_frames(positions, kernel.structure, "positions"))
    u = pos - np.asarray(ref)
    check_displacements_near(u, np.asarray(kernel.structure.cell), "positions")
    u = jnp.asarray(u)
    out = {"all": parity_split(kernel, ref + u, ref, memory_budget)}
    for name, m in sets.items():
        out[name] = parity_split(kernel, ref + mode_filter(projector, u, m), ref, memory_budget)
    return out


@pytree.dataclass
class SetOnePhonon:
    """One-phonon intensity of each mode set taken inside the full ensemble (:func:`branch_parity_split`):
    ``one_phonon`` {name: ⟨|ψ_S|²⟩ (…q)} and ``full`` the :class:`~jaxem.phonons.frfpms.ParitySplit` of
    the unfiltered ensemble (its ``one_phonon`` is what the sets of a partition add up to)."""

    one_phonon: dict
    full: object


def branch_parity_split(kernel, projector: ModeProjector, positions, sets: dict, memory_budget=None, *,
                        even_rest: bool = True) -> SetOnePhonon:
    """Branch- (mode-set-) resolved one-phonon scattering, each set inside the full thermal ensemble.

    For a member u = u_S + u_r (u_S the motion of set S, :func:`mode_filter`; u_r that of every other
    mode) the set's one-phonon wave is the part of Ψ odd in u_S and even in u_r,

        ψ_S = ¼ [Ψ(R₀ + u) − Ψ(R₀ + u − 2u_S) + Ψ(R₀ − u + 2u_S) − Ψ(R₀ − u)]

    (Ψ(R₀ ± u) are shared by all sets: 2 + 2·n_sets propagations per member). The other modes stay
    displaced, so they supply their Debye–Waller damping (the branch-only ensembles of
    :func:`mode_resolved_tds` lack it: their sum over branches runs ≈ 2W_r high). Expanding Ψ in u, for
    independent zero-mean Gaussian sets (a harmonic thermal ensemble):

    * second order (one-phonon): Σ_S ⟨|ψ_S|²⟩ = ⟨|ψ_odd|²⟩, the cross terms ⟨∂Ψ[u_S] ∂Ψ[u_S']*⟩ (S ≠ S')
      vanish in expectation — exactly, not only on average, in a designed ensemble
      (:func:`designed_snapshots`, whose phases cancel every cross term between two modes);
    * fourth order: the (first × third)-order terms, which carry the Debye–Waller damping by every mode,
      are the same on both sides (the multinomial counts agree), and no (second × second)-order term
      enters either side; the first difference is sixth order (relative O(u⁴)) for Gaussian ensembles.
      A designed ensemble has fixed mode amplitudes (non-Gaussian fourth moments), so its fourth-order
      terms agree only to its own accuracy (3C-SiC, one cell, 200 kV, 300 K: −0.5 % over the pattern).

    ``even_rest=False`` gives the two-member form [Ψ(R₀ + u) − Ψ(R₀ + u − 2u_S)]/2: it is odd in u_S but
    keeps the terms odd in u_r, i.e. the cross-set two-phonon term ⟨|∂²Ψ[u_S, u_r]|²⟩, which the full
    ψ_odd does not hold (relative O(u²): +3.8 % over the pattern in the same case); kept for comparison.

    Args: ``kernel`` a :class:`~jaxem.phonons.FrameKernel` of the equilibrium structure (positions R₀ =
    the projector's); ``positions`` (n, N, 3) [Å] the ensemble; ``sets`` {name: (n_q, n_branches) mask}
    (closed under q → −q here), e.g. :func:`branch_sets`; for Σ_S to be the full one-phonon intensity the
    sets must partition the vibrational modes. Returns :class:`SetOnePhonon`."""
    from .frames import check_frames
    from .frfpms import ParitySplit, incoherent

    if not isinstance(sets, dict) or not sets:
        raise validate.InputError(f"sets must be a non-empty dict {{name: (n_q, n_branches) mask}}, got {sets!r}")
    shape = tuple(projector.frequencies.shape)
    for name, m in sets.items():
        if np.shape(m) != shape:
            raise validate.InputError(f"sets[{name!r}] has shape {np.shape(m)}; expected the projector's (n_q, "
                                      f"n_branches) = {shape}")
    ref = np.asarray(projector.positions)
    pos = np.asarray(check_frames(positions, kernel.structure, "positions"))
    u = pos - ref
    check_displacements_near(u, np.asarray(kernel.structure.cell), "positions")
    plus = kernel(jnp.asarray(ref + u), memory_budget)
    minus = kernel(jnp.asarray(ref - u), memory_budget)
    odd, even = 0.5 * (plus - minus), 0.5 * (plus + minus)
    full = ParitySplit(jnp.mean(jnp.abs(odd) ** 2, 0), incoherent(even), jnp.abs(jnp.mean(even, 0)) ** 2,
                       0.5 * (jnp.mean(jnp.abs(plus) ** 2, 0) + jnp.mean(jnp.abs(minus) ** 2, 0)))
    out = {}
    for name, m in sets.items():
        us = np.asarray(mode_filter(projector, u, m))
        psi = 0.5 * (plus - kernel(jnp.asarray(ref + u - 2 * us), memory_budget))
        if even_rest:
            psi = 0.5 * psi + 0.25 * (kernel(jnp.asarray(ref - u + 2 * us), memory_budget) - minus)
        out[name] = jnp.mean(jnp.abs(psi) ** 2, 0)
    return SetOnePhonon(out, full)


def designed_phases(shape, n_members: int) -> np.ndarray:
    """(n_members, *shape) mode phases [rad] φ_m,j = 2π k_m j / M (k_m = 1, 2, …; M = ``n_members``, which
    must exceed twice the number of modes) for which every cross term between two modes,
    e^{i(φ_a ∓ φ_b)}, averages to exactly 0 over the members: the ensemble mean of any quadratic
    quantity (a TACAW spectrum) equals the random-phase expectation with no sampling noise."""
    n_modes = int(np.prod(shape))
    n_members = validate.integer(n_members, "n_members", lo=2 * n_modes + 1)
    k = np.arange(1, n_modes + 1).reshape(shape)
    return 2 * math.pi * (np.arange(n_members)[:, None] * k.reshape(1, -1)).reshape((n_members,) + tuple(shape)) \
        / n_members


def harmonic_trajectory(key, projector: ModeProjector, temperature, n_frames: int, time_step, *,
                        fixed_amplitudes: bool = False, phases=None, modes=None, precision=None):
    """Positions (n_frames, N, 3) [Å] of an analytic classical harmonic trajectory at ``temperature``
    [K], frames ``time_step`` [fs] apart: every mode (or those in ``modes``) moves as
    Q(t) = Q₀ cos ωt + (P₀/ω) sin ωt with thermal (Q₀, P₀) (⟨|Q|²⟩ = k_BT/ω², ⟨|P|²⟩ = k_BT).
    ``fixed_amplitudes``: each mode gets exactly its mean energy k_BT with a random phase (no
    Rayleigh fluctuation of the line intensities); ``phases`` (n_q, n_branches) [rad] fixes the phases
    too (implies fixed amplitudes; see :func:`designed_phases`)."""
    from .fte import paired_projector

    n_frames = validate.integer(n_frames, "n_frames", lo=2)
    dt = validate.scalar(time_step, "time_step", "fs", positive=True)
    p = paired_projector(projector)
    f = np.asarray(p.frequencies, np.float64)
    mask = np.ones(f.shape, bool) if modes is None else np.asarray(modes, bool)
    amp = mode_amplitudes(f, temperature, quantum=False) * mask  # ⟨|Q|²⟩ [u·Å²]
    w = 2 * math.pi * np.abs(f) * 1e-3  # rad/fs
    k1, k2 = jax.random.split(key)
    if phases is not None or fixed_amplitudes:
        phase = (np.asarray(jax.random.uniform(k1, f.shape, jnp.float32), np.float64) * 2 * math.pi if phases is None
                 else np.asarray(validate.array(phases, "phases", shape=f.shape, ndim=2, kind="real", units="rad")))
        c = np.sqrt(amp) * np.exp(1j * np.asarray(phase))  # Q(t) = c e^{−iωt}: |Q|² = A at all t
        a, b = c, -1j * c  # Q₀ = c, P₀/ω = −i c  → Q(t) = c (cos ωt − i sin ωt)
    else:
        z = np.asarray(jax.random.normal(k1, f.shape + (2,), accel.complex_dtype(accel.default_precision())))
        a, b = np.sqrt(amp) * z[..., 0], np.sqrt(amp) * z[..., 1]
    t = np.arange(n_frames) * dt
    ph = w[None] * t[:, None, None]
    Q = jnp.asarray(a[None] * np.cos(ph) + b[None] * np.sin(ph))
    # the pair gauge makes Σ b* Q real only for conjugate-symmetric Q; √2 Re(·) gives a real field
    # with the same covariance and per-mode spectra (the construction of harmonic_snapshots)
    y = jnp.einsum("qnjk,tqn->tjk", jnp.conj(p.basis), Q.astype(p.basis.dtype))
    u = math.sqrt(2.0) * jnp.real(y) / p.sqrt_masses[:, None]
    real = accel.real_dtype(accel.default_precision() if precision is None else precision)
    return (p.positions[None] + u).astype(real)


def designed_snapshots(projector: ModeProjector, temperature, *, quantum: bool = True, modes=None,
                       n_members: int | None = None, precision=None):
    """Positions (M, N, 3) [Å] of a noise-free harmonic ensemble: every mode (or those in ``modes``, a
    mask or (f_lo, f_hi) band [THz]) with its exact mean-square amplitude A (quantum or classical,
    :func:`~jaxem.phonons.mode_amplitudes`) and the phases of :func:`designed_phases`, so that the
    ensemble covariance ⟨u uᵀ⟩ equals the harmonic one exactly (u = √2 Re Σ √A b* e^{iφ} / √M_j,
    the construction of :func:`~jaxem.phonons.harmonic_snapshots` with |ξ| = 1). Quadratic
    observables (⟨u²⟩, the one-phonon TDS) then carry no sampling noise; M defaults to 2·n_modes + 1."""
    from .snapshots import mode_selection

    f = np.asarray(projector.frequencies, np.float64)
    sel = mode_selection(projector, modes)
    amp = mode_amplitudes(f, temperature, quantum) * sel
    m = 2 * f.size + 1 if n_members is None else n_members
    ph = designed_phases(f.shape, m)  # (M, q, ν)
    c = np.sqrt(amp)[None] * np.exp(1j * ph)
    y = np.einsum("qnjk,mqn->mjk", np.conj(np.asarray(projector.basis, np.complex128)), c)
    u = math.sqrt(2.0) * y.real / np.asarray(projector.sqrt_masses, np.float64)[:, None]
    real = accel.real_dtype(accel.default_precision() if precision is None else precision)
    return jnp.asarray(np.asarray(projector.positions, np.float64)[None] + u, real)


def one_phonon_weights(projector: ModeProjector, species, transfers, temperature, *, b_factors=None,
                       parametrization: str = "lobato") -> np.ndarray:
    """Kinematic one-phonon intensity (module docstring) of every mode at each 3D transfer.

    Args:
        species: (N,) atomic numbers of the supercell atoms (projector order).
        transfers: (n_Q, 3) scattering vectors Q [1/Å, no 2π] (Q = G + q).
        temperature: [K] (classical amplitudes k_BT/ω²).
        b_factors: {Z: B [Å²]} Debye–Waller factors (default none: e^{−W} = 1).
    Returns:
        (n_Q, n_q, n_branches) weights [arbitrary common units: Å² · Å²/u · u·Å²]; the lines sit at
        the mode frequencies.
    """
    from ..potential.tds import elastic_form_factor

    Qv = np.asarray(validate.array(transfers, "transfers", ndim=2, shape=(3,), kind="real", units="1/Å"), float)
    z = np.asarray(species)
    r = np.asarray(projector.positions, float)
    bas = np.asarray(projector.basis) / np.asarray(projector.sqrt_masses)[:, None]  # (q, ν, N, 3)
    k = np.linalg.norm(Qv, axis=1)
    fj = np.zeros((len(Qv), len(z)))
    for zz in np.unique(z):
        b = 0.0 if b_factors is None else float(b_factors.get(int(zz), 0.0))
        fj[:, z == zz] = elastic_form_factor(int(zz), b, k)[:, None]
    ph = np.exp(-2j * math.pi * Qv @ r.T) * fj  # (n_Q, N)
    amp = np.einsum("aj,ak,qnjk->aqn", ph, 2 * math.pi * Qv, np.conj(bas))
    a = mode_amplitudes(np.asarray(projector.frequencies), temperature, quantum=False)
    return np.abs(amp) ** 2 * a[None]


__all__ = ["closed", "band_masks", "branch_sets", "cell_set", "mode_filter", "set_energies", "mode_resolved_tds",
           "SetOnePhonon", "branch_parity_split",
           "designed_phases", "designed_snapshots", "harmonic_trajectory", "one_phonon_weights"]
