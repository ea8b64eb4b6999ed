# The README's two commands: `make demo` and `make test`. Both create the environment if missing.
# `make demo` installs the runtime only (what `jaxem demo` needs); `make test` adds the dev tools and
# the test-only peer codes (abTEM, py4DSTEM, exspy, …) on top.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
RUNTIME := $(VENV)/.jaxem-runtime
STAMP   := $(VENV)/.jaxem-dev
PYTEST_WORKERS ?= 2
# a crashed worker fails the run at once and names its test: pytest-xdist 3.8's loadfile scheduler can hang after
# replacing a crashed worker (pytest-xdist#784, #1323), which turned one crash into a CI timeout (stop 25). Here, not
# in pytest's addopts: pytest without xdist (the GPU machine's) would reject the option.
XDIST   := -n $(PYTEST_WORKERS) --dist loadfile --max-worker-restart=0
export MPLBACKEND := Agg

.PHONY: install install-runtime demo test test-unit test-notebooks test-data bench bench-gpu lint clean

# runtime: the library and what the demo gallery needs ([demo] extra), nothing test-only
$(RUNTIME): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[demo]"
	@touch $(RUNTIME)

# dev: runtime + test tools + test-only peer codes (cross-validation)
$(STAMP): $(RUNTIME) requirements-peers.txt
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	$(BIN)/python -m pip install -q -c constraints.txt -r requirements-peers.txt
	$(BIN)/python -m pip install -q --no-deps py4DSTEM==0.14.18
	@touch $(STAMP)

install-runtime: $(RUNTIME)
install: $(STAMP)

system-packages:
	@bash .ci/system-packages

demo: install-runtime
	$(BIN)/jaxem demo --out demo

# Real atom-probe sample files (APAV 1.4.0 sdist from PyPI, GPL: used by tests only, never vendored).
# A machine without the registry only skips the real-data comparisons.
APT_SAMPLES := $(CURDIR)/.cache/apt_samples
$(APT_SAMPLES)/Si.epos: | $(STAMP)
	@mkdir -p $(APT_SAMPLES)/dl
	-@$(BIN)/python -m pip download -q --no-deps --no-binary :all: -d $(APT_SAMPLES)/dl apav==1.4.0 \
	  && tar -xzf $(APT_SAMPLES)/dl/APAV-1.4.0.tar.gz -C $(APT_SAMPLES)/dl \
	  && cp $(APT_SAMPLES)/dl/APAV-1.4.0/apav/tests/Si.* $(APT_SAMPLES)/
	@rm -rf $(APT_SAMPLES)/dl

test-data: $(APT_SAMPLES)/Si.epos

test: install test-data
	JAXEM_APT_SAMPLES=$(APT_SAMPLES) $(BIN)/python -m pytest -q $(XDIST) --nbmake tests notebooks

test-unit: install test-data
	JAXEM_APT_SAMPLES=$(APT_SAMPLES) $(BIN)/python -m pytest -q $(XDIST) tests

test-notebooks: install
	$(BIN)/python -m pytest -q --nbmake notebooks

bench: install
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# GPU wheels for the lent device machine (no network there): fetched here, carried by the device tool
bench-gpu:
	bash benchmarks/gpu/fetch_wheels.sh

clean:
	rm -rf demo .jax_cache .pytest_cache
