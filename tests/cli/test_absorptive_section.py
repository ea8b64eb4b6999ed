"""The absorptive-potential demo section runs at small size and writes its figures."""
from jaxem.cli.gallery import build_gallery


def test_absorptive_section_runs(tmp_path):
    failures = build_gallery(tmp_path, only=["absorptive"], size="small")
    assert failures == []
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == ["absorptive_form_factors.png", "absorptive_norm_decay.png"]
    page = (tmp_path / "index.html").read_text()
    assert "σ_TDS" in page and "Traceback" not in page
