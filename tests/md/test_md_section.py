import pytest

from jaxem.cli.gallery import build_gallery
from jaxem.cli.sections import md as md_section


@pytest.mark.parametrize("lammps", [True, False])
def test_md_demo_section_runs(tmp_path, monkeypatch, lammps):
    if not lammps:  # hide LAMMPS: the section falls back to the shipped dump
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.delenv("JAXEM_LMP", raising=False)
    else:
        from jaxem.md import LammpsNotFoundError, find_lammps
        try:
            find_lammps()
        except LammpsNotFoundError:
            pytest.skip("LAMMPS not installed (apt-get install lammps)")
    failures = build_gallery(tmp_path / "demo", only=["md"], size="small")
    assert failures == []
    page = (tmp_path / "demo" / "index.html").read_text()
    assert "B(MD)" in page and ("shipped" in page) != lammps
    assert (tmp_path / "demo" / "figures" / "md_msd.png").is_file()
    assert (tmp_path / "demo" / "figures" / "md_snapshot.png").is_file()


def test_classical_debye_estimate():
    # 6h²T/(m k_B Θ²) for C at 300 K, Θ = 2230 K: 0.0577 Å² (hand calculation)
    assert md_section.classical_debye_B(12.011, 300.0, 2230.0) == pytest.approx(0.0577, rel=2e-3)
