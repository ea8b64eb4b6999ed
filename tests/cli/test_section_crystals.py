"""The 'crystals' demo section runs and writes its figure and tables."""
from jaxem.cli.gallery import build_gallery


def test_crystals_section_runs(tmp_path):
    failures = build_gallery(tmp_path, only=["crystals"])
    assert failures == []
    page = (tmp_path / "index.html").read_text()
    assert "Built-in crystals and zone-axis cells" in page and "SrTiO3 [001]" in page
    assert (tmp_path / "figures" / "crystals_zone_axes.png").stat().st_size > 10_000
