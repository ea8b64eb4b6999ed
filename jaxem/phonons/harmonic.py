"""Harmonic lattice dynamics: force constants by finite displacements, dispersion, DOS, eigenvectors
and thermal mean-square displacements (Debye–Waller factors).

Physics. For small displacements u_j of atoms j (mass M_j [u]) the energy is
E = ½ Σ u_jα Φ_jα,kβ u_kβ, with the force constants Φ = ∂²E/∂u∂u [eV/Å²] obtained here by finite
displacements (phonopy, Togo & Tanaka, Scr. Mater. 108, 1 (2015)): one atom at a time is moved by
``displacement`` [Å] in a supercell and the forces on every atom are recorded, Φ = −ΔF/Δu (phonopy
uses ± displacements and the space group to reduce the count). The dynamical matrix
D_bα,b'β(q) = Σ_l Φ_0bα,lb'β e^{iq·(r_lb' − r_0b)} / √(M_b M_b') has eigenvalues ω²_qν and
orthonormal eigenvectors e_qν (frequencies f = ω/2π reported in THz; imaginary modes as negative f).

Mean-square displacement of atom b along α (per Cartesian direction, the house convention), over
a set of N_q q-points (a mesh or the commensurate points of a supercell):

    ⟨u²_bα⟩ = (1/N_q) Σ_qν |e_qν,bα|² · A(ω_qν) / M_b,
    A = ħ/(2ω) coth(ħω / 2k_BT)   (quantum, zero-point motion included; → ħ/2ω at T = 0),
    A = k_BT / ω²                 (classical equipartition),

and B = 8π²⟨u²_α⟩ [Å²]. Modes with |f| below ``cutoff`` (the uniform translations at Γ) carry no
thermal displacement of a periodic crystal and are left out, as phonopy does.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import validate
from ..physics import BOLTZMANN, ELEMENTARY_CHARGE, HBAR

#: 1 u·Å²/ps² in eV
AMU_A2_PS2 = 1.66053906660e-27 * 1e-20 / 1e-24 / ELEMENTARY_CHARGE
#: ħ [eV·ps] and k_B [eV/K]
HBAR_EV_PS = HBAR / ELEMENTARY_CHARGE * 1e12
KB_EV = BOLTZMANN / ELEMENTARY_CHARGE


def mode_amplitudes(frequencies, temperature, quantum: bool = True, cutoff: float = 1e-3):
    """Mean-square mass-weighted amplitude ⟨|Q_qν|²⟩ [u·Å²] of modes of frequency f [THz] at
    ``temperature`` [K]: ħ/(2ω)·coth(ħω/2k_BT) (quantum) or k_BT/ω² (classical), 0 for |f| < ``cutoff``.
    Negative (imaginary) frequencies are rejected."""
    f = np.asarray(validate.array(frequencies, "frequencies", kind="real", units="THz", min_size=0), np.float64)
    t = validate.scalar(temperature, "temperature", "K", nonnegative=True)
    if np.any(f < -cutoff):
        i = np.unravel_index(int(np.argmin(f)), f.shape)
        raise validate.InputError(f"frequencies: imaginary mode {f[i]:.4g} THz at index {tuple(int(k) for k in i)}; "
                                  "the harmonic ensemble needs a dynamically stable crystal")
    w = 2 * math.pi * np.abs(f)  # rad/ps
    live = np.abs(f) >= cutoff
    w_safe = np.where(live, w, 1.0)
    if quantum:
        x = HBAR_EV_PS * w_safe / (2 * KB_EV * t) if t > 0 else np.full_like(w_safe, np.inf)
        coth = np.where(x > 350, 1.0, 1.0 / np.tanh(np.minimum(x, 350)))
        a = HBAR_EV_PS / (2 * w_safe) * coth / AMU_A2_PS2
    else:
        a = KB_EV * t / w_safe**2 / AMU_A2_PS2
    return np.where(live, a, 0.0)


def mean_square_displacements(frequencies, eigenvectors, masses, temperature, quantum: bool = True,
                              weights=None, cutoff: float = 1e-3):
    """⟨u²_bα⟩ [Å²] per atom b of the primitive cell and Cartesian direction α, shape (n_atoms, 3).

    Args:
        frequencies: (n_q, n_modes) [THz].
        eigenvectors: (n_q, n_modes, n_atoms, 3) complex, orthonormal over (atom, direction).
        masses: (n_atoms,) [u].
        temperature: [K].
        quantum: Bose–Einstein with zero-point motion (True) or classical equipartition.
        weights: (n_q,) q-point weights (default equal); normalised to sum 1.
    """
    f = validate.array(frequencies, "frequencies", ndim=2, kind="real", units="THz")
    e = np.asarray(eigenvectors)
    m = validate.array(masses, "masses", ndim=1, kind="real", units="u")
    if e.shape != f.shape + (len(m), 3):
        raise validate.InputError(f"eigenvectors: shape {e.shape} does not match frequencies {f.shape} and "
                                  f"{len(m)} masses (expected {f.shape + (len(m), 3)})")
    w = np.ones(f.shape[0]) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    a = mode_amplitudes(f, temperature, quantum, cutoff)
    return np.einsum("q,qn,qnbk->bk", w, a, np.abs(e) ** 2) / np.asarray(m)[:, None]


class Harmonic:
    """Harmonic phonons of ``unit_cell`` from force constants in a ``supercell_shape`` supercell.

    Use :func:`harmonic_phonons` to build one. Attributes: ``unit_cell`` and ``supercell``
    (:class:`~jaxem.structure.Structure`, the supercell in ``unit_cell.repeat`` order), ``phonopy``
    (the underlying :class:`phonopy.Phonopy`), ``masses`` [u] of the supercell atoms. q-points are
    fractional coordinates of the *primitive* reciprocal lattice (phonopy's convention).
    """

    def __init__(self, phonon, unit_cell, supercell_shape, order):
        from ..structure import Structure

        if not hasattr(phonon, "supercell") or not hasattr(phonon, "primitive"):
            raise validate.InputTypeError(f"phonon must be a phonopy.Phonopy with force constants, got "
                                          f"{type(phonon).__name__}")
        validate.instance(unit_cell, "unit_cell", Structure, "a jaxem Structure")
        if isinstance(supercell_shape, (str, bytes, dict)) or np.ndim(supercell_shape) != 1 or len(supercell_shape) != 3:
            raise validate.InputError(f"supercell_shape must be 3 integers (na, nb, nc), got {supercell_shape!r}")
        supercell_shape = tuple(validate.integer(n, "supercell_shape", lo=1) for n in supercell_shape)
        order = np.asarray(validate.array(order, "order", ndim=1, kind="integer"))
        self.phonopy = phonon
        self.unit_cell = unit_cell
        self.supercell_shape = tuple(supercell_shape)
        self.supercell = unit_cell.repeat(*supercell_shape)
        self._order = order  # jaxem supercell atom i is phonopy supercell atom order[i]
        self.masses = np.asarray(phonon.supercell.masses)[order]

    @property
    def primitive_masses(self):
        return np.asarray(self.phonopy.primitive.masses)

    def modes(self, qpoints):
        """Frequencies (n_q, n_modes) [THz] and eigenvectors (n_q, n_modes, n_prim, 3) at ``qpoints``
        (n_q, 3) (primitive reciprocal fractional coordinates)."""
        q = validate.array(np.atleast_2d(np.asarray(qpoints, np.float64)), "qpoints", ndim=2, shape=(3,), kind="real")
        self.phonopy.run_qpoints(q, with_eigenvectors=True)
        res = self.phonopy.qpoints
        freq = np.asarray(res.frequencies)
        nb = freq.shape[1]
        vec = np.swapaxes(np.asarray(res.eigenvectors), 1, 2).reshape(len(q), nb, nb // 3, 3)
        return freq, vec

    def frequencies(self, qpoints):
        """Frequencies (n_q, n_modes) [THz] at ``qpoints`` (sorted ascending; imaginary < 0)."""
        return self.modes(qpoints)[0]

    def band_structure(self, path, n_points: int = 51):
        """Dispersion along ``path``: a list of (label, q) corners. Returns (distance (n,) [1/Å, 2π
        not included], frequencies (n, n_modes) [THz], [(distance, label)] of the corners)."""
        n_points = validate.integer(n_points, "n_points", lo=2)
        if len(path) < 2:
            raise validate.InputError(f"path: need at least 2 (label, q) corners, got {len(path)}")
        rec = np.linalg.inv(np.asarray(self.phonopy.primitive.cell)).T  # rows: b_i [1/Å]
        qs, dist, ticks, d0 = [], [], [(0.0, path[0][0])], 0.0
        for (la, qa), (lb, qb) in zip(path[:-1], path[1:]):
            t = np.linspace(0, 1, n_points)[:, None]
            seg = np.asarray(qa, float) + t * (np.asarray(qb, float) - np.asarray(qa, float))
            length = float(np.linalg.norm((np.asarray(qb, float) - np.asarray(qa, float)) @ rec))
            qs.append(seg)
            dist.append(d0 + t[:, 0] * length)
            d0 += length
            ticks.append((d0, lb))
        return np.concatenate(dist), self.frequencies(np.concatenate(qs)), ticks

    def mesh_modes(self, mesh):
        """Frequencies and eigenvectors on a Γ-centred ``mesh`` (n1, n2, n3) of the full zone."""
        mesh = tuple(validate.integer(m, "mesh", lo=1) for m in mesh)
        g = [np.arange(n) / n for n in mesh]
        q = np.stack(np.meshgrid(*g, indexing="ij"), -1).reshape(-1, 3)
        return self.modes(q)

    def commensurate_qpoints(self):
        """The q-points (n_cells, 3) whose plane waves are periodic in the supercell (primitive
        reciprocal fractional coordinates): the modes of the periodic supercell."""
        from phonopy.harmonic.dynmat_to_fc import get_commensurate_points

        pm = np.asarray(self.phonopy.primitive_matrix, np.float64)
        smat = np.rint(np.linalg.inv(pm) @ np.diag(self.supercell_shape)).astype(int)
        return get_commensurate_points(smat)

    def dos(self, mesh=(16, 16, 16), fmax=None, n_bins: int = 201, sigma: float = 0.1):
        """Phonon DOS from phonopy's mesh: (f (n_bins,) [THz], total DOS [states/THz per primitive
        cell], projected DOS (n_prim, n_bins)), Gaussian smearing ``sigma`` [THz]."""
        self.phonopy.run_mesh(list(mesh), with_eigenvectors=True, is_mesh_symmetry=False, is_gamma_center=True)
        fm = float(np.max(self.phonopy.mesh.frequencies)) * 1.05 if fmax is None else fmax
        self.phonopy.run_projected_dos(sigma=sigma, freq_min=0.0, freq_max=fm, freq_pitch=fm / (n_bins - 1))
        p = self.phonopy.projected_dos  # (get_projected_dos_dict is deprecated in phonopy 4.10)
        return np.asarray(p.frequency_points), np.asarray(p.projected_dos).sum(0), np.asarray(p.projected_dos)

    def mean_square_displacements(self, temperature, quantum: bool = True, mesh=(16, 16, 16), qpoints=None):
        """⟨u²_bα⟩ (n_prim, 3) [Å²] at ``temperature`` [K] over a Γ-centred ``mesh`` or explicit
        ``qpoints`` (e.g. :meth:`commensurate_qpoints`: the value of the periodic supercell)."""
        f, e = self.modes(qpoints) if qpoints is not None else self.mesh_modes(mesh)
        return mean_square_displacements(f, e, self.primitive_masses, temperature, quantum)

    def b_factors(self, temperature, quantum: bool = True, mesh=(16, 16, 16), qpoints=None):
        """Isotropic B = 8π²⟨u²⟩ (mean over directions) [Å²] per primitive atom."""
        return 8 * math.pi**2 * self.mean_square_displacements(temperature, quantum, mesh, qpoints).mean(1)

    def supercell_force_constants(self):
        """Φ (N, N, 3, 3) [eV/Å²] of the supercell in ``supercell`` atom order."""
        fc = np.asarray(self.phonopy.force_constants)
        o = self._order
        return fc[np.ix_(o, o)]

    def primitive_index(self):
        """For each supercell atom (``supercell`` order), the index of its primitive-cell atom."""
        p = self.phonopy.primitive
        return np.array([p.p2p_map[int(k)] for k in p.s2p_map])[self._order]

    def bfactor_table(self, temperature, **kw):
        """{element symbol: B [Å²]} (quantum) at ``temperature`` [K]."""
        b = self.b_factors(temperature, **kw)
        return {s: float(v) for s, v in zip(self.phonopy.primitive.symbols, b)}


def _order(unit_cell, supercell_shape, phonopy_supercell) -> np.ndarray:
    """Permutation taking phonopy's supercell atom order to ``unit_cell.repeat(*shape)`` order."""
    sc = unit_cell.repeat(*supercell_shape)
    cell = np.asarray(sc.cell, np.float64)
    fa = np.asarray(sc.positions, np.float64) @ np.linalg.inv(cell)
    fb = np.asarray(phonopy_supercell.scaled_positions, np.float64)
    d = fa[:, None, :] - fb[None, :, :]
    d = np.abs(d - np.rint(d)).max(-1)
    order = np.argmin(d, axis=1)
    if np.max(d[np.arange(len(fa)), order]) > 1e-6 or len(set(order.tolist())) != len(fa):
        raise RuntimeError("internal: the phonopy supercell does not match unit_cell.repeat")
    if not np.array_equal(np.asarray(sc.numbers), np.asarray(phonopy_supercell.numbers)[order]):
        raise RuntimeError("internal: species differ between the phonopy supercell and unit_cell.repeat")
    return order


def harmonic_phonons(unit_cell, supercell=(4, 4, 4), potential: str | None = None, forces=None, energy=None,
                     primitive="auto", displacement: float = 0.01) -> Harmonic:
    """Harmonic phonons of ``unit_cell`` (Structure or ase.Atoms, positions at equilibrium).

    Exactly one source of forces: ``potential`` (a name or :class:`jaxem.md.engine.Potential`: forces
    from LAMMPS through :func:`jaxem.md.engine.forces`), ``forces`` (callable ``forces(ase.Atoms) -> (n, 3)``
    [eV/Å]; finite displacements of ``displacement`` [Å] driven by phonopy) or ``energy`` (a JAX
    function of the supercell positions (N, 3) [Å] → eV; Φ by ``jax.hessian`` in float64, no
    finite differences). ``supercell``: repetitions (n_a, n_b, n_c) of the unit cell; the force
    constants are those of this periodic supercell, so they are exact for its commensurate q-points
    and interpolated elsewhere (the supercell must exceed twice the potential range for the
    interpolation to converge). ``primitive``: phonopy's primitive matrix ("auto", "F", "I", … or 3×3).
    """
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    from ..structure import as_structure, symbol

    unit_cell = as_structure(unit_cell, "unit_cell")
    shape = tuple(validate.integer(n, "supercell", lo=1) for n in supercell)
    if len(shape) != 3:
        raise validate.InputError(f"supercell must be 3 repetitions (n_a, n_b, n_c), got {supercell!r}")
    if sum(x is not None for x in (potential, forces, energy)) != 1:
        raise validate.InputError("give exactly one of potential, forces and energy")
    displacement = validate.scalar(displacement, "displacement", "Å", positive=True, hi=0.2)
    if forces is not None and not callable(forces):
        raise validate.InputTypeError(f"forces must be callable forces(atoms) -> (n, 3) [eV/Å], got "
                                      f"{type(forces).__name__}")
    if potential is not None:
        from ..md import engine

        pot = engine.potential(potential)

        def forces(atoms):
            return engine.forces(atoms, pot)
    cell = np.asarray(unit_cell.cell, np.float64)
    atoms = PhonopyAtoms(symbols=[symbol(int(z)) for z in np.asarray(unit_cell.numbers)], cell=cell,
                         positions=np.asarray(unit_cell.positions, np.float64))
    with warnings.catch_warnings():  # phonopy warns that 'auto' differs from its v3 default; we ask for it
        warnings.simplefilter("ignore")
        ph = Phonopy(atoms, supercell_matrix=np.diag(shape), primitive_matrix=primitive, log_level=0)
    order = _order(unit_cell, shape, ph.supercell)
    if energy is not None:
        from .pair import hessian_force_constants

        sc = unit_cell.repeat(*shape)
        fc = hessian_force_constants(energy, np.asarray(sc.positions, np.float64))
        inv = np.argsort(order)  # phonopy atom k is supercell atom inv[k]
        ph.force_constants = fc[np.ix_(inv, inv)]
    else:
        import ase

        ph.generate_displacements(distance=displacement)
        found = []
        for k, s in enumerate(ph.supercells_with_displacements):
            f = np.asarray(forces(ase.Atoms(s.symbols, positions=s.positions, cell=s.cell, pbc=True)), np.float64)
            if f.shape != (len(s), 3) or not np.all(np.isfinite(f)):
                raise validate.InputError(f"forces returned shape {f.shape} (finite: {bool(np.all(np.isfinite(f)))}) "
                                          f"for displaced supercell {k}; expected finite ({len(s)}, 3) [eV/Å]")
            found.append(f)
        ph.forces = found
        ph.produce_force_constants()
        ph.symmetrize_force_constants()  # acoustic sum rule and index symmetry (removes round-off)
    return Harmonic(ph, unit_cell, shape, order)
