"""``jaxem simulate`` with a [stem] section: SIGKILL the scan halfway, rerun with --resume: identical
output, and only the missing blocks were computed (counted by the run). Plus --dry-run and the flags'
errors."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jaxem.io import load

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[structure]
crystal = "SrTiO3"
[potential]
sampling = 0.3
slice_thickness = 1.9525
[beam]
energy = 300e3
[output]
path = "{out}"
[stem]
semi_angle = 12.0
scan_gpts = [6, 2]
max_angle = 20.0
haadf = [0.0, 12.0]
block_rows = 1
"""


def _cli(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "jaxem.cli.main", "simulate", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                                    "JAX_PLATFORMS": "cpu", **(env or {})})


def test_sigkill_halfway_then_resume(tmp_path, capsys):
    from jaxem.cli.main import main

    (tmp_path / "a.toml").write_text(CONFIG.format(out="full"))
    (tmp_path / "b.toml").write_text(CONFIG.format(out="killed"))
    full = _cli(str(tmp_path / "a.toml"), "--quiet")  # the uninterrupted run (same process setup: no x64)
    p = _cli(str(tmp_path / "b.toml"), "--quiet", env={"JAXEM_TEST_BLOCK_PAUSE": "30"})
    seen = []
    for line in p.stderr:  # blocks 0, 1, 2 written (3 of 6): kill it during the pause
        seen.append(line)
        if line.startswith("jaxem-block-done 2"):
            os.kill(p.pid, signal.SIGKILL)
            break
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL, "".join(seen)[-2000:]
    assert not (tmp_path / "killed").exists() and (tmp_path / ".killed.scan.zarr.resume").is_dir()
    out, err = full.communicate(timeout=300)
    assert full.returncode == 0, err
    assert main(["simulate", str(tmp_path / "b.toml"), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err  # an interrupted run is never silently discarded
    resumed = _cli(str(tmp_path / "b.toml"), "--quiet", "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "blocks: 3 computed, 3 resumed of 6" in out
    summary = json.loads((tmp_path / "killed" / "summary.json").read_text())
    assert summary["blocks"] == {"total": 6, "computed": 3, "resumed": 3}
    for name in ("4dstem.zarr", "haadf.zarr"):
        a, b = load(tmp_path / "full" / name), load(tmp_path / "killed" / name)
        assert np.array_equal(a.array, b.array) and a.axes == b.axes
    assert not (tmp_path / ".killed.scan.zarr.resume").exists()


def test_dry_run_and_flag_errors(tmp_path, capsys):
    from jaxem.cli.main import main

    (tmp_path / "a.toml").write_text(CONFIG.format(out="run"))
    assert main([str(x) for x in ("simulate", tmp_path / "a.toml", "--dry-run", "--memory-budget", "64M")]) == 0
    out = capsys.readouterr().out
    assert "memory estimate: STEM scan 6 × 2 positions" in out and "64.0 MiB" in out and "fits: yes" in out
    assert not (tmp_path / "run").exists()
    with pytest.raises(SystemExit):
        main(["simulate", str(tmp_path / "a.toml"), "--memory-budget", "lots"])
    assert "argument --memory-budget" in capsys.readouterr().err
    (tmp_path / "p.toml").write_text(CONFIG.split("[stem]")[0])
    assert main(["simulate", str(tmp_path / "p.toml"), "--resume"]) == 2
    assert "--resume, --dry-run and --memory-budget apply to [stem] scans" in capsys.readouterr().err
    (tmp_path / "c.toml").write_text(CONFIG.format(out="run") + "scan_gpt = [2, 2]\n")
    assert main(["simulate", str(tmp_path / "c.toml"), "--dry-run"]) == 2
    assert "unknown key 'scan_gpt' in [stem]; did you mean 'scan_gpts'" in capsys.readouterr().err
