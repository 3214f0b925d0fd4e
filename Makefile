# The two commands of the README: `make run` and `make test`. Nothing else is needed
# on a fresh machine than Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PUERTA_DATABASE_URL ?= sqlite:///$(CURDIR)/var/puerta.db
# axe-core (package-lock.json) for the browser tests' accessibility checks, installed when
# npm is there; without it (or without /usr/bin/chromium) tests/browser is skipped, saying why.
AXE := node_modules/axe-core/axe.min.js
BROWSER_DEPS := $(if $(shell command -v npm 2>/dev/null),$(AXE))

.PHONY: run test install dev lint typecheck importlint unit serve clean bench readme mutation

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

$(AXE): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

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

# schemathesis runs in a process of its own: split over xdist's workers its generated tests
# and the test that counts the requests they sent (at least 5,000) land apart, and the count
# is skipped.
SCHEMATHESIS := tests/e2e/test_schemathesis.py
unit: dev $(BROWSER_DEPS)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup --ignore=$(SCHEMATHESIS)
	PUERTA_SCHEMATHESIS_WHOLE=1 $(BIN)/python -m pytest -q -rs $(SCHEMATHESIS)

test: lint typecheck importlint unit

# The README's walk-throughs, run as written on fresh databases (also part of `unit`).
readme: dev
	$(BIN)/python -m pytest -q tests/e2e/test_readme.py

# Deliberate bugs (mutmut) in the domain and service modules, each run against the fast tests
# that reach it: tests/unit and tests/integration, SQLite only. Not part of `test` or CI; see
# docs/testing.md. MUTANTS narrows the run, e.g. make mutation MUTANTS='puerta.draws.allocation*'
MUTANTS ?=
$(VENV)/.mutation-installed: $(VENV)/.dev-installed
	$(BIN)/pip install --quiet -e '.[dev,mutation]'
	touch $@

mutation: $(VENV)/.mutation-installed
	env -u PUERTA_TEST_DATABASE_URL $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

$(VENV)/.bench-installed: $(VENV)/.dev-installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

# Every benchmark, each rewriting its section of BENCHMARKS.md. The intake's load runs need
# wrk and nginx (Debian: apt-get install -y wrk nginx) and PostgreSQL on 127.0.0.1:5432.
INTAKE_GROUPS ?= 60000
DAY_ONE ?= 450000
bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/geofence.py
	$(BIN)/python benchmarks/draw.py
	$(BIN)/python benchmarks/pages.py
	$(BIN)/python benchmarks/intake.py --profile 20000
	$(BIN)/python benchmarks/intake.py --groups $(INTAKE_GROUPS) --balanced --day-one $(DAY_ONE)

clean:
	rm -rf $(VENV) var node_modules mutants .pytest_cache .mypy_cache .ruff_cache .hypothesis
