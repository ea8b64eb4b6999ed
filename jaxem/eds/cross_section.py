"""Ionisation cross sections and standardless (theoretical) k- and ζ-factors.

**Ionisation** of a shell with edge energy E_c [keV] by an electron of kinetic energy E₀: the
relativistic Bethe form (Bethe 1930; relativistic terms as used for AEM by N. J. Zaluzec, in
*Introduction to Analytical Electron Microscopy*, Plenum 1979, and D. B. Williams & C. B. Carter,
*Transmission Electron Microscopy*, 2nd ed., Springer 2009, ch. 35)

    Q = π e⁴ n_s b_s / (E_c T) · [ln(c_s T / E_c) − ln(1 − β²) − β²]   [cm²],

with T = m₀c²β²/2 [keV], β = v/c, π e⁴ = 6.5141×10⁻²⁰ keV² cm² (computed from CODATA), n_s the
number of electrons in the shell (K 2, L1 2, L2 2, L3 4, M4 4, M5 6) and the Bethe constants of
C. J. Powell, Rev. Mod. Phys. 48, 33 (1976): b_K = 0.9, c_K = 0.65. The same (b, c) are used for
L and M shells unless given (an approximation; L/M k-factors are correspondingly less certain —
measure them on a standard). As β → 0 the formula reduces to Powell's
Q = 6.51×10⁻²⁰ n b ln(cU)/(U E_c²) with U = E₀/E_c.

**X-ray production**: vacancies in shell L3 include Coster–Kronig transfers,
n_L3 = Q_L3 + f₂₃ Q_L2 + (f₁₃ + f₁₂ f₂₃) Q_L1, n_L2 = Q_L2 + f₁₂ Q_L1; then
σ_x(line) = n_shell · ω_shell · a_line with the fluorescence yield ω and the line's share a of the
shell's radiative decays (data: :mod:`jaxem.eds.data`).

**ζ- and k-factors** (Watanabe & Williams 2006; weight basis):
ζ_A = A_A / (N_A σ_x,A (Ω/4π) ε_A)  [kg/m²] with A in kg/mol, σ in m², detector solid angle Ω
[sr] and efficiency ε(E_A) (:func:`jaxem.eds.geometry.detector_efficiency`);
k_A = ζ_A / ζ_ref.
"""
from __future__ import annotations

import math

import numpy as np

from .. import validate
from ..beam import MAX_ENERGY, MIN_ENERGY
from ..physics import COULOMB, ELECTRON_REST_ENERGY
from . import data as _data
from .geometry import DEFAULT_CRYSTAL_NM, DEFAULT_LAYERS, detector_efficiency

#: π e⁴ [keV² cm²] = π (e²/4πε₀)²
PI_E4 = math.pi * (COULOMB * 1e-3 * 1e-8) ** 2
AVOGADRO = 6.02214076e23
SHELL_ELECTRONS = {"K": 2, "L1": 2, "L2": 2, "L3": 4, "M4": 4, "M5": 6}
POWELL_BC = (0.9, 0.65)


def _beam_energy(beam_energy):
    """E₀ [eV] in [MIN_ENERGY, MAX_ENERGY] = [1 keV, 100 MeV] (scalar, array, or a string such as
    '200 kV') as float64. A beam below 1 keV excites no analytical X-ray line above 1 keV and is
    almost always kV written as eV (300 for 300 kV), as for :class:`jaxem.Beam`."""
    if isinstance(beam_energy, str) or np.ndim(beam_energy) == 0:
        e0 = np.asarray(validate.scalar(beam_energy, "beam_energy", "eV", positive=True))
    else:
        validate.array(beam_energy, "beam_energy", kind="real", units="eV")
        e0 = np.asarray(beam_energy, float)
    if e0.size and (e0.min() < MIN_ENERGY or e0.max() > MAX_ENERGY):
        lo = float(e0.min())
        hint = f" (did you mean {lo:g} kV = {lo * 1e3:g} eV, written \"{lo:g} kV\"?)" if 0 < lo < MIN_ENERGY else ""
        raise validate.InputError(f"beam_energy must be in [{MIN_ENERGY:g}, {MAX_ENERGY:g}] eV, got "
                                  f"{lo:g}…{float(e0.max()):g} eV{hint}")
    return e0


def ionization_cross_section(symbol: str, shell: str, beam_energy, b: float | None = None,
                             c: float | None = None):
    """Relativistic Bethe ionisation cross section of one shell [barn] (1 barn = 10⁻²⁴ cm²).

    Args:
        symbol: element.
        shell: ``"K"``, ``"L1"``, ``"L2"``, ``"L3"``, ``"M4"`` or ``"M5"``.
        beam_energy: electron kinetic energy E₀ [eV] (scalar or array), > 0.
        b, c: Bethe constants (default Powell 1976 K-shell values 0.9, 0.65).
    """
    validate.choice(shell, "shell", sorted(SHELL_ELECTRONS))
    e0 = _beam_energy(beam_energy)
    ec = _data.edge_energy(symbol, shell)  # keV
    b = POWELL_BC[0] if b is None else validate.scalar(b, "b", positive=True)
    c = POWELL_BC[1] if c is None else validate.scalar(c, "c", positive=True)
    gamma = 1 + e0 / ELECTRON_REST_ENERGY
    beta2 = 1 - 1 / gamma**2
    t = ELECTRON_REST_ENERGY * 1e-3 * beta2 / 2  # keV
    bracket = np.log(c * t / ec) - np.log(1 - beta2) - beta2
    q = PI_E4 * SHELL_ELECTRONS[shell] * b / (ec * t) * bracket
    return np.where((e0 * 1e-3 > ec) & (bracket > 0), q, 0.0) * 1e24


def vacancy_cross_section(symbol: str, shell: str, beam_energy, **bc):
    """Vacancy production in a shell including L-shell Coster–Kronig transfers [barn]."""
    q = lambda s: ionization_cross_section(symbol, s, beam_energy, **bc)  # noqa: E731
    ck = _data.element(symbol)["coster_kronig"]
    if shell == "L3":
        return q("L3") + ck["f_L2L3"] * q("L2") + (ck["f_L1L3"] + ck["f_L1L2"] * ck["f_L2L3"]) * q("L1")
    if shell == "L2":
        return q("L2") + ck["f_L1L2"] * q("L1")
    return q(shell)


def xray_production_cross_section(line: str, beam_energy, **bc):
    """σ_x = n_vacancy · ω · a for an X-ray line family [barn] at beam energy [eV]."""
    sym, _ = _data.parse_line(line)
    info = _data.line_info(line)
    shell = info["shell"]
    return (vacancy_cross_section(sym, shell, beam_energy, **bc)
            * _data.fluorescence_yield(sym, shell) * info["weight"])


def theoretical_zeta_factors(lines, beam_energy, solid_angle_sr: float = 0.7,
                             layers=DEFAULT_LAYERS, crystal_thickness_nm=DEFAULT_CRYSTAL_NM,
                             table: str = "chantler", **bc) -> np.ndarray:
    """Standardless ζ-factors [kg/m²] of X-ray lines.

    Args:
        lines: X-ray line names, e.g. ``["O_Ka", "Zn_Ka"]``.
        beam_energy: E₀ [eV].
        solid_angle_sr: detector solid angle Ω [sr].
        layers, crystal_thickness_nm, table: detector model (:func:`detector_efficiency`).
    """
    solid_angle_sr = validate.scalar(solid_angle_sr, "solid_angle_sr", "sr", positive=True, hi=4 * math.pi)
    beam_energy = float(_beam_energy(beam_energy))
    if isinstance(lines, str):
        raise validate.InputTypeError(f"lines must be a sequence of X-ray line names, got {lines!r}")
    _data.check_unique(lines, "lines")
    out = []
    for line in lines:
        sym, _ = _data.parse_line(line)
        sig = float(xray_production_cross_section(line, beam_energy, **bc))
        if sig <= 0:
            raise validate.InputError(f"line {line} is not excited at beam_energy={beam_energy:g} eV")
        eps = float(detector_efficiency(np.float64(_data.line_energy(line)), layers,
                                        crystal_thickness_nm, table))
        out.append(_data.atomic_weight(sym) * 1e-3 / (AVOGADRO * sig * 1e-28
                                                      * solid_angle_sr / (4 * math.pi) * eps))
    return np.array(out)


def theoretical_k_factors(lines, beam_energy, reference: int = 0, **kwargs) -> np.ndarray:
    """Standardless weight-based k-factors k_i = ζ_i/ζ_reference (see :func:`theoretical_zeta_factors`)."""
    z = theoretical_zeta_factors(lines, beam_energy, **kwargs)
    return z / z[validate.integer(reference, "reference", lo=0, hi=len(z) - 1)]
