import argparse
import numpy as np
import pytest

from jaxem.cli.commands import fit_hrtem


def _args(**kw):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    fit_hrtem.register(sub)
    argv = ["fit-hrtem"] + [a for k, v in kw.items() for a in ((f"--{k}",) if v is True else (f"--{k}", str(v)))]
    return p.parse_args(argv)


def test_cli_config_merging_and_synthetic_build(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[problem]\nsynthetic = true\ncells = 1\nrepeats = 4\nsampling = 0.25\n"
                   "[start]\ndefocus = 55.0\n[fit]\nbo_budget = 16\n")
    args = _args(out=tmp_path / "fit.json", **{"grad-steps": 7})
    args.config = str(cfg)
    c = fit_hrtem._config_from_args(args)
    assert c["fit"]["bo_budget"] == 16 and c["fit"]["grad_steps"] == 7 and c["problem"]["cells"] == 1
    model, data, start, truth = fit_hrtem.build(c)
    assert data.shape == tuple(model.gpts) and float(start["defocus"]) == 55.0 and truth is not None
    # the whole fit (workflow + JSON writing) is exercised by tests/hrtem/test_workflow.py and the demo section


def test_cli_bad_input(tmp_path):
    with pytest.raises(ValueError, match="image.*or --synthetic"):
        fit_hrtem.build(fit_hrtem._config_from_args(_args()))
    img = tmp_path / "i.npy"
    np.save(img, np.ones((7, 7)))
    with pytest.raises(ValueError, match="sampling"):
        fit_hrtem.build(fit_hrtem._config_from_args(_args(image=img)))
    with pytest.raises(ValueError, match="image must have shape"):
        fit_hrtem.build(fit_hrtem._config_from_args(_args(image=img, sampling=0.2, cells=1, repeats=2,
                                                          thickness=6.0)))
