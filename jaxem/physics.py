"""Physical constants (CODATA 2018) and relativistic electron quantities.

Conventions used across jaxem (written once here, tested in ``tests/test_physics.py``):

* The beam (:class:`jaxem.beam.Beam`) is the one place that turns an energy into λ, σ, γ and
  angles ↔ frequencies; code elsewhere asks the beam, never these functions directly.
* Energies are in eV, lengths in Å, angles in mrad, reciprocal lengths in 1/Å.
* The transmission function of a slice with projected potential ``v`` [V·Å] (optionally complex,
  ``v + i v'``) is ``t = exp(i σ v)``, so an absorptive part ``v'`` > 0 damps the wave as
  ``exp(-σ v')``.
* The Fresnel propagator over a distance ``dz`` [Å] is ``P(k) = exp(-i π λ dz |k|²)``; a slice is
  *transmitted, then propagated*.
* The electron scattering factor ``f_e(k)`` [Å] of an atom relates to its projected potential by
  ``v(k) = 2π a₀ e · f_e(|k|)`` [V·Å³] (Kirkland, *Advanced Computing in Electron Microscopy*, 2nd
  ed., eq. 5.9–5.10); ``KAPPA`` below is ``2π a₀ e`` [V·Å²].

References: E. Tiesinga et al., CODATA 2018, Rev. Mod. Phys. 93, 025010 (2021); E. J. Kirkland,
*Advanced Computing in Electron Microscopy* (Springer, 2010), chapter 2.
"""
from __future__ import annotations

import math

import numpy as np

from . import validate

# CODATA 2018 (exact where defined exactly by the SI since 2019)
PLANCK = 6.62607015e-34  # h [J s]
ELEMENTARY_CHARGE = 1.602176634e-19  # e [C]
ELECTRON_MASS = 9.1093837015e-31  # m0 [kg]
SPEED_OF_LIGHT = 299792458.0  # c [m/s]
VACUUM_PERMITTIVITY = 8.8541878128e-12  # ε0 [F/m]
BOHR_RADIUS = 0.529177210903  # a0 [Å]
BOLTZMANN = 1.380649e-23  # kB [J/K]
HBAR = PLANCK / (2 * math.pi)

#: electron rest energy m0 c² [eV]
ELECTRON_REST_ENERGY = ELECTRON_MASS * SPEED_OF_LIGHT**2 / ELEMENTARY_CHARGE
#: e / (4π ε0) [V·Å] (= e²/(4π ε0) in eV·Å): 14.399645 V·Å
COULOMB = ELEMENTARY_CHARGE / (4 * math.pi * VACUUM_PERMITTIVITY) * 1e10
#: 2π a0 e [V·Å²]: converts an electron scattering factor [Å] to a potential Fourier amplitude
KAPPA = 2 * math.pi * BOHR_RADIUS * COULOMB


def _check_energy(energy) -> np.ndarray:
    if isinstance(energy, str) or np.ndim(energy) == 0:
        return np.asarray(validate.scalar(energy, "energy", "eV", positive=True, allow_traced=False))
    e = np.asarray(validate.array(energy, "energy", kind="real", units="eV"), dtype=np.float64)
    if np.any(e <= 0):
        raise validate.InputError(f"energy must be > 0 [eV], got {energy!r}")
    return e


def _maybe_scalar(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def relativistic_gamma(energy):
    """Lorentz factor γ = 1 + E / (m0 c²) of an electron of kinetic energy ``energy`` [eV]."""
    e = _check_energy(energy)
    return _maybe_scalar(1.0 + e / ELECTRON_REST_ENERGY)


def wavelength(energy):
    """Relativistic de Broglie wavelength λ [Å] of an electron of kinetic energy ``energy`` [eV].

    λ = h c / sqrt(eE (2 m0 c² + eE)).  300 keV → 0.019687 Å.
    """
    e = _check_energy(energy)
    ee = e * ELEMENTARY_CHARGE
    lam = PLANCK * SPEED_OF_LIGHT / np.sqrt(ee * (2 * ELECTRON_MASS * SPEED_OF_LIGHT**2 + ee))
    return _maybe_scalar(lam * 1e10)


def interaction_constant(energy, wavelength=None):
    """Interaction constant σ = 2π γ m0 e λ / h² [rad/(V·Å)] at ``energy`` [eV] (``wavelength`` [Å]
    may be passed when already known, as :class:`jaxem.beam.Beam` does).

    300 keV → 6.5262e-4 rad/(V·Å); 200 keV → 7.2884e-4 (Kirkland 2010, Table 5.1).
    """
    e = _check_energy(energy)
    lam_m = np.asarray(globals()["wavelength"](e) if wavelength is None else wavelength) * 1e-10
    gamma = 1.0 + e / ELECTRON_REST_ENERGY
    sigma = 2 * math.pi * gamma * ELECTRON_MASS * ELEMENTARY_CHARGE * lam_m / PLANCK**2  # rad/(V m)
    return _maybe_scalar(sigma * 1e-10)


def relativistic_mass(energy):
    """Relativistic electron mass γ m0 [kg] at ``energy`` [eV]."""
    return _maybe_scalar(np.asarray(relativistic_gamma(energy)) * ELECTRON_MASS)


def debye_waller_b_to_u2(b):
    """Mean-square displacement per Cartesian direction ⟨u²⟩ = B / (8π²) [Å²] from B [Å²]."""
    return np.asarray(b) / (8 * math.pi**2)


def debye_waller_u2_to_b(u2):
    """B = 8π² ⟨u²⟩ [Å²] from the mean-square displacement per direction ⟨u²⟩ [Å²]."""
    return np.asarray(validate.array(u2, "u2", kind="real", finite=False)) * (8 * math.pi**2)
