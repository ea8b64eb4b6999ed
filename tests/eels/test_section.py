from jaxem.cli.gallery import build_gallery


def test_eels_section_builds(tmp_path):
    failures = build_gallery(tmp_path, only=["eels"], size="small")
    page = (tmp_path / "index.html").read_text()
    assert failures == [], page[page.find("<pre"):page.find("</pre>")]
    assert "q–E EELS" in page and "1/1 sections ran" in page
    for name in ("dispersion", "spacetime", "film", "phonons"):
        assert (tmp_path / "figures" / f"eels_{name}.png").stat().st_size > 1000
    assert (tmp_path / "data" / "eels_loss_function.zarr").exists()
