"""The demo section runs end to end at small size and uses only the public API."""
from pathlib import Path

from jaxem.cli.gallery import build_gallery


def test_phase_section_runs(tmp_path):
    failures = build_gallery(tmp_path, only=["phase"], size="small")
    assert failures == []
    html = (tmp_path / "index.html").read_text()
    assert "Direct phase retrieval" in html
    assert (tmp_path / "figures" / "phase_methods.png").exists()


def test_section_uses_the_public_api_only():
    src = (Path(__file__).resolve().parents[2] / "jaxem" / "cli" / "sections" / "phase.py").read_text()
    assert "_synthetic" not in src
