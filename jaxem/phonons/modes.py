"""Mode projection: atomic displacements u ↔ normal-mode coordinates Q, velocities v ↔ momenta P.

For a periodic supercell of N_c primitive cells with atoms j (mass M_j, ideal position r_j, primitive
atom b(j)) the harmonic modes are the commensurate q-points and branches ν of the primitive cell's
dynamical matrix (eigenvectors e_qν,b, orthonormal). The complex mode coordinates and momenta are

    Q_qν = (1/√N_c) Σ_j √M_j e^{−iq·r_j} e*_qν,b(j) · u_j,      P_qν = same with v_j,
    u_j  = (1/√(N_c M_j)) Σ_qν e^{iq·r_j} e_qν,b(j) Q_qν       (the inverse; real for real Q-sets),

and the energy of mode (q, ν) is E_qν = ½|P_qν|² + ½ω²_qν|Q_qν|² (k_BT on average in classical
equilibrium, the equipartition test of an MD run). The map √M u → Q is unitary (rows are the
orthonormal eigenvectors of the supercell's Γ-point dynamical matrix), so u → Q → u is exact. This is
the mathematics of dynasor's ``ModeProjector`` (Fransson, Slabanja, Erhart & Wahnström, Adv. Theory
Simul. 4, 2000240 (2021); MIT licence), mirrored here in JAX (not copied) so that projections of
whole trajectories are one batched matrix product on the device. Units: u [Å], v [Å/fs], Q [√u·Å],
P [√u·Å/fs], ω [rad/fs] internally; frequencies reported in THz, energies in eV.
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from ..accel import dtypes
from .harmonic import AMU_A2_PS2

#: 1 u·Å²/fs² in eV
AMU_A2_FS2 = AMU_A2_PS2 * 1e6


@pytree.dataclass
class ModeProjector:
    """Projection between Cartesian displacements of a supercell and its normal modes.

    Attributes:
        basis: (n_q, n_branches, N, 3) complex, (1/√N_c) e^{−iq·r_j} e*_qν,b(j) (unitary as a
            (3N × 3N) matrix).
        sqrt_masses: (N,) √M_j [√u].
        frequencies: (n_q, n_branches) [THz].
        qpoints: (n_q, 3) commensurate q-points (primitive reciprocal fractional coordinates).
        positions: (N, 3) ideal supercell positions [Å] (the reference of u).
    """

    basis: jnp.ndarray
    sqrt_masses: jnp.ndarray = pytree.field(units="√u")
    frequencies: jnp.ndarray = pytree.field(units="THz")
    qpoints: jnp.ndarray
    positions: jnp.ndarray = pytree.field(units="Å")

    @property
    def omega(self):
        """Angular frequencies ω = 2πf [rad/fs] (n_q, n_branches)."""
        return 2 * math.pi * self.frequencies * 1e-3

    def project(self, u):
        """Q (…, n_q, n_branches) [√u·Å] of displacements ``u`` (…, N, 3) [Å]."""
        return jnp.einsum("qnjk,...jk->...qn", self.basis, u * self.sqrt_masses[:, None])

    def displacements(self, Q):
        """u (…, N, 3) [Å] of mode coordinates ``Q`` (…, n_q, n_branches) (real part: a Q-set of a
        real field gives a real u to round-off)."""
        y = jnp.einsum("qnjk,...qn->...jk", jnp.conj(self.basis), Q)
        return jnp.real(y) / self.sqrt_masses[:, None]

    def project_velocities(self, v):
        """P (…, n_q, n_branches) [√u·Å/fs] of velocities ``v`` (…, N, 3) [Å/fs]."""
        return self.project(v)

    def velocities(self, P):
        """v (…, N, 3) [Å/fs] of mode momenta ``P``."""
        return self.displacements(P)

    def mode_energies(self, Q, P):
        """E_qν = ½|P|² + ½ω²|Q|² [eV] (…, n_q, n_branches)."""
        return 0.5 * (jnp.abs(P) ** 2 + (self.omega * jnp.abs(Q)) ** 2) * AMU_A2_FS2


def mode_projector(harmonic, precision=None) -> ModeProjector:
    """The :class:`ModeProjector` of the supercell of ``harmonic`` (a :class:`~jaxem.phonons.Harmonic`):
    its commensurate q-points, phonopy's eigenvectors there, in the ``harmonic.supercell`` atom order."""
    from .harmonic import Harmonic

    validate.instance(harmonic, "harmonic", Harmonic, "a Harmonic (from phonons.harmonic_phonons)")
    real, cplx = dtypes(precision)
    q = harmonic.commensurate_qpoints()
    f, e = harmonic.modes(q)
    sc = harmonic.supercell
    r = np.asarray(sc.positions, np.float64)
    b = harmonic.primitive_index()
    rec = np.linalg.inv(np.asarray(harmonic.phonopy.primitive.cell, np.float64)).T  # rows b_i [1/Å], no 2π
    phase = np.exp(-2j * math.pi * (q @ rec) @ r.T)  # (n_q, N)
    n_cells = len(q)
    basis = phase[:, None, :, None] * np.conj(e[:, :, b, :]) / math.sqrt(n_cells)
    m = np.asarray(harmonic.masses, np.float64)
    return ModeProjector(basis=jnp.asarray(basis, cplx), sqrt_masses=jnp.asarray(np.sqrt(m), real),
                         frequencies=jnp.asarray(f, real), qpoints=jnp.asarray(q, real),
                         positions=jnp.asarray(r, real))


def check_displacements(projector: ModeProjector, u, name: str = "u"):
    """Validate ``u`` (…, N, 3) against the projector's supercell; returns it."""
    n = projector.positions.shape[0]
    return validate.array(u, name, min_ndim=2, shape=(n, 3), kind="real", units="Å")
