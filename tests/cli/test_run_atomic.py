"""A `jaxem simulate` run is atomic: SIGKILL at any point leaves the previous complete run or the new
complete run in the output folder, never a mix; the next run removes the killed run's temporary."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jaxem.io import load

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[structure]
crystal = "SrTiO3"
repeat = [1, 1, 2]
[potential]
sampling = 0.2
slice_thickness = 1.953
[beam]
energy = {energy}
[output]
path = "out"
exit_planes = 2
"""


def _start(cfg: Path, pause=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if pause is not None:
        env["JAXEM_TEST_RUN_PAUSE"] = str(pause)
    return subprocess.Popen([sys.executable, "-m", "jaxem.cli.main", "simulate", str(cfg), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def _run(cfg: Path, energy: float):
    cfg.write_text(CONFIG.format(energy=energy))
    proc = _start(cfg)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


def _energies(out: Path) -> set:
    """Beam energy of every file of the run folder; the folder must be complete per its manifest."""
    manifest = json.loads((out / "jaxem-run.json").read_text())
    assert manifest["complete"]
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir() if p.name != "jaxem-run.json")
    energies = {json.loads((out / "summary.json").read_text())["beam"]["energy"]["value"]}
    for name in manifest["files"]:
        if name.endswith(".zarr"):
            energies.add(load(out / name).metadata["beam"]["energy"]["value"])
    return energies


@pytest.mark.slow
def test_sigkill_at_every_stage_leaves_one_complete_run(tmp_path):
    cfg = tmp_path / "sim.toml"
    out = tmp_path / "out"
    _run(cfg, 200e3)
    assert _energies(out) == {200e3}
    cfg.write_text(CONFIG.format(energy=300e3))
    for stage in ("start", "exit_intensity", "diffraction", "summary"):
        proc = _start(cfg, pause=60)
        if stage != "start":
            for line in proc.stderr:
                if line.strip() == f"jaxem-run-stage {stage}":
                    break
            else:
                pytest.fail(f"run ended before stage {stage}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _energies(out) == {200e3}, f"killed at {stage}"
    assert list(tmp_path.glob(".out.*.tmp")), "the killed runs' temporaries are still there before the next run"
    _run(cfg, 300e3)
    assert _energies(out) == {300e3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "sim.toml"]
