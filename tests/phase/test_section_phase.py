"""The demo section runs end to end at small size and its lattice phantom is as specified."""
import numpy as np

from jaxem.cli.gallery import build_gallery
from jaxem.cli.sections.phase import lattice_phase


def test_phase_section_runs(tmp_path):
    failures = build_gallery(tmp_path, only=["phase"], size="small")
    assert failures == []
    html = (tmp_path / "index.html").read_text()
    assert "Direct phase retrieval" in html
    assert (tmp_path / "figures" / "phase_methods.png").exists()


def test_lattice_phantom():
    phi = lattice_phase(40, 0.25)
    assert phi.shape == (40, 40) and abs(phi.mean()) < 1e-12 and phi.max() == np.float64(0.05)
