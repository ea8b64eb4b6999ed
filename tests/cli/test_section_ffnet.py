from jaxem.cli.gallery import build_gallery


def test_ffnet_section_builds(tmp_path):
    """The FFT-spot section end to end (database rows, training curve, detections vs dose with the strict and the
    difficult-ignored F1 table, two-grain indexing, GUI screenshot where Chromium is installed)."""
    failures = build_gallery(tmp_path, only=["ffnet"], size="small")
    assert failures == []
    page = (tmp_path / "index.html").read_text()
    assert "1/1 sections ran" in page and "difficult ignored" in page
    for name in ("training_curve", "detections", "two_grains"):
        assert (tmp_path / "figures" / f"ffnet_{name}.png").stat().st_size > 1000
