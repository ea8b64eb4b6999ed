import argparse
import json
import re

import numpy as np
import pytest

from jaxem.cli.commands import fit_hrtem
from jaxem.cli.main import main
from jaxem.validate import InputError, InputTypeError

from ..io.test_images import write_hspy


def _args(*argv, **kw):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    fit_hrtem.register(sub)
    argv = ["fit-hrtem", *map(str, argv)] + [a for k, v in kw.items()
                                             for a in ((f"--{k}",) if v is True else (f"--{k}", str(v)))]
    return p.parse_args(argv)


def _cfg(*argv, **kw):
    return fit_hrtem._config_from_args(_args(*argv, **kw))


def test_cli_config_merging_and_synthetic_build(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[problem]\nsynthetic = true\ncells = 1\nrepeats = 8\nsampling = 0.25\n"
                   "[start]\ndefocus = 55.0\n[fit]\nbo_max_evaluations = 16\n")
    c = _cfg(cfg, out=tmp_path / "fit.json", **{"grad-steps": 7, "energy": "300 kV"})
    assert c["fit"]["bo_max_evaluations"] == 16 and c["fit"]["grad_steps"] == 7 and c["problem"]["cells"] == 1
    assert c["problem"]["energy"] == 300e3
    model, data, start, truth, info = fit_hrtem.build(c)
    assert data.shape == tuple(model.gpts) and float(start.defocus) == 55.0 and truth is not None
    assert model.beam.energy == 300e3 and info == {"synthetic": True}


def test_config_errors_name_the_key(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[problem]\nsynthetc = true\n")
    with pytest.raises(InputError, match=r"unknown key 'synthetc' in \[problem\].*did you mean 'synthetic'"):
        _cfg(cfg)
    cfg.write_text("[fitt]\n")
    with pytest.raises(InputError, match="unknown key 'fitt'.*did you mean 'fit'"):
        _cfg(cfg)
    cfg.write_text("[fit]\nbo_budget = 10\n")
    with pytest.raises(InputError, match="unknown key 'bo_budget'.*valid keys: bo_max_evaluations"):
        _cfg(cfg)
    cfg.write_text("[problem]\nsynthetic = true\ncells = 1\nsampling = 0.25\n[start]\ndefocuss = 1.0\n")
    with pytest.raises(InputError, match=r"\[start\] has an unknown parameter 'defocuss'.*did you mean 'defocus'"):
        fit_hrtem.build(_cfg(cfg))
    cfg.write_text("[problem]\nsynthetic = 'yes'\n")
    with pytest.raises(InputTypeError, match=r"\[problem\] synthetic must be true or false, got 'yes'"):
        _cfg(cfg)
    cfg.write_text("[problem\n")
    with pytest.raises(ValueError, match="c.toml: cannot read this TOML configuration"):
        _cfg(cfg)
    for toml, exc, match in (
            ("[problem]\ncells = 0\n", InputError, r"\[problem\] cells \(--cells\) must be in \[1, 64\], got 0"),
            ("[problem]\ncells = 'abc'\n", InputTypeError, r"\[problem\] cells \(--cells\) must be an integer, got 'abc'"),
            ("[problem]\nenergy = '3 furlongs'\n", InputError, r"\[problem\] energy \(--energy\) .*furlongs"),
            ("[fit]\nbo_max_evaluations = 0\n", InputError, r"\[fit\] bo_max_evaluations .* must be ≥ 1"),
            ("[problem]\nsampling = -0.1\n", InputError, r"\[problem\] sampling \(--sampling\) must be > 0"),
            ("[start]\ndefocus = 'far'\n", InputError, r"\[start\] defocus \(--defocus\) must be a number in Å .* could "
                                                      r"not parse .far."),
            ("[start]\nthickness = nan\n", InputError, r"\[start\] thickness \(--thickness\) must be finite")):
        cfg.write_text(toml)
        with pytest.raises(exc, match=match):
            _cfg(cfg)
    with pytest.raises(InputError, match=r"\[problem\] crystal \(--crystal\) must be one of.*did you mean 'SrTiO3'"):
        _cfg(crystal="SrTiO")


@pytest.mark.parametrize("option, value, match", [
    ("cells", 0, "argument --cells: must be an integer ≥ 1, got 0"),
    ("cells", "abc", "argument --cells: must be an integer ≥ 1, got 'abc'"),
    ("energy", "3 furlongs", "argument --energy: .*furlongs"),
    ("bo-max-evaluations", 0, "argument --bo-max-evaluations: must be an integer ≥ 1"),
    ("sampling", -0.1, "argument --sampling: must be > 0"),
    ("defocus", "far", "argument --defocus: .*could not parse 'far'"),
    ("thickness", "nan", "argument --thickness: must be finite")])
def test_bad_options_name_the_option(option, value, match, capsys):
    """Numeric options are parsed by the range-checked types of jaxem.cli.args: the error names the option."""
    with pytest.raises(SystemExit):
        _args(**{option: value})
    assert re.search(match, capsys.readouterr().err)


def test_no_image_and_no_synthetic():
    with pytest.raises(InputError, match="give an image .* or --synthetic"):
        fit_hrtem.build(_cfg())


def test_real_image_file_on_the_model_grid(tmp_path):
    """A calibrated .hspy of 1 × 1 BaTiO3 cells (4 Å): the model gets the image's pixels; with
    --model-sampling the image is resampled onto the model grid."""
    img = write_hspy(tmp_path / "img.hspy", 1.0 + 0.1 * np.random.default_rng(0).random((16, 16)), (0.025, 0.025))
    model, data, start, truth, info = fit_hrtem.build(_cfg(image=img, cells=1, repeats=2, thickness=6.0))
    assert tuple(model.gpts) == (16, 16) and data.shape == (16, 16) and truth is None
    assert info["calibration"] == "file" and info["resampled_from"] is None
    assert info["calibration_scale"] == pytest.approx([1.0, 1.0], abs=1e-3) and float(start.thickness) == 6.0
    model, data, _, _, info = fit_hrtem.build(_cfg(image=img, cells=1, repeats=2, **{"model-sampling": 0.5}))
    assert tuple(model.gpts) == (8, 8) and info["resampled_from"] == [16, 16]
    with pytest.raises(InputError, match=r"differs from the model supercell 12 × 12 Å"):
        fit_hrtem.build(_cfg(image=img, cells=3, repeats=2))
    np.save(tmp_path / "a.npy", np.ones((16, 16)))
    with pytest.raises(InputError, match="sampling: image .*a.npy' carries no pixel calibration"):
        fit_hrtem.build(_cfg(image=tmp_path / "a.npy", cells=1, repeats=2))
    fit_hrtem.build(_cfg(image=tmp_path / "a.npy", cells=1, repeats=2, sampling=0.25))


def test_cli_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "bad.dm3"
    bad.write_bytes(b"\x01" * 64)
    assert main(["fit-hrtem", "--image", str(bad), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxem fit-hrtem: error: ") and "bad.dm3: cannot read this image" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o.json").exists()
    assert main(["fit-hrtem", "--synthetic", "--out", str(tmp_path / "no" / "o.json")]) == 2
    assert "--out (its folder)" in capsys.readouterr().err


def test_fit_a_real_image_file_end_to_end(tmp_path):
    """The whole command on a tiny calibrated .hspy image: parameters written with their units."""
    from jaxem.hrtem.synthetic import batio3_model
    from jaxem.optics import Aberrations

    m = batio3_model(cells=1, repeats=2, sampling=0.25)
    img = np.asarray(m.render(m.default_params(Aberrations(C10=-60.0), thickness=6.0, focal_spread=20.0)))
    path = write_hspy(tmp_path / "img.hspy", img, (0.025, 0.025))
    out = tmp_path / "fit.json"
    rc = main(["fit-hrtem", "--image", str(path), "--cells", "1", "--repeats", "2", "--defocus", "40",
               "--thickness", "6", "--bo-max-evaluations", "4", "--batch", "2", "--grad-steps", "2",
               "--out", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["params"]["defocus"]["units"] == "Å" and res["params"]["xy"]["units"] == "Å"
    assert res["params"]["convergence"]["units"] == "mrad" and np.isfinite(res["loss"])
    assert res["beam"]["energy"] == {"value": 300e3, "units": "eV"}
    assert res["image"]["source"] == str(path) and res["history"]["stage"][0] == "bo"
