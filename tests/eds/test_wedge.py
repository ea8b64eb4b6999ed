"""The wedge study (acceptance numbers), the demo section and the quantify-eds CLI command."""
from pathlib import Path

import numpy as np
import pytest

from jaxem.eds.wedge import zno_wedge

VENDOR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "vendor"


def test_wedge_acceptance_noisy_profile():
    r = zno_wedge(seed=0, n_points=61)
    t, ok = r["thickness_nm"], r["status"] == 0
    assert r["status"][0] == 1 and np.all(ok[1:])  # t = 0: no signal, flagged
    zo = r["o_at"]["zeta + AC"][ok]
    assert np.all(np.abs(zo - 50) < 4 * r["o_sigma"][ok]) and abs(np.mean(zo) - 50) < 0.3
    assert np.all(np.abs(r["thickness_zeta_nm"][ok] / t[ok] - 1) < 0.05)
    i200 = np.argmin(np.abs(t - 200))
    # standard-based CL (Zn Kα + O Kα) underestimates O by several at.% at 200 nm
    assert 50 - r["o_at"]["CL standard"][i200] > 10


def test_wedge_acceptance_noise_free():
    for toa in (20.0, 25.0):
        r = zno_wedge(n_points=61, toa_true=toa, noise=False)
        ok = r["status"] == 0
        assert np.max(np.abs(r["o_at"]["zeta + AC"][ok] - 50)) < 1.0
        assert np.max(np.abs(r["thickness_zeta_nm"][ok] / r["thickness_nm"][ok] - 1)) < 0.02


def test_demo_section_runs(tmp_path):
    from jaxem.cli.gallery import build_gallery

    assert build_gallery(tmp_path, only=["eds"]) == []
    assert (tmp_path / "figures" / "eds_wedge_profile.png").exists()


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
