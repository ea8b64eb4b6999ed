"""``jaxem simulate``: the config is read and parsed once, and the parsed object decides the run
([stem] → 4D-STEM scan, otherwise plane wave/HRTEM). The runners are replaced by recorders here (the
runs themselves are tested in tests/cli/test_simulate_config.py and tests/parallel/test_cli_resume.py)."""
import hashlib

import pytest

from jaxem.cli import simulate_config, stem_config
from jaxem.cli.main import main
from jaxem.validate import InputError

PLANE = """
[beam]
energy = "300 kV"
[structure]
crystal = "Si"
zone_axis = [1, 1, 0]
[potential]
gpts = [16, 16]
slice_thickness = 1.92
[output]
path = "out"
"""
STEM = PLANE + """
[stem]
semi_angle = 12.0
scan_gpts = [6, 2]
max_angle = 20.0
"""


@pytest.fixture
def recorded(monkeypatch):
    """Counts TOML parses and records which runner got which config (no simulation runs)."""
    seen = {"parses": 0, "runs": []}
    real = simulate_config.tomllib.loads

    def loads(text):
        seen["parses"] += 1
        return real(text)

    monkeypatch.setattr(simulate_config.tomllib, "loads", loads)
    monkeypatch.setattr(stem_config, "run_stem_config", lambda cfg, **kw: seen["runs"].append(("stem", cfg, kw)) or {})
    monkeypatch.setattr(simulate_config, "run_config", lambda cfg, **kw: seen["runs"].append(("plane", cfg, kw)) or {})
    return seen


def test_stem_config_is_parsed_once_and_runs_the_scan(tmp_path, recorded):
    path = tmp_path / "scan.toml"
    path.write_text(STEM)
    assert main(["simulate", str(path), "--dry-run", "--memory-budget", "64M", "--quiet"]) == 0
    assert recorded["parses"] == 1
    [(kind, cfg, kw)] = recorded["runs"]
    assert kind == "stem" and cfg["stem"]["scan_gpts"] == [6, 2] and cfg["beam"]["energy"] == pytest.approx(300e3)
    assert kw == {"resume": False, "dry_run": True, "memory_budget": 64 * 2**20, "progress": False}
    assert cfg["_hash"] == hashlib.sha256(path.read_bytes()).hexdigest()[:16] and cfg["_base"] == str(tmp_path)


def test_plane_wave_config_is_parsed_once_and_runs_the_plane_wave(tmp_path, recorded, capsys):
    path = tmp_path / "plane.toml"
    path.write_text(PLANE)
    assert main(["simulate", str(path)]) == 0
    assert recorded["parses"] == 1 and [r[0] for r in recorded["runs"]] == ["plane"]
    assert "stem" not in recorded["runs"][0][1] and recorded["runs"][0][2] == {"progress": True}
    recorded["runs"].clear()
    assert main(["simulate", str(path), "--resume"]) == 2
    assert "--resume, --dry-run and --memory-budget apply to [stem] scans" in capsys.readouterr().err
    assert recorded["parses"] == 2 and not recorded["runs"]


def test_config_errors_come_from_the_one_parse(tmp_path, recorded, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(STEM + "semi_angle = [\n")
    assert main(["simulate", str(bad)]) == 2
    assert f"cannot read {bad} as TOML" in capsys.readouterr().err and recorded["parses"] == 1
    both = tmp_path / "both.toml"
    both.write_text(STEM + "[hrtem]\ndefocus = 50.0\n")
    with pytest.raises(InputError, match="both.toml: \\[stem\\] and \\[hrtem\\] are separate runs"):
        simulate_config.load_any_config(both)
    (tmp_path / "typo.toml").write_text(STEM.replace("semi_angle", "semi_angel"))
    with pytest.raises(InputError, match="unknown key 'semi_angel' in \\[stem\\]; did you mean 'semi_angle'"):
        simulate_config.load_any_config(tmp_path / "typo.toml")
    (tmp_path / "plane.toml").write_text(PLANE)
    with pytest.raises(InputError, match="plane.toml has no \\[stem\\] section"):
        stem_config.load_stem_config(tmp_path / "plane.toml")
    assert not recorded["runs"]


def test_the_loaders_agree_with_the_dispatching_loader(tmp_path):
    (tmp_path / "scan.toml").write_text(STEM)
    (tmp_path / "plane.toml").write_text(PLANE)
    assert simulate_config.load_any_config(tmp_path / "scan.toml") == stem_config.load_stem_config(tmp_path / "scan.toml")
    assert simulate_config.load_any_config(tmp_path / "plane.toml") == simulate_config.load_config(tmp_path / "plane.toml")
