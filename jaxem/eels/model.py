"""Loss-function models and plasmon kinematics: Drude and Lorentz peaks, bulk and thin-film
dispersion, the electron–hole continuum, the characteristic momentum q_E.

Conventions: q is the angular wavenumber [1/Å] (q = 2π/d), energies [eV], times [fs], lengths [Å].

* Drude loss function (free-electron gas with damping Γ, plasmon energy E_p):
  L(E) = Im[−1/ε(E)] = E·Γ·E_p² / ((E² − E_p²)² + (E·Γ)²)  (Egerton, *EELS in the Electron
  Microscope*, 3rd ed., eq. 3.43). It obeys the f-sum rule ∫₀^∞ E·L(E) dE = (π/2)·E_p² for any Γ, and
  its causal response in time is exp(−Γt/2ħ)·sin(Ω t) with ħΩ = √(E_p² − Γ²/4): the amplitude decays
  in 2ħ/Γ (2.48 fs for Al, Γ = 0.53 eV) and oscillates with period 2πħ/E_p (0.276 fs at 15 eV).
* Lorentz peak: L(E) = (Γ/2)² / ((E − E₀)² + (Γ/2)²) (unit height, FWHM Γ).
* Bulk dispersion below the cut-off: E_p(q) = E_p(0) + α·(ħ²/m)·q²; group velocity v_g = (1/ħ)dE/dq
  = 2α(ħ/m)q [Å/fs]. RPA: α = (3/5)E_F/E_p (Al: 0.443).
* Free-standing film of thickness d, non-retarded coupled surface modes:
  E±(q) = (E_p/√2)·√(1 ± e^{−qd}) (Ritchie 1957; Raether, *Excitation of plasmons*, 1980).
* Upper edge of the electron–hole continuum (Lindhard): E_eh(q) = (ħ²/2m)(q² + 2q·k_F); the plasmon
  is Landau-damped where its dispersion meets this edge (the cut-off q_c; Al: ≈ 1.06 Å⁻¹ from this
  estimate, 1.3 Å⁻¹ measured, *Int. Tables Cryst.* C, Table 4.3.4.3).
* Characteristic momentum of an energy loss E for a fast electron: q_E = k₀·θ_E with k₀ = 2π/λ and
  θ_E = E/(γ m₀ v²) (100 kV, 15 eV: θ_E = 81.7 µrad, q_E = 0.0139 Å⁻¹).
"""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import physics, validate
from ..beam import as_beam

__all__ = ["HBAR", "HBAR2_OVER_M", "drude_loss", "lorentz_peak", "bulk_dispersion", "film_branches",
           "group_velocity", "continuum_edge", "continuum_cutoff", "characteristic_momentum",
           "free_electron_plasmon", "rpa_alpha", "kinematic_factor", "slit_kinematic_factor"]

#: ħ [eV·fs]
HBAR = physics.HBAR / physics.ELEMENTARY_CHARGE * 1e15
#: ħ²/m₀ [eV·Å²] (7.620)
HBAR2_OVER_M = physics.HBAR ** 2 / physics.ELECTRON_MASS / physics.ELEMENTARY_CHARGE * 1e20


def _real(value, name: str, units: str):
    """A real scalar or array argument of a model formula (tracers pass: the formulas run inside fits)."""
    return validate.array(value, name, kind="real", units=units)


def drude_loss(energy, plasmon_energy, gamma):
    """Drude loss function Im[−1/ε] (dimensionless) at ``energy`` [eV] for ``plasmon_energy`` E_p [eV] and
    damping ``gamma`` Γ [eV] (works on NumPy and JAX arrays; broadcasts)."""
    _real(energy, "energy", "eV"), _real(plasmon_energy, "plasmon_energy", "eV"), _real(gamma, "gamma", "eV")
    E, Ep, G = energy, plasmon_energy, gamma
    return E * G * Ep ** 2 / ((E ** 2 - Ep ** 2) ** 2 + (E * G) ** 2)


def lorentz_peak(energy, center, fwhm):
    """Lorentzian of unit height centred at ``center`` [eV] with full width ``fwhm`` [eV]."""
    _real(energy, "energy", "eV"), _real(center, "center", "eV"), _real(fwhm, "fwhm", "eV")
    h = fwhm / 2
    return h ** 2 / ((energy - center) ** 2 + h ** 2)


def bulk_dispersion(q, plasmon_energy, alpha):
    """E_p(q) = E_p(0) + α(ħ²/m)q² [eV] for q [1/Å]."""
    _real(q, "q", "1/Å"), _real(plasmon_energy, "plasmon_energy", "eV"), _real(alpha, "alpha", "")
    return plasmon_energy + alpha * HBAR2_OVER_M * q ** 2


def group_velocity(q, alpha):
    """v_g = (1/ħ)·dE/dq = 2α(ħ²/m)q/ħ [Å/fs] of the bulk dispersion at q [1/Å]."""
    _real(q, "q", "1/Å"), _real(alpha, "alpha", "")
    return 2 * alpha * HBAR2_OVER_M * q / HBAR


def film_branches(q, plasmon_energy, thickness):
    """(E₊, E₋) [eV] of the coupled surface modes of a free-standing film of ``thickness`` d [Å]
    (non-retarded): E± = (E_p/√2)·√(1 ± e^{−qd})."""
    _real(q, "q", "1/Å"), _real(plasmon_energy, "plasmon_energy", "eV"), _real(thickness, "thickness", "Å")
    xp = jnp if isinstance(q, jnp.ndarray) else np
    e = xp.exp(-xp.abs(q) * thickness)
    s = plasmon_energy / math.sqrt(2.0)
    return s * xp.sqrt(1 + e), s * xp.sqrt(1 - e)


def continuum_edge(q, fermi_wavevector):
    """Upper edge of the electron–hole continuum E_eh(q) = (ħ²/2m)(q² + 2q·k_F) [eV]."""
    _real(q, "q", "1/Å"), _real(fermi_wavevector, "fermi_wavevector", "1/Å")
    return 0.5 * HBAR2_OVER_M * (q ** 2 + 2 * q * fermi_wavevector)


def continuum_cutoff(plasmon_energy, alpha, fermi_wavevector) -> float:
    """The cut-off q_c [1/Å] where E_p(0) + α(ħ²/m)q² meets the continuum edge (ħ²/2m)(q² + 2q·k_F).

    Raises:
        InputError: the dispersion never meets the edge (α ≥ 1/2 with a low edge).
    """
    Ep = validate.scalar(plasmon_energy, "plasmon_energy", "eV", positive=True)
    a = validate.scalar(alpha, "alpha", "")
    kF = validate.scalar(fermi_wavevector, "fermi_wavevector", "1/Å", positive=True)
    c2 = HBAR2_OVER_M * (0.5 - a)          # (ħ²/m)(1/2 − α) q² + (ħ²/m) k_F q − E_p = 0
    c1 = HBAR2_OVER_M * kF
    if abs(c2) < 1e-12:
        return Ep / c1
    disc = c1 ** 2 + 4 * c2 * Ep
    roots = [] if disc < 0 else [(-c1 + s * math.sqrt(disc)) / (2 * c2) for s in (1, -1)]
    roots = sorted(r for r in roots if r > 0)
    if not roots:
        raise validate.InputError(f"the dispersion E_p = {Ep:g} eV, alpha = {a:g} never meets the continuum edge "
                                  f"for k_F = {kF:g} 1/Å")
    return float(roots[0])


def free_electron_plasmon(density) -> tuple[float, float, float]:
    """(E_p [eV], E_F [eV], k_F [1/Å]) of a free-electron gas of ``density`` [electrons/Å³]
    (Al: 0.1807 → 15.785, 11.655, 1.749)."""
    n = validate.scalar(density, "density", "1/Å³", positive=True) * 1e30
    wp = math.sqrt(n * physics.ELEMENTARY_CHARGE ** 2 / (physics.VACUUM_PERMITTIVITY * physics.ELECTRON_MASS))
    kF = (3 * math.pi ** 2 * n) ** (1 / 3)
    EF = physics.HBAR ** 2 * kF ** 2 / (2 * physics.ELECTRON_MASS) / physics.ELEMENTARY_CHARGE
    return physics.HBAR * wp / physics.ELEMENTARY_CHARGE, EF, kF * 1e-10


def rpa_alpha(plasmon_energy, fermi_energy) -> float:
    """RPA dispersion coefficient α = (3/5)·E_F/E_p (Al: 0.443)."""
    return 0.6 * validate.scalar(fermi_energy, "fermi_energy", "eV", positive=True) / validate.scalar(
        plasmon_energy, "plasmon_energy", "eV", positive=True)


def characteristic_momentum(energy, beam):
    """q_E = (2π/λ)·E/(γ m₀ v²) [1/Å] for energy loss ``energy`` [eV] (array or scalar) and ``beam``
    (a :class:`~jaxem.beam.Beam` or an energy such as ``"100 kV"``)."""
    b = as_beam(beam)
    _real(energy, "energy", "eV")
    beta2 = 1.0 - 1.0 / b.gamma ** 2
    gmv2 = b.gamma * physics.ELECTRON_REST_ENERGY * beta2           # γ m₀ v² [eV]
    return (2 * math.pi / b.wavelength) * np.abs(np.asarray(energy, float)) / gmv2


def kinematic_factor(q, q_e):
    """Coulomb (kinematic) factor 1/(q² + q_E²) [Å²] of a point aperture at in-plane momentum q [1/Å]."""
    _real(q, "q", "1/Å"), _real(q_e, "q_e", "1/Å")
    return 1.0 / (q ** 2 + q_e ** 2)


def slit_kinematic_factor(q, q_e, width):
    """Coulomb factor integrated across a slit of full ``width`` w [1/Å] perpendicular to q:
    ∫_{−w/2}^{w/2} dq_y / (q² + q_y² + q_E²) = (2/Q)·arctan(w/(2Q)), Q = √(q² + q_E²) [Å]. Tends to
    w/(q² + q_E²) for a narrow slit."""
    _real(q, "q", "1/Å"), _real(q_e, "q_e", "1/Å"), _real(width, "width", "1/Å")
    Q = np.sqrt(np.asarray(q, float) ** 2 + np.asarray(q_e, float) ** 2)
    return 2.0 / Q * np.arctan(width / (2.0 * Q))
