import pytest

from jaxem.cli.main import build_parser, main


def test_help_and_no_command(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])


def test_unknown_command_is_an_argparse_error():
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_user_errors_become_exit_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JAXEM_NO_COMPILATION_CACHE", "1")
    assert main(["simulate", str(tmp_path / "missing.toml")]) == 2
    assert "error" in capsys.readouterr().err


def test_discovered_commands():
    choices = build_parser()._subparsers._group_actions[0].choices
    assert {"demo", "simulate", "quantify-eds", "fit-hrtem"} <= set(choices)
