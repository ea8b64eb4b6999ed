import pytest

from jaxem.accel import available_memory, batch_size, memory_budget


def test_budget_from_argument_and_environment(monkeypatch):
    assert memory_budget(1000) == 1000
    assert memory_budget("2K") == 2048
    monkeypatch.setenv("JAXEM_MEMORY_BUDGET", "1M")
    assert memory_budget() == 2**20
    monkeypatch.delenv("JAXEM_MEMORY_BUDGET")
    assert 0 < memory_budget() <= available_memory()


def test_batch_size_fits_budget_and_bounds():
    assert batch_size(100, 50, memory_budget=1000) == 10
    assert batch_size(100, 5, memory_budget=10**6) == 5      # never more than the items
    assert batch_size(10**9, 5, memory_budget=1000) == 1     # always at least one


@pytest.mark.parametrize("args", [(0, 5), (10, 0)])
def test_bad_batch_arguments(args):
    with pytest.raises(ValueError):
        batch_size(*args, memory_budget=100)


def test_bad_budget():
    with pytest.raises(ValueError, match="budget"):
        memory_budget(-5)


@pytest.mark.parametrize("text, expected", [("256M", 256 * 2**20), ("2 GiB", 2 * 2**30), ("500 MB", 500 * 10**6),
                                            ("1e6", 10**6), (4096, 4096)])
def test_parse_bytes(text, expected):
    assert memory_budget(text) == expected


@pytest.mark.parametrize("bad", ["lots", "12 parsecs", "", "-3M", float("nan"), True])
def test_bad_environment_budget_names_the_variable(monkeypatch, bad):
    if isinstance(bad, str) and bad:
        monkeypatch.setenv("JAXEM_MEMORY_BUDGET", bad)
        with pytest.raises(ValueError, match="JAXEM_MEMORY_BUDGET"):
            memory_budget()
    with pytest.raises((ValueError, TypeError), match="memory_budget"):
        memory_budget(bad)


def test_cpu_cap_only_without_explicit_budget():
    assert batch_size(100, 1000, cpu_cap=1000) <= 10
    assert batch_size(100, 1000, memory_budget=10**6, cpu_cap=1000) == 1000
