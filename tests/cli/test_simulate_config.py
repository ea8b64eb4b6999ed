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
    assert dp.axes[0].units == "Å" and dp.axes[0].sampling == pytest.approx(2 * 1.953, rel=1e-3)
    assert dp.axes[0].offset == pytest.approx(2 * 1.953, rel=1e-3)
    img = load(out / "hrtem_image.zarr")
    assert img.shape[0] == 2 and img.metadata["hrtem"]["defocus"] == {"value": 50.0, "units": "Å"}
    assert img.metadata["beam"]["energy"] == {"value": 300e3, "units": "eV"}
    assert summary["thickness"]["units"] == "Å" and summary["beam"]["energy"]["units"] == "eV"
    manifest = json.loads((out / "jaxem-run.json").read_text())
    assert manifest["complete"] and sorted(manifest["files"]) == sorted(p.name for p in out.iterdir()
                                                                        if p.name != "jaxem-run.json")


def test_example_config_parses(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "srtio3.toml")
    cfg = load_config(tmp_path / "srtio3.toml")
    s = build_structure(cfg["structure"], cfg["_base"])
    assert len(s) == 5 * 4 * 4 * 10


BASE = "[structure]\ncrystal='Si'\n{s}[potential]\nsampling=0.2\n{p}[beam]\nenergy=1e5\n{b}{rest}"


def _cfg(s="", p="", b="", rest=""):
    return BASE.format(s=s, p=p, b=b, rest=rest)


@pytest.mark.parametrize("text,match", [
    ("[structure]\ncrystal='Si'\n[potential]\nsampling=0.2\n", "needs a \\[beam\\] section"),
    ("[nonsense]\n", r"unknown section \[nonsense\]"),
    ("[structur]\ncrystal='Si'\n", r"unknown section \[structur\].*did you mean \[structure\]"),
    ("[structure\n", "TOML"),
    (_cfg(s="file='x.cif'\n"), "exactly one"),
    (_cfg(s="zone_axes=[0, 0, 1]\n"), "unknown key 'zone_axes' in \\[structure\\]; did you mean 'zone_axis'"),
    (_cfg(b="tilt_mrad=[1, 0]\n"), "unknown key 'tilt_mrad' in \\[beam\\]; did you mean 'tilt'"),
    (_cfg(rest="[output]\nexit_plane=2\n"), "unknown key 'exit_plane' in \\[output\\]; did you mean 'exit_planes'"),
    (_cfg(s="repeat=[2, 2]\n"), r"structure.repeat must be a list of 3 positive integers"),
    (_cfg(s="repeat=[2, 0, 1]\n"), r"structure.repeat\[1\] must be ≥ 1, got 0"),
    (_cfg(s="repeat=[2, 2.5, 1]\n"), r"structure.repeat\[1\] must be an integer"),
    (_cfg(p="slice_thickness='thin'\n"), r"potential.slice_thickness must be a number \[Å\]"),
    (_cfg(p="slice_thickness=-1.0\n"), r"potential.slice_thickness must be > 0 Å, got -1.0"),
    (_cfg(p="parametrization='lobatto'\n"), r"parametrization must be one of .*did you mean 'lobato'"),
    (_cfg(p="debye_waller=1\n"), r"potential.debye_waller must be true or false"),
    (_cfg(p="gpts=64\n"), r"exactly one of sampling"),
    (_cfg(b="tilt=[1.0]\n"), r"beam.tilt must be a list of 2"),
    (_cfg(rest="[output]\nexit_planes=-1\n"), r"output.exit_planes must be ≥ 0"),
    (_cfg(rest="[hrtem]\ndefocuss=50.0\n"), r"unknown key 'defocuss' in \[hrtem\]; did you mean 'defocus'"),
    (_cfg(rest="[hrtem]\nfocal_spread=-5.0\n"), r"hrtem.focal_spread must be ≥ 0 Å"),
    (_cfg(rest="[hrtem]\nmethod='focal'\n"), r"hrtem.method must be one of"),
])
def test_bad_configs(tmp_path, text, match):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises((ValueError, TypeError), match=match):
        c = load_config(cfg)
        build_structure(c["structure"], c["_base"])
    assert main(["simulate", str(cfg), "--quiet"]) == 2


def test_energy_with_units(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(_cfg().replace("energy=1e5", "energy='100 kV'"))
    assert load_config(cfg)["beam"]["energy"] == 100e3


def test_foreign_folder_is_never_replaced(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    cfg = tmp_path / "sim.toml"
    cfg.write_text(SMALL.replace("[hrtem]\ndefocus = 50.0\nobjective_aperture = 20.0\nfocal_spread = 20.0\n", ""))
    assert main(["simulate", str(cfg), "--quiet"]) == 2
    assert (tmp_path / "out" / "thesis.tex").read_text() == "precious"


def test_missing_file(tmp_path):
    assert main(["simulate", str(tmp_path / "none.toml")]) == 2
