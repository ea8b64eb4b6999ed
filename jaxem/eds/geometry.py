"""EDS detector geometry and efficiency: take-off angle, solid angle, window/dead-layer model.

**Take-off angle** (TOA) α: the angle between the specimen surface and the direction from the
analysed point to the detector centre. Frame: beam along −z, untilted specimen surface normal
+z, α-tilt rod along y. With unit vectors, the detector direction is
``d = (cos ε cos φ, cos ε sin φ, sin ε)`` for elevation ε (above the untilted specimen plane) and
azimuth φ (0 = perpendicular to the α-tilt axis, towards the detector side); the specimen normal
after a β tilt (about x, carried by the α rod) and an α tilt (about y, positive = specimen facing
the detector) is ``n = (sin α cos β, sin β, cos α cos β)``; then ``TOA = 90° − arccos(n · d)`` = arcsin(n · d). With no
tilt, TOA = elevation.

**Solid angle** of a circular detector of active area A [mm²] at distance D [mm] from the
specimen, on axis: Ω = 2π (1 − D/√(D² + A/π)) [sr]; the small-detector limit is A/D².

**Detector efficiency**: ε(E) = Π_layers exp(−(μ/ρ)_layer(E) ρ_layer d_layer) ×
[1 − exp(−(μ/ρ)_Si(E) ρ_Si d_Si)] — transmission through the window, contacts, dead layer and
contamination, times absorption in the active Si crystal of thickness d_Si (Goldstein et al.,
*Scanning Electron Microscopy and X-ray Microanalysis*, 4th ed., ch. 16). Layers are
``(formula, thickness [nm], density [g/cm³])``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import validate
from . import data as _data

#: a typical windowless-like SDD (Super-X style): 40 nm Al light trap on a thin polymer
#: (C8H8, 100 nm), 30 nm Si dead layer, 0.45 mm Si crystal.
DEFAULT_LAYERS = (("C8H8", 100.0, 1.05), ("Al", 40.0, 2.70), ("Si", 30.0, 2.329))
DEFAULT_CRYSTAL_NM = 450e3


def _finite(name, x, units="deg", **checks):
    """A finite scalar or array argument as float64 (strings with units parsed for scalars)."""
    if isinstance(x, str) or np.ndim(x) == 0:
        return np.asarray(validate.scalar(x, name, units, **checks))
    validate.array(x, name, kind="real", units=units, nonnegative=checks.get("nonnegative", False))
    a = np.asarray(x, dtype=float)
    if checks.get("positive") and np.any(a <= 0):
        raise validate.InputError(f"{name} must be > 0 [{units}], got a minimum of {a.min():g}")
    return a


def take_off_angle_deg(elevation_deg, azimuth_deg=0.0, tilt_alpha_deg=0.0, tilt_beta_deg=0.0):
    """Take-off angle [deg] from detector elevation and azimuth and stage α/β tilts [deg].

    Args:
        elevation_deg: detector elevation above the untilted specimen plane [deg], in (−90, 90).
        azimuth_deg: detector azimuth [deg]; 0 = perpendicular to the α-tilt axis.
        tilt_alpha_deg: stage α tilt [deg]; positive tilts the specimen towards the detector.
        tilt_beta_deg: stage β tilt [deg]; positive faces the specimen towards azimuth +90°.

    Returns:
        take-off angle [deg] (NumPy scalar/array, broadcast over the inputs); ≤ 0 when the detector
        does not see the specimen surface (the quantification functions reject such an angle).
    """
    el = _finite("elevation_deg", elevation_deg)
    if np.any(np.abs(el) >= 90):
        raise validate.InputError(f"elevation_deg must be in (-90, 90) deg, got {elevation_deg}")
    az = np.radians(_finite("azimuth_deg", azimuth_deg))
    a = np.radians(_finite("tilt_alpha_deg", tilt_alpha_deg))
    b = np.radians(_finite("tilt_beta_deg", tilt_beta_deg))
    if np.any(np.abs(np.degrees(a)) >= 90) or np.any(np.abs(np.degrees(b)) >= 90):
        raise validate.InputError(f"tilt_alpha_deg and tilt_beta_deg must be in (-90, 90) deg, got "
                                  f"{tilt_alpha_deg}, {tilt_beta_deg}")
    e = np.radians(el)
    d = np.stack(np.broadcast_arrays(np.cos(e) * np.cos(az), np.cos(e) * np.sin(az), np.sin(e)), -1)
    # specimen normal: the β cradle rides on the α rod, n = R_y(α) R_x(−β) ẑ
    n = np.stack(np.broadcast_arrays(np.sin(a) * np.cos(b), np.sin(b), np.cos(a) * np.cos(b)), -1)
    cosang = np.clip(np.sum(n * d, axis=-1), -1.0, 1.0)
    return 90.0 - np.degrees(np.arccos(cosang))


def solid_angle(area_mm2, distance_mm) -> float:
    """Solid angle [sr] of a circular detector of area [mm²] at a distance [mm], on axis."""
    a = _finite("area_mm2", area_mm2, "mm²", positive=True)
    d = _finite("distance_mm", distance_mm, "mm", positive=True)
    r2 = a / math.pi
    return 2 * math.pi * (1 - d / np.sqrt(d * d + r2))


def detector_efficiency(energy, layers=DEFAULT_LAYERS, crystal_thickness_nm=DEFAULT_CRYSTAL_NM,
                        table: str = "chantler"):
    """Detection efficiency ε(E) (0..1, NumPy float64) of an energy-dispersive Si detector.

    Args:
        energy: photon energy [keV] (0.1–30), any shape.
        layers: sequence of ``(formula, thickness [nm], density [g/cm³])`` in front of the
            active crystal (window, contacts, dead layer, ice…).
        crystal_thickness_nm: active Si thickness [nm] (``None`` or ``inf``: full absorption).
        table: mass attenuation table (``"chantler"`` or ``"elam"``).
    """
    _data._check_energy(energy)
    e = np.asarray(energy, dtype=np.float64)
    validate.choice(table, "table", _data.TABLES)
    eff = np.ones_like(e)
    for layer in layers:
        try:
            formula, t_nm, rho = layer
        except (TypeError, ValueError):
            raise validate.InputError(f"layers: each layer must be (formula, thickness_nm, density), got {layer!r}") from None
        validate.scalar(t_nm, f"layers: thickness of {formula!r}", "nm", nonnegative=True)
        _data.check_density(rho, f"layers: density of {formula!r}")
        w = _data.formula_weight_fractions(formula)
        mu = sum(wj * _data.mass_attenuation_np(s, e, table) for s, wj in w.items())
        eff = eff * np.exp(-mu * rho * t_nm * 1e-7)
    if crystal_thickness_nm is not None and not (np.ndim(crystal_thickness_nm) == 0
                                                 and np.isposinf(np.asarray(crystal_thickness_nm, float))):
        crystal_thickness_nm = validate.scalar(crystal_thickness_nm, "crystal_thickness_nm", "nm", positive=True)
        mu_si = _data.mass_attenuation_np("Si", e, table)
        eff = eff * -np.expm1(-mu_si * 2.329 * crystal_thickness_nm * 1e-7)
    return eff
