# nof1 — two commands for a new user: `make demo` and `make test`.
# Both create .venv with the first Python >= 3.12 found (override: make PYTHON=/path/to/python3.12).

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nof1-installed

# PyTensor (PyMC's compiler) keeps its C cache in a known folder inside .venv.
export PYTENSOR_FLAGS ?= base_compiledir=$(CURDIR)/$(VENV)/pytensor-cache
# JAX (the continuous model's NUTS sampler) keeps its compiled programs there too.
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/$(VENV)/jax-cache
export MPLBACKEND ?= Agg

# Candidates: python3.12/3.13 on PATH, then what pyenv has installed. pyenv shims answer
# with an error unless the version is active, so each candidate must actually run.
PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
CANDIDATES := python3.12 python3.13 python3.14 \
	$(sort $(wildcard $(PYENV_ROOT_DIR)/versions/3.12*/bin/python3)) \
	$(sort $(wildcard $(PYENV_ROOT_DIR)/versions/3.13*/bin/python3)) \
	$(sort $(wildcard $(PYENV_ROOT_DIR)/versions/3.14*/bin/python3)) python3
PYTHON ?= $(shell for c in $(CANDIDATES); do \
	if "$$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
	command -v "$$c" 2>/dev/null || echo "$$c"; break; fi; done)

.PHONY: demo test venv lint sample-data benchmarks clean help

help:
	@echo "make demo         set up .venv and run the whole workflow on the bundled sample"
	@echo "make test         set up .venv and run the whole test suite (notebooks included)"
	@echo "make sample-data  regenerate data/sample/ from its script"
	@echo "make benchmarks   run the speed and calibration benchmarks"
	@echo "make lint         ruff"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "nof1 needs Python >= 3.12 and none was found (tried: python3.12, python3.13 on PATH and pyenv's versions)." >&2; \
	  echo "Install one, e.g. 'pyenv install 3.12' or your system's python3.12 package, or run: make PYTHON=/path/to/python3.12" >&2; \
	  exit 1; fi
	@if [ ! -x "$(BIN)/python" ]; then echo "Creating $(VENV) with $(PYTHON)"; "$(PYTHON)" -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,notebooks]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/nof1 demo

test: $(STAMP)
	$(BIN)/python -m pytest tests --nbmake notebooks -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

sample-data: $(STAMP)
	$(BIN)/python data/sample/make_sample_data.py

benchmarks: $(STAMP)
	for f in benchmarks/bench_*.py benchmarks/calibration.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache nof1-demo
