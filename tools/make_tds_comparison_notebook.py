"""Write and execute notebooks/tds_comparison.ipynb. Run: python tools/make_tds_comparison_notebook.py [--no-execute]"""
import nbformat as nbf

from make_notebooks import write

cells = [
    nbf.v4.new_markdown_cell(
        "# Thermal diffuse scattering: absorptive potential vs Einstein vs MD frozen phonons\n\n"
        "Three ways to treat thermal vibrations at 300 kV, compared on diamond [001] and SrTiO3 [001] "
        "(the demo section `jaxem demo` adds SrTiO3 [110]):\n\n"
        "* **absorptive** (Hall–Hirsch): complex potential v_DW + iv′; the TDS it removes never reaches the "
        "pattern — only the damped elastic wave is computed;\n"
        "* **Einstein frozen phonons**: independent Gaussian displacements with ⟨u²⟩ = B/8π²;\n"
        "* **MD snapshots**: correlated displacements from a short classical MD run of the diamond block at "
        "300 K. LAMMPS is an optional system package (`apt-get install lammps` with `lammps-data`, or "
        "`conda install -c conda-forge lammps`), not a Python dependency; of the interatomic potentials it "
        "ships, this comparison uses only Tersoff's `SiC.tersoff` (Phys. Rev. B 39, 5566 (1989)), which "
        "covers Si and C. So diamond gets MD snapshots and SrTiO3 gets the absorptive and Einstein models "
        "only. Where LAMMPS is not installed, the MD model is skipped and its panels say so. Classical MD "
        "misses diamond's zero-point motion, so B_MD ≈ 0.05 Å² against the tabulated 0.14 Å²; Einstein "
        "phonons with B = B_MD are shown beside it.\n\n"
        "`SMALL = True` keeps the run short (thin crystals, few configurations)."),
    nbf.v4.new_code_cell(
        "SMALL = True\n"
        "import numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "import jaxem as jx\n"
        "from jaxem.cli.sections import tds_comparison as tc   # the demo section's computations and figures\n"
        "from jaxem.cli.sections.tds_models import default_cases\n"
        "from jaxem.propagate import radial_profile, bragg_mask\n"
        "beam = jx.Beam(\"300 kV\")\n"
        "cases = default_cases(SMALL)[:2]\n"
        "if SMALL:  # thinner still: 6 cells\n"
        "    cases = [c.replace(nz=8 if c.md_block else 6) for c in cases]\n"
        "for c in cases:\n"
        "    print(f'{c.name}: {c.tiling[1]}×{c.tiling[0]}×{c.nz} cells, grid {c.gpts}, slice {c.dz:.3f} Å')"),
    nbf.v4.new_code_cell(
        "results, have_lammps = tc.compute(SMALL, n_configs=6, n_haadf_configs=4, cases=cases)\n"
        "b_md = results[0][3]\n"
        "print('LAMMPS installed:', have_lammps, '| B_MD (diamond) =',\n"
        "      'no MD run' if b_md is None else f'{b_md:.3f} Å²')"),
    nbf.v4.new_markdown_cell(
        "## Diffraction patterns at the largest thickness\n"
        "Centred patterns (zero frequency in the middle, as a 4D-STEM detector records them), on a log scale "
        "over seven decades below each row's maximum. The absorptive pattern has Bragg spots only (damped by "
        "the Debye–Waller factor and v′); frozen phonons add a diffuse background between the spots, shown "
        "alone in the last column."),
    nbf.v4.new_code_cell("tc.figure_patterns(results);"),
    nbf.v4.new_markdown_cell(
        "## TDS profiles\n`radial_profile` averages a pattern over azimuth in mrad bins; `bragg_mask` removes "
        "the reciprocal-lattice pixels of the tiled crystal (radius 0: the Bragg pixel itself; with a 3×3 tiling a "
        "larger radius would remove every pixel). The azimuthal profile in an annulus shows the "
        "anisotropy (Kikuchi bands, and for MD the streaks of correlated acoustic phonons)."),
    nbf.v4.new_code_cell(
        "fig, summary = tc.figure_profiles(results)\n"
        "case, pw = results[1][0], results[1][1]\n"
        "theta, prof, counts = radial_profile(pw['models']['einstein']['tds'][-1], pw['grid'], beam, bin_width=10.0,\n"
        "                                     mask=bragg_mask(pw['grid'], case.tiling, radius=0))\n"
        "print('SrTiO3 Einstein TDS per pixel in 10-mrad bins:', np.array2string(np.asarray(prof), precision=2))"),
    nbf.v4.new_markdown_cell(
        "## Bragg beams and absorbed flux vs thickness\n"
        "Bragg-beam intensities (frozen phonons: the elastic part |⟨Ψ⟩|²) and the flux removed from the elastic "
        "wave: the absorbed fraction of the absorptive model against the total TDS of the frozen-phonon models "
        "and the thin-crystal estimate 1 − exp(−μz)."),
    nbf.v4.new_code_cell("tc.figure_bragg(results)\ntc.figure_absorption(results);"),
    nbf.v4.new_markdown_cell(
        "## HAADF vs thickness (STEM, 20 mrad probe, 70–125 mrad)\n"
        "One `jx.stem_scan` per model with a thickness series. The absorptive curve is the elastic signal "
        "(plus, where the potential offers a detector-specific v′, the TDS that reaches the detector); the "
        "absorbed flux at all angles bounds its TDS from above."),
    nbf.v4.new_code_cell("tc.figure_haadf(results);"),
    nbf.v4.new_markdown_cell("## Where the models agree and differ"),
    nbf.v4.new_code_cell(
        "header = ['crystal', 'z [Å]', 'FP model', 'ΔI000 [%]', 'largest ΔIg [%]', 'FP TDS', 'absorbed',\n"
        "          'TDS/absorbed', 'HAADF FP/static', 'HAADF FP/absorbed']\n"
        "rows = tc.comparison_rows(results)\n"
        "print(' | '.join(header))\n"
        "for r in rows:\n"
        "    print(' | '.join(str(x) for x in r))"),
]
write("tds_comparison.ipynb", ["md:" + c.source if c.cell_type == "markdown" else c.source for c in cells])
