# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   - create .venv, install, run the whole interview flow on the embedded emulator
#   make test   - create .venv, install, run ruff, mypy --strict and pytest
# and two more check the suite itself:
#   make test-all    - ruff and mypy once, then pytest on every CPython 3.11, 3.12, 3.13 found
#   make flake-check - the time-sensitive modules 10 times each under CPU load, on 3.11 and 3.13
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest-xdist workers for `make pytest` (PYTEST_WORKERS=0 runs in one process); tests are
# dealt out one at a time (--maxschedchunk=1) so the long ones, collected first, spread out
PYTEST_WORKERS ?= auto

.PHONY: install demo test test-all flake-check lint typecheck pytest bench bench-quick clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# python-backoff replaced backoff (same import name): drop the old one from a reused venv
	-@$(BIN)/python -m pip uninstall --quiet --yes backoff 2>/dev/null
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/zenhire demo --out demo-output

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict zenhire_async examples tests

pytest: $(STAMP)
	PYTHONASYNCIODEBUG=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --maxschedchunk=1

test: lint typecheck pytest

# Each interpreter gets its own venv (.venv-3.11, ...); ruff and mypy run once, in .venv.
test-all: lint typecheck
	PYTEST_WORKERS=$(PYTEST_WORKERS) ./scripts/test-all

flake-check: $(STAMP)
	./scripts/flake-check

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) $(VENV)-3.* .mypy_cache .ruff_cache .pytest_cache .hypothesis demo-output
