"""The EDS demo section (jaxem/cli/sections/eds.py) runs through the gallery."""


def test_demo_section_runs(tmp_path):
    from jaxem.cli.gallery import build_gallery

    assert build_gallery(tmp_path, only=["eds"]) == []
    assert (tmp_path / "figures" / "eds_wedge_profile.png").exists()
