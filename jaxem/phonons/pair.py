"""Pair potentials written in JAX, and force constants as their exact Hessian (``jax.hessian``).

Why JAX here: a potential written in JAX gives the force constants Φ = ∂²E/∂u∂u exactly by
automatic differentiation (no finite-displacement step, no fitting), which cross-checks the
finite-displacement route of :func:`jaxem.phonons.harmonic_phonons` and LAMMPS on the same pair
potential, and makes phonon properties differentiable with respect to the potential parameters.

The Morse potential (P. M. Morse, Phys. Rev. 34, 57 (1929)) in LAMMPS' form
φ(r) = D [e^{−2α(r−r₀)} − 2 e^{−α(r−r₀)}] for r < r_c (``pair_style morse r_c``; no shift), summed over
all periodic images within r_c: E = ½ Σ_{i≠j or image≠0} φ(|r_j + n·L − r_i|).
"""
from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate


def _images(cell, cutoff):
    """Integer lattice translations (n, 3) reaching every neighbour within ``cutoff`` [Å]."""
    cell = np.asarray(cell, np.float64)
    inv = np.linalg.inv(cell)
    # distance between opposite faces along a_i is 1/|row i of inv^T|
    heights = 1.0 / np.linalg.norm(inv.T, axis=1)
    reach = np.ceil(cutoff / heights).astype(int) + 1
    return np.array(list(itertools.product(*[range(-r, r + 1) for r in reach])), np.float64)


def morse_energy(cell, D: float, alpha: float, r0: float, cutoff: float):
    """A function ``energy(positions (N, 3) [Å]) -> E [eV]`` of atoms in the periodic ``cell`` (rows
    [Å]) interacting by the Morse pair potential (depth ``D`` [eV], ``alpha`` [1/Å], ``r0`` [Å],
    cut at ``cutoff`` [Å])."""
    D = validate.scalar(D, "D", "eV", positive=True)
    alpha = validate.scalar(alpha, "alpha", "1/Å", positive=True)
    r0 = validate.scalar(r0, "r0", "Å", positive=True)
    cutoff = validate.scalar(cutoff, "cutoff", "Å", positive=True)
    cell = validate.array(np.asarray(cell, np.float64), "cell", shape=(3, 3), kind="real", units="Å")
    shifts = _images(cell, cutoff) @ cell  # NumPy float64: stays float64 inside accel.float64_mode

    def energy(positions):
        d = positions[None, :, None, :] - positions[:, None, None, :] + shifts[None, None, :, :]
        r2 = jnp.sum(d * d, -1)
        self_pair = r2 < 1e-12
        r = jnp.sqrt(jnp.where(self_pair, 1.0, r2))
        x = jnp.exp(-alpha * (r - r0))
        phi = D * (x * x - 2 * x)
        keep = (~self_pair) & (r < cutoff)
        return 0.5 * jnp.sum(jnp.where(keep, phi, 0.0))

    return energy


def hessian_force_constants(energy, positions) -> np.ndarray:
    """Φ (N, N, 3, 3) [eV/Å²] = ∂²E/∂r_iα∂r_jβ at ``positions`` (N, 3) [Å] by ``jax.hessian`` in
    float64 (``energy``: a JAX function of the positions, periodic images included)."""
    validate.function(energy, "energy", "a JAX function of the positions")
    pos = validate.array(positions, "positions", ndim=2, shape=(3,), kind="real", units="Å")
    pos = np.asarray(pos, np.float64)
    with accel.float64_mode():
        h = jax.jit(jax.hessian(energy))(jnp.asarray(pos, jnp.float64))
        h = np.asarray(h, np.float64)
    return np.transpose(h, (0, 2, 1, 3))
