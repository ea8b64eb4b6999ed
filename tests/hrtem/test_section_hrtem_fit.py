from jaxem.cli.gallery import build_gallery


def test_hrtem_fit_section_builds(tmp_path):
    failures = build_gallery(tmp_path, only=["hrtem_fit"], size="small")
    assert failures == []
    assert (tmp_path / "figures" / "hrtem_fit_images.png").stat().st_size > 1000
