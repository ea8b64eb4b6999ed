"""Generate jaxem's X-ray data files from the MIT-licensed ``xraydb`` package.

Writes (atomically) two JSON files into ``jaxem/data/``:

* ``xray_lines.json``: per element Z = 1..92: symbol, atomic weight [g/mol], elemental density
  [g/cm³] (solid elements only; gases flagged), absorption edges (energy [keV], fluorescence yield),
  L-shell Coster–Kronig probabilities, and EDS line families (``Ka``, ``Kb``, ``La``, ``Lb1``,
  ``Lb2``, ``Lg1``, ``Ll``, ``Ln``, ``Lb3``, ``Lb4``, ``Ma``, ``Mb``): intensity-weighted energy
  [keV], the shell whose vacancy emits it, and its relative weight within that shell (radiative
  branching ratio).
* ``mass_attenuation.json``: mass attenuation coefficients μ/ρ [cm²/g] per element on an energy
  grid [keV] = a common logarithmic grid 0.1–30 keV (250 points) united with the tabulated points
  near every absorption edge, for two tables: ``chantler`` (FFAST, C. T. Chantler et al., NIST SRD
  66, doi:10.18434/T4HS32) and ``elam`` (W. T. Elam, B. D. Ravel, J. R. Sieber, Radiat. Phys.
  Chem. 63, 121 (2002)). jaxem interpolates log–log between grid points.

Sources: xraydb (M. Newville, https://github.com/xraypy/XrayDB, MIT licence), which bundles the
Elam et al. (2002) line/edge/yield tables, the Chantler (FFAST) attenuation tables and the
Krause (1979) / Elam Coster–Kronig probabilities.

Line energies are *measured* emission energies, not Elam's edge differences (which are off by up to
tens of eV and put e.g. Au Mα = 2.1184 keV below the Pt M5 edge, 2.122 keV, while the measured
Au Mα₁ = 2.1229 keV lies above it). Each component line of a family (Elam's radiative-rate
weighted list) takes the measured wavelength of J. A. Bearden, Rev. Mod. Phys. 39, 78 (1967),
doi:10.1103/RevModPhys.39.78, from the JEOL wavelength table shipped in pyxray (P. Pinard, MIT
licence; ``pyxray/data/lambda.asc``; it reproduces Bearden's values to the 3–5 digits it lists, as
tests/eds/test_line_energies.py checks), converted with Bearden's own factor E = 12.39852 keV·Å*/λ.
A component that is a blend of sub-levels in Elam's table (e.g. Mα = M5–N6,7, Lβ2,15 = L3–N4,5)
is split over its sub-lines with the radiative rates of xraylib (T. Schoonjans et al., BSD
licence; ``RadRate``), e.g. Au Mα₁ : Mα₂ = 0.863 : 0.059. A sub-line the table lists only within
an unresolved doublet (Kα₁,₂ of Be–Mg, Lα₁,₂ of Ti–Kr, Kβ₁,₃, Mα of Yb–Hf) takes the doublet's
measured centroid. A component with no measured value at all keeps Elam's energy, and so do the M
lines of La–Tm (open 4f shell: the table's values there are not Bearden's, its Mα of Tb–Tm lies
6–8 eV above Bearden's). The family weights (``weight``) are Elam's, unchanged. ``measured``
records the fraction of a family's weight with a measured energy, ``elam_energy`` Elam's value.

Usage: ``python tools/make_xray_data.py`` (xraydb, pyxray and xraylib are generator/test-time
dependencies only).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

FAMILIES = {  # family -> (initial shell, xraydb line-name prefixes)
    "Ka": ("K", ("Ka",)),
    "Kb": ("K", ("Kb",)),
    "La": ("L3", ("La",)),
    "Lb2": ("L3", ("Lb2",)),
    "Ll": ("L3", ("Ll",)),
    "Lb1": ("L2", ("Lb1",)),
    "Lg1": ("L2", ("Lg1",)),
    "Ln": ("L2", ("Ln",)),
    "Lb3": ("L1", ("Lb3",)),
    "Lb4": ("L1", ("Lb4",)),
    "Ma": ("M5", ("Ma",)),
    "Mb": ("M4", ("Mb",)),
}
SHELLS = ("K", "L1", "L2", "L3", "M4", "M5")
E_MIN, E_MAX, N_GRID = 0.1, 30.0, 250  # keV
GASES = {"H", "He", "N", "O", "F", "Ne", "Cl", "Ar", "Kr", "Xe", "Rn"}


def _sig(x, n=6):
    return float(f"{x:.{n}g}")


def lines_for(el, xraydb):
    out = {}
    for fam, (shell, prefixes) in FAMILIES.items():
        try:
            lines = xraydb.xray_lines(el, shell)
        except Exception:
            continue
        sel = [v for k, v in lines.items() if k.startswith(prefixes) and v.intensity > 0]
        if fam == "Lb2":
            sel = [v for k, v in lines.items() if k.startswith("Lb2") and v.intensity > 0]
        if fam == "Kb":
            sel = [v for k, v in lines.items() if k.startswith("Kb") and v.intensity > 0]
        w = sum(v.intensity for v in sel)
        if not sel or w <= 0:
            continue
        e = sum(v.energy * v.intensity for v in sel) / w / 1e3
        meas = [measured_energy_ev(el, v) for v in sel]
        e_meas = sum((m if m is not None else v.energy) * v.intensity for m, v in zip(meas, sel)) / w / 1e3
        frac = sum(v.intensity for m, v in zip(meas, sel) if m is not None) / w
        if e < 0.05:
            continue
        edge = xraydb.xray_edge(el, shell)
        if edge is not None and e >= edge.energy / 1e3 * (1 - 1e-6) and xraydb.atomic_number(el) < 57:
            # energy = edge energy: the final level has zero binding energy, i.e. it is empty (Elam's
            # M5-N6,7 / M4-N6 "lines" of Sb-Ba, whose 4f shell is unoccupied): no such line is emitted.
            # Measured Malpha lines start at La (J. A. Bearden, Rev. Mod. Phys. 39, 78 (1967)), which is kept.
            continue
        out[fam] = {"energy": _sig(e_meas), "shell": shell, "weight": _sig(w, 5), "measured": _sig(frac, 3),
                    "elam_energy": _sig(e)}
    return out


#: Bearden's (1967) conversion factor [keV·Å*]: E = 12.39852 / λ
BEARDEN_KEV_ANGSTROM = 12.39852


def _sublevels(level: str) -> list[str]:
    """Elam's blended final level ``"N6,7"`` → ``["N6", "N7"]``; ``"M5"`` → ``["M5"]``."""
    head, *rest = level.split(",")
    return [head] + [head.rstrip("0123456789") + r for r in rest]


#: measured blends (unresolved doublets) in the JEOL table: (initial level, final sub-levels, pyxray name);
#: a sub-line without its own measured value takes the measured centroid of the blend that contains it
BLENDS = (("K", ("L2", "L3"), "Ka"), ("K", ("M2", "M3"), "Kb1_3"), ("L3", ("M4", "M5"), "La"),
          ("L3", ("N4", "N5"), "Lb2_15"), ("M5", ("N6", "N7"), "Ma"))


#: La–Tm (open 4f shell): the table's M lines are not Bearden's (its Mα of Tb–Tm is 6–8 eV above
#: Bearden's 1240–1462 eV, its Mβ of Pr and Nd above Elam's M4 edges): their M lines keep Elam's energies
OPEN_4F = (57, 69)


def _jeol_ev(z, transition) -> float | None:
    """Bearden's (1967) measured energy [eV] of a transition (IUPAC string or pyxray set) from the
    JEOL wavelength table in pyxray, converted with Bearden's factor; None if it is not listed."""
    import pyxray
    import pyxray.util

    hc_pyxray = pyxray.util.h_eVs * pyxray.util.c * 1e10  # [eV·Å] that pyxray used to turn λ into E
    try:
        e_py = pyxray.xray_transition_energy_eV(z, transition, reference="JEOL")
    except pyxray.NotFound:
        return None
    return e_py * (BEARDEN_KEV_ANGSTROM * 1e3 / hc_pyxray)


def measured_energy_ev(el, line) -> float | None:
    """Measured energy [eV] of an Elam component line: each sub-line of its (possibly blended) final
    level at its own measured energy, else at the measured centroid of the blend that contains it,
    weighted with xraylib's radiative rates; None if a sub-line carrying weight has neither."""
    import pyxray
    import pyxray.parser.base as pb
    import xraylib

    z = pyxray.element_atomic_number(el)
    if line.initial_level.startswith("M") and OPEN_4F[0] <= z <= OPEN_4F[1]:
        return None
    num = den = 0.0
    subs = _sublevels(line.final_level)
    for f in subs:
        try:
            rate = xraylib.RadRate(z, getattr(xraylib, f"{line.initial_level}{f}_LINE"))
        except (ValueError, AttributeError):
            rate = 0.0 if len(subs) > 1 else 1.0
        if rate <= 0:
            continue
        e = _jeol_ev(z, f"{line.initial_level}-{f}")
        if e is None:
            e = next((b for b in (_jeol_ev(z, getattr(pb, name)) for ini, fins, name in BLENDS
                                  if ini == line.initial_level and f in fins) if b is not None), None)
        if e is None:
            return None
        num += rate * e
        den += rate
    return num / den if den > 0 else None


def mu_grid(el, table, xraydb):
    grid = np.geomspace(E_MIN, E_MAX, N_GRID)
    extra = []
    if table == "chantler":
        native = np.asarray(xraydb.chantler_energies(el)) / 1e3
        for edge in xraydb.xray_edges(el).values():
            ee = edge.energy / 1e3
            if E_MIN < ee < E_MAX:
                extra.append(native[(native > ee * 0.97) & (native < ee * 1.03)])
        e = np.unique(np.concatenate([grid, *extra]))
        mu = np.asarray(xraydb.mu_chantler(el, e * 1e3), dtype=float)
    else:
        for edge in xraydb.xray_edges(el).values():
            ee = edge.energy / 1e3
            if E_MIN < ee < E_MAX:
                extra.append([ee * (1 - 1e-6), ee * (1 + 1e-6)])
                extra.append(ee * np.geomspace(0.97, 1.03, 41))
        e = np.unique(np.concatenate([grid, *[np.asarray(x) for x in extra]]))
        mu = np.asarray(xraydb.mu_elam(el, e * 1e3), dtype=float)
    keep = mu > 0
    return [_sig(v, 7) for v in e[keep]], [_sig(v, 6) for v in mu[keep]]


def main(out_dir: Path) -> None:
    from importlib.metadata import version as dist_version

    import xraydb

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from jaxem.io import atomic_write_text

    version = xraydb.get_xraydb().get_version().strip()
    prov = {
        "generator": "tools/make_xray_data.py",
        "source": "xraydb (M. Newville, MIT licence) " + version.replace("\n", "; "),
        "tables": {
            "edges, fluorescence yields, Coster-Kronig, line families and weights": "W. T. Elam, B. D. Ravel, "
            "J. R. Sieber, Radiat. Phys. Chem. 63, 121 (2002), as bundled in xraydb",
            "line energies (energy)": "measured: J. A. Bearden, Rev. Mod. Phys. 39, 78 (1967) wavelengths from the "
            "JEOL table in pyxray " + dist_version("pyxray") + " (MIT), E = 12.39852 keV A*/lambda; blended final "
            "levels split with xraylib " + dist_version("xraylib") + " (BSD) radiative rates; components without a "
            "measured value, and the M lines of La-Tm (open 4f), keep Elam's edge-difference energy (elam_energy: "
            "Elam's family energy; "
            "measured: weight fraction of the family with a measured energy)",
            "atomic weights, densities": "xraydb element table (IUPAC atomic weights; densities at room "
            "temperature, CRC Handbook)",
        },
        "units": {"energy": "keV", "atomic_weight": "g/mol", "density": "g/cm^3"},
    }
    elements = {}
    for z in range(1, 93):
        el = xraydb.atomic_symbol(z)
        edges = {}
        for shell in SHELLS:
            try:
                ed = xraydb.xray_edge(el, shell)
            except Exception:
                ed = None
            if ed is not None and ed.energy > 0:
                edges[shell] = {"energy": _sig(ed.energy / 1e3), "fluorescence_yield": _sig(ed.fyield, 5)}
        ck = {}
        for a, b in (("L1", "L2"), ("L1", "L3"), ("L2", "L3")):
            try:
                ck[f"f_{a}{b}"] = _sig(float(xraydb.ck_probability(el, a, b)), 5)
            except Exception:
                ck[f"f_{a}{b}"] = 0.0
        elements[el] = {
            "Z": z,
            "atomic_weight": _sig(xraydb.atomic_mass(el), 7),
            "density": _sig(xraydb.atomic_density(el), 5),
            "gas": el in GASES,
            "edges": edges,
            "coster_kronig": ck,
            "lines": lines_for(el, xraydb),
        }
    atomic_write_text(out_dir / "xray_lines.json",
                      json.dumps({"provenance": prov, "elements": elements}, separators=(",", ":")))

    mprov = {
        "generator": "tools/make_xray_data.py",
        "source": "xraydb (M. Newville, MIT licence) " + version.replace("\n", "; "),
        "tables": {
            "chantler": "C. T. Chantler et al., X-Ray Form Factor, Attenuation and Scattering Tables "
            "(FFAST) v2.1, NIST SRD 66 (2005), doi:10.18434/T4HS32",
            "elam": "W. T. Elam, B. D. Ravel, J. R. Sieber, Radiat. Phys. Chem. 63, 121 (2002)",
        },
        "grid": f"log grid {E_MIN}-{E_MAX} keV, {N_GRID} points, united with tabulated points within "
        "3% of each edge (chantler) or points at edge*(1 -/+ 1e-6) and 41 log-spaced points within 3% of each edge (elam)",
        "units": {"energy": "keV", "mu": "cm^2/g"},
        "interpolation": "log-log, linear between grid points",
    }
    tables = {}
    for table in ("chantler", "elam"):
        tables[table] = {}
        for z in range(1, 93):
            el = xraydb.atomic_symbol(z)
            e, mu = mu_grid(el, table, xraydb)
            tables[table][el] = {"energy": e, "mu": mu}
    atomic_write_text(out_dir / "mass_attenuation.json",
                      json.dumps({"provenance": mprov, "tables": tables}, separators=(",", ":")))


if __name__ == "__main__":
    main(Path(__file__).resolve().parents[1] / "jaxem" / "data")
