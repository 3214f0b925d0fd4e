# The two commands of the README: `make run` and `make test`. Nothing else is needed
# on a fresh machine than Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PUERTA_DATABASE_URL ?= sqlite:///$(CURDIR)/var/puerta.db

.PHONY: run test install dev lint typecheck importlint unit serve clean bench

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "puerta needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

run: install
	mkdir -p var
	$(BIN)/puerta db upgrade
	$(BIN)/puerta demo
	$(BIN)/puerta serve --host 127.0.0.1 --port 8000

lint: dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: dev
	$(BIN)/mypy

importlint: dev
	$(BIN)/lint-imports

unit: dev
	$(BIN)/python -m pytest -q -n 2

test: lint typecheck importlint unit

bench: dev
	$(BIN)/python benchmarks/geofence.py
	$(BIN)/python benchmarks/draw.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
