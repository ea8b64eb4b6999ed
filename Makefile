# The README's two commands: `make demo` and `make test`. Both create the environment if missing.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.jaxem-installed
PYTEST_WORKERS ?= 2
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.jax_cache
export MPLBACKEND := Agg

.PHONY: install demo test test-unit test-notebooks bench lint clean

$(STAMP): pyproject.toml constraints.txt requirements-peers.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	$(BIN)/python -m pip install -q -c constraints.txt -r requirements-peers.txt
	$(BIN)/python -m pip install -q --no-deps py4DSTEM==0.14.18
	@touch $(STAMP)

install: $(STAMP)

system-packages:
	@bash .ci/system-packages

demo: install
	$(BIN)/jaxem demo --out demo

test: install
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --nbmake tests notebooks

test-unit: install
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests

test-notebooks: install
	$(BIN)/python -m pytest -q --nbmake notebooks

bench: install
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf demo .jax_cache .pytest_cache
