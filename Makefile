# One-command set-up: `make run` and `make test` create .venv and install the project
# (torch and torchvision from PyPI, whose Linux wheels are CUDA builds of several GB) before
# running. On a CPU-only machine, take PyTorch's CPU wheels instead:
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=
TORCH_INDEX ?=
PYTEST_ARGS ?=

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(if $(TORCH_INDEX),$(PY) -m pip install -q torch torchvision --index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e '.[test]'
	touch $@

.PHONY: install run test test-all lint bench
install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) run.py $(ARGS)

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

test-all: $(VENV)/.installed
	$(PY) -m pytest -m "slow or not slow" $(PYTEST_ARGS)

# Lint and types (config in pyproject.toml); .pre-commit-config.yaml runs the same on commit.
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
