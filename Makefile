# The front door: `make run` and `make test` bootstrap .venv themselves.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck bench crashtest clean

venv: $(STAMP)

# Idempotent: reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

run: venv
	$(BIN)/tusk run

test: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

bench: venv
	$(BIN)/tusk bench engine --json benchmarks/results/engine.json --plot benchmarks/results/engine.png

crashtest: venv
	$(BIN)/tusk crashtest --seconds 120 --json benchmarks/results/crashtest.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
