from jaxem.cli.gallery import build_gallery


def test_hrtem_fit_section_builds(tmp_path):
    failures = build_gallery(tmp_path, only=["hrtem_fit"], size="small")
    assert failures == []
    for name in ("images", "roi_thickness", "roi_displacements"):
        assert (tmp_path / "figures" / f"hrtem_fit_{name}.png").stat().st_size > 1000
