"""The ``jaxem quantify-eds`` command on a real Bruker spectrum image."""
from pathlib import Path

import pytest

pytest.importorskip("rsciio")

VENDOR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "vendor"


def test_quantify_eds_command(tmp_path):
    p = VENDOR / "bruker" / "test_TEM.bcf"
    if not p.exists():
        pytest.skip("vendor file absent")
    from jaxem.cli.main import main

    out = tmp_path / "q.zarr"
    rc = main(["quantify-eds", str(p), "--lines", "O_Ka", "Ti_Ka", "Cu_Ka", "--out", str(out)])
    assert rc == 0
    from jaxem.io import load

    m = load(tmp_path / "q_atomic_fractions.zarr")
    assert m.shape == (3, 64, 64)


def test_quantify_eds_zeta_needs_dose(tmp_path, capsys):
    p = VENDOR / "bruker" / "test_TEM.bcf"
    if not p.exists():
        pytest.skip("vendor file absent")
    from jaxem.cli.main import main

    rc = main(["quantify-eds", str(p), "--lines", "O_Ka", "Ti_Ka", "--method", "zeta", "--factors", "100",
               "150", "--out", str(tmp_path / "z.zarr")])
    assert rc != 0 and "dose" in capsys.readouterr().err
