from jaxem.cli.gallery import build_gallery


def test_demo_section_runs(tmp_path):
    failures = build_gallery(tmp_path, only=["ltr"], size="small")
    assert failures == []
    page = (tmp_path / "index.html").read_text()
    assert "LTR-STEM" in page and "<pre class='fail'>" not in page
    figs = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert {"ltr_sums.png", "ltr_critical_dose.png", "ltr_kinetics.png", "ltr_denoise_psnr.png",
            "ltr_disk_shift.png"} <= set(figs)
    from jaxem.io import load

    m = load(tmp_path / "data" / "ltr_dc_map.zarr")
    assert "dose" in m.metadata and m.metadata["dose"]["frame_dose"] > 0
