"""The ptychography demo section runs (one tiny case instead of the four of the small size)."""
from jaxem.cli.gallery import build_gallery
from jaxem.cli.sections import ptychography as section


def test_ptychography_section_builds(tmp_path, monkeypatch):
    monkeypatch.setattr(section, "cases", lambda small: [("300 kV", 1, 20.0, 45.0, 1, 3)])
    failures = build_gallery(tmp_path, only=["ptychography"], size="small")
    assert failures == []
    page = (tmp_path / "index.html").read_text()
    assert "Multislice ptychography" in page and "1/1 sections ran" in page
    assert "Wiener parallax" in page and "truth error" in page
    assert (tmp_path / "figures" / "ptychography_ptycho_vs_direct.png").stat().st_size > 1000
