"""The training recipe's two stages, checkpoints and resume, on a tiny kinematic bank (the real bank and the full
step counts are tools/train_ffnet.py's job)."""
import json

from jaxem.ml import recipe, train

from .conftest import SI, kinematic_bank


def test_two_stages_resume_and_weights(tables, tmp_path, monkeypatch, capsys):
    bk = kinematic_bank([tables[(SI, (1, 1, 0))]], strength=0.1)
    monkeypatch.setattr(recipe, "build_bank", lambda args, work: (bk, [[SI, [1, 1, 0]]]))
    argv = ["--work", str(tmp_path / "w"), "--out", str(tmp_path / "net"), "--filters", "2", "--steps", "2",
            "--batch", "1", "--crops", "1", "--crop", "32", "--checkpoint-every", "1"]
    path = recipe.main(argv + ["--fine-tune-steps", "1"])
    config, variables, info = train.load_weights(path)
    assert (info["stage1_steps"], info["steps"], info["label_dose"]) == (2, 3, 100.0)
    assert (tmp_path / "w" / "checkpoint").is_dir() and (tmp_path / "w" / "checkpoint_stage2").is_dir()
    # a longer stage 2 resumes both stages from their checkpoints instead of starting again
    capsys.readouterr()
    info2 = train.load_weights(recipe.main(argv + ["--fine-tune-steps", "2"]))[2]
    out = capsys.readouterr().out
    assert "resumed at step 2" in out and "stage 2 resumed at step 1" in out
    assert info2["steps"] == 4 and [c[0] for c in info2["curve"]][-2:] == [3, 4]
    assert json.loads((tmp_path / "w" / "curve_stage2.json").read_text())[-1][0] == 4
    # stage 1 only
    assert train.load_weights(recipe.main(argv + ["--fine-tune-steps", "0", "--out", str(tmp_path / "s1")]))[2][
        "label_dose"] is None
