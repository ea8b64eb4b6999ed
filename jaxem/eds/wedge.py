"""The ZnO wedge study: Cliff–Lorimer vs ζ-factor quantification across a thickness wedge.

Reproduces the setting of Aubourg & Falke (Bruker application note, "Elemental quantification of
a STEM sample with varying thickness"): a wedge-shaped ZnO lamella (Zn:O = 50:50 at.%), 200 kV,
a line profile from 0 to ``t_max_nm``, take-off angle 20–25°. Counts follow the ζ-factor forward
model with absorption (:mod:`jaxem.eds.synthetic`) with Poisson noise; the profile is quantified by

* **CL, standard-based**: k-factors fitted on a thin standard region (``k_standard_nm``) of known
  composition, no absorption correction (the usual practice);
* **CL, standardless**: theoretical k-factors (:mod:`jaxem.eds.cross_section`);
* **CL + absorption correction** with the true thickness and the phase density (for reference);
* **ζ-factor + absorption correction**: ζ determined on a standard of known thickness
  (``zeta_standard_nm``, absorption-corrected), then ρt and composition per pixel; thickness
  from ρt and the phase density.

The "true" instrument ζ-factors default to ζ_O = 163, ζ_Zn = 228 kg/m² (order-of-magnitude
Bethe estimates for Ω ≈ 0.7 sr), i.e. the thin-film count ratio I_O/I_Zn ≈ 0.34. ``table_true`` /
``toa_true`` generate the data, ``table`` / ``toa`` are what the analyst assumes, so that the
sensitivity to the take-off angle and to the attenuation table can be studied.
"""
from __future__ import annotations

import jax
import numpy as np

from .. import validate

from . import cliff_lorimer as _cl
from . import cross_section as _cs
from . import data as _data
from . import synthetic as _syn
from . import zeta as _zeta


def zno_wedge(seed: int = 0, n_points: int = 61, t_max_nm: float = 300.0, *, toa_true: float = 22.0,
              toa: float | None = None, table_true: str = "chantler", table: str = "chantler",
              lines=("O_Ka", "Zn_Ka"), zeta_true=(163.0, 228.0), beam_current_nA: float = 1.0,
              live_time_s: float = 1.0, beam_energy: float = 200e3, k_standard_nm: float = 10.0,
              zeta_standard_nm: float = 50.0, noise: bool = True) -> dict:
    """Simulate and quantify the wedge; returns a dict of NumPy arrays.

    Keys: ``thickness_nm`` (true), ``counts`` (n_points, 2), ``o_at`` dict method → O at.%
    (``"CL standard"``, ``"CL standardless"``, ``"CL + AC (true t)"``, ``"zeta + AC"``),
    ``o_sigma`` (ζ 1σ at.%), ``thickness_zeta_nm``, ``status``, ``iterations``, ``k_standard``,
    ``k_theory``, ``zeta_fit``.

    Args:
        seed: PRNG seed (``jax.random.PRNGKey``).
        n_points, t_max_nm: wedge profile, thickness 0 … t_max [nm].
        toa_true, toa: take-off angle [deg] used to generate / assumed in the analysis.
        table_true, table: attenuation tables (``"chantler"``/``"elam"``) likewise.
        lines: (O line, Zn line).
        zeta_true: instrument ζ [kg/m²].
        beam_current_nA, live_time_s: per-pixel dose.
        beam_energy: [eV].
        k_standard_nm, zeta_standard_nm: thickness of the standards [nm].
        noise: Poisson noise on/off.
    """
    seed = validate.integer(seed, "seed", lo=0)
    k_standard_nm = validate.scalar(k_standard_nm, "k_standard_nm", "nm", positive=True)
    zeta_standard_nm = validate.scalar(zeta_standard_nm, "zeta_standard_nm", "nm", positive=True)
    toa = toa_true if toa is None else toa
    if isinstance(lines, str) or len(lines) != 2:
        raise validate.InputError(f"lines must be (O line, Zn line), got {lines!r}")
    lines = list(lines)
    els = [l.split("_")[0] for l in lines]
    aw = _data.atomic_weights(els)
    w = _data.formula_weight_fractions("ZnO", els)
    rho = _data.phase_density("ZnO")
    mac_true = _data.mac_matrix(lines, els, table_true)
    mac = _data.mac_matrix(lines, els, table)
    zt = np.asarray(zeta_true, float)
    dose = float(_zeta.electron_dose(beam_current_nA, live_time_s))
    key = jax.random.PRNGKey(seed)
    k1, k2, k3 = jax.random.split(key, 3)

    def counts(t, k):
        lam = _syn.expected_counts(w, rho * np.asarray(t, np.float64) * 1e-7, dose, zt, mac_true, toa_true)
        return np.asarray(_syn.poisson_counts(k, lam) if noise else lam)

    t = _syn.wedge(n_points, t_max_nm)
    I = counts(t, k1)
    # standards (16 pixels each) measured with the same instrument
    i_kstd = counts(np.full(16, k_standard_nm), k2)
    i_zstd = counts(np.full(16, zeta_standard_nm), k3)
    k_std, _ = _cl.fit_k_factors(i_kstd, w, reference=1)
    k_th = _cs.theoretical_k_factors(lines, beam_energy, reference=1)
    z_fit, _ = _zeta.zeta_from_standard(i_zstd, w, rho * zeta_standard_nm * 1e-7, dose, mac=mac,
                                        take_off_deg=toa)
    o = {}
    o["CL standard"] = _cl.cliff_lorimer_quantification(I, k_std, aw).atomic_fractions
    o["CL standardless"] = _cl.cliff_lorimer_quantification(I, k_th, aw).atomic_fractions
    o["CL + AC (true t)"] = _cl.cliff_lorimer_quantification(I, k_std, aw, mass_thickness=rho * t * 1e-7, mac=mac,
                                              take_off_deg=toa).atomic_fractions
    rz = _zeta.zeta_factor(I, z_fit, dose, aw, mac=mac, take_off_deg=toa)
    o["zeta + AC"] = rz.atomic_fractions
    return {
        "thickness_nm": t,
        "counts": I,
        "o_at": {m: 100 * np.asarray(v)[:, 0] for m, v in o.items()},
        "o_sigma": 100 * np.asarray(rz.atomic_sigma)[:, 0],
        "thickness_zeta_nm": np.asarray(rz.thickness_nm(rho)),
        "status": np.asarray(rz.status),
        "iterations": np.asarray(rz.iterations),
        "k_standard": k_std,
        "k_theory": k_th,
        "zeta_fit": z_fit,
    }
