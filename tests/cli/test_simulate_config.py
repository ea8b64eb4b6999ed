import json
import shutil
from pathlib import Path

import pytest

from jaxem.cli.main import main
from jaxem.cli.simulate_config import build_structure, load_config
from jaxem.io import load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "srtio3.toml"

SMALL = """
[structure]
crystal = "SrTiO3"
repeat = [1, 1, 2]
[potential]
sampling = 0.15
slice_thickness = 1.953
[beam]
energy = 300e3
[output]
path = "out"
exit_planes = 2
[hrtem]
defocus = 50.0
objective_aperture = 20.0
focal_spread = 20.0
"""


def test_simulate_command_writes_results(tmp_path, capsys):
    cfg = tmp_path / "sim.toml"
    cfg.write_text(SMALL)
    assert main(["simulate", str(cfg), "--quiet"]) == 0
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_slices"] == 4 and summary["n_atoms"] == 10
    dp = load(out / "diffraction.zarr")
    assert dp.axes[0].name == "thickness" and dp.axes[-1].units == "mrad"
    img = load(out / "hrtem_image.zarr")
    assert img.shape[0] == 2 and img.metadata["defocus"] == 50.0


def test_example_config_parses(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "srtio3.toml")
    cfg = load_config(tmp_path / "srtio3.toml")
    s = build_structure(cfg["structure"], cfg["_base"])
    assert len(s) == 5 * 4 * 4 * 10


@pytest.mark.parametrize("text,match", [
    ("[structure]\ncrystal='Si'\n[potential]\n", "beam"),
    ("[nonsense]\n", "unknown section"),
    ("[structure\n", "TOML"),
    ("[structure]\ncrystal='Si'\nfile='x.cif'\n[potential]\n[beam]\nenergy=1e5\n", "exactly one"),
])
def test_bad_configs(tmp_path, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ValueError, match=match):
        c = load_config(cfg)
        build_structure(c["structure"], c["_base"])
    assert main(["simulate", str(cfg), "--quiet"]) == 2


def test_missing_file(tmp_path):
    assert main(["simulate", str(tmp_path / "none.toml")]) == 2
