import pytest


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path, monkeypatch):
    """The ifes peer reader writes a log file into the working directory on import: keep it out of the repo."""
    monkeypatch.chdir(tmp_path)
