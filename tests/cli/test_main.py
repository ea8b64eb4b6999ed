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


def test_version(capsys):
    from jaxem import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"jaxem {__version__}"


def test_errors_are_one_line_without_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JAXEM_NO_COMPILATION_CACHE", "1")
    assert main(["simulate", str(tmp_path)]) == 2          # a directory, not a file
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "is a directory" in err
    cfg = tmp_path / "c.toml"
    cfg.write_text("[structure]\ncrystal='Si'\n[potential]\nsampling=0.2\n[beam]\nenergy='300 furlongs'\n")
    assert main(["simulate", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "beam.energy" in err and "furlongs" in err


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXEM_NO_COMPILATION_CACHE", "1")
    with pytest.raises(FileNotFoundError):
        main(["--debug", "simulate", str(tmp_path / "missing.toml")])


def test_permission_error_is_one_line(tmp_path, capsys, monkeypatch):
    import os

    monkeypatch.setenv("JAXEM_NO_COMPILATION_CACHE", "1")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[structure]\n")
    os.chmod(cfg, 0)
    try:
        if os.access(cfg, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        assert main(["simulate", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert "permission" in err.lower() and "Traceback" not in err
    finally:
        os.chmod(cfg, 0o644)


@pytest.mark.parametrize("fn, text, match", [("positive_int", "0", "≥ 1"), ("positive_int", "x", "integer"),
                                             ("positive_float", "-1", "> 0"), ("energy_ev", "300 kV", None),
                                             ("energy_ev", "300 parsecs", "cannot be converted")])
def test_option_types(fn, text, match):
    import argparse

    from jaxem.cli import args

    if match is None:
        assert getattr(args, fn)(text) == 300e3
        return
    with pytest.raises(argparse.ArgumentTypeError, match=match):
        getattr(args, fn)(text)


def test_bad_option_names_the_option(capsys):
    import argparse

    from jaxem.cli.args import positive_int

    p = argparse.ArgumentParser(prog="jaxem fit-hrtem")
    p.add_argument("--cells", type=positive_int)
    with pytest.raises(SystemExit):
        p.parse_args(["--cells", "0"])
    assert "argument --cells: must be an integer ≥ 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("setting, on_cpu", [(None, False), ("1", True), ("0", False)])
def test_the_cli_compilation_cache_is_on_for_gpus_and_opt_in_on_cpus(tmp_path, monkeypatch, setting, on_cpu):
    """Without JAXEM_NO_COMPILATION_CACHE (which the test session sets) the CLI points JAX's persistent cache at
    $JAX_COMPILATION_CACHE_DIR on GPU backends, and on the CPU backend only with JAXEM_COMPILATION_CACHE=1; the
    global setting is restored afterwards."""
    import jax

    from jaxem.accel import default_backend, disable_compilation_cache

    monkeypatch.delenv("JAXEM_NO_COMPILATION_CACHE", raising=False)
    if setting is None:
        monkeypatch.delenv("JAXEM_COMPILATION_CACHE", raising=False)
    else:
        monkeypatch.setenv("JAXEM_COMPILATION_CACHE", setting)
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "cache"))
    old = jax.config.jax_compilation_cache_dir
    expect = on_cpu or default_backend() != "cpu"
    try:
        assert main(["simulate", str(tmp_path / "missing.toml")]) == 2
        assert (jax.config.jax_compilation_cache_dir == str(tmp_path / "cache")) == expect
        assert (tmp_path / "cache").is_dir() == expect
    finally:
        disable_compilation_cache()
        jax.config.update("jax_compilation_cache_dir", old)
