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
    assert batch_size(100, 50, budget=1000) == 10
    assert batch_size(100, 5, budget=10**6) == 5      # never more than the items
    assert batch_size(10**9, 5, budget=1000) == 1     # always at least one


@pytest.mark.parametrize("args", [(0, 5), (10, 0)])
def test_bad_batch_arguments(args):
    with pytest.raises(ValueError):
        batch_size(*args, budget=100)


def test_bad_budget():
    with pytest.raises(ValueError, match="budget"):
        memory_budget(-5)
