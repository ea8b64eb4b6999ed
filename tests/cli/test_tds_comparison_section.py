"""The TDS-comparison demo section builds (at a reduced size) and writes its figures and table."""
import pytest

from jaxem.cli.gallery import build_gallery
from jaxem.cli.sections import tds_models


def _tiny_cases(small):
    from jaxem.structure import crystals, zone_axis

    dia = zone_axis(crystals.diamond(), [0, 0, 1])
    # one small crystal with every model (MD when LAMMPS is installed) keeps the test short
    return [tds_models.Case("diamond [001]", dia, (2, 2), 4, dia.lengths[2] / 4, ((0, 0), (0, 2), (2, 2)),
                            ("000", "220", "400"), md_block=2)]


def test_tds_comparison_section_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(tds_models, "default_cases", _tiny_cases)
    failures = build_gallery(tmp_path, only=["tds_comparison"], size="small")
    assert failures == []
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == [f"tds_comparison_{n}.png" for n in ("absorption", "bragg", "haadf", "patterns", "profiles")]
    page = (tmp_path / "index.html").read_text()
    assert "TDS / absorbed" in page and "Traceback" not in page


def test_default_cases_are_consistent():
    for small in (True, False):
        for case in tds_models.default_cases(small):
            assert all(g % t == 0 for g, t in zip(case.gpts, case.tiling))
            assert case.slices_per_cell * case.dz == pytest.approx(case.cell.lengths[2])
            assert case.md_block == 0 or case.nz % case.md_block == 0
            assert len(case.beams) == len(case.labels) and case.beams[0] == (0, 0)
            ly, lx = case.cell.lengths[1], case.cell.lengths[0]
            sampling = (ly * case.tiling[0] / case.gpts[0], lx * case.tiling[1] / case.gpts[1])
            assert max(sampling) <= case.sampling  # reaches the 125 mrad HAADF range at 300 kV
