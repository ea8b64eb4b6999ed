def test_apt_demo_section_runs(tmp_path):
    from jaxem.cli.gallery import build_gallery

    failures = build_gallery(tmp_path, only=["apt"], size="small")
    assert failures == []
    figs = sorted(p.name for p in (tmp_path / "figures").glob("apt_*.png"))
    assert {"apt_slices.png", "apt_planes.png", "apt_accuracy.png", "apt_pointcloud.png"} <= set(figs)
