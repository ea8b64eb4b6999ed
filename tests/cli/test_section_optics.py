from jaxem.cli.gallery import build_gallery


def test_optics_section_builds(tmp_path):
    failures = build_gallery(tmp_path, only=["optics"], size="small")
    assert failures == []
    page = (tmp_path / "index.html").read_text()
    assert "Optics: CTF" in page and "1/1 sections ran" in page
    for name in ("ctf", "probe_profiles", "probe_2d", "hrtem_models"):
        assert (tmp_path / "figures" / f"optics_{name}.png").stat().st_size > 1000
    assert (tmp_path / "data" / "optics_probe_intensity.zarr").exists()
