# The front door: `make run` and `make test` bootstrap .venv themselves.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MASTOJS := tests/e2e/mastojs

.PHONY: venv e2e-deps run test lint typecheck bench crashtest clean

venv: $(STAMP)

# Idempotent: reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,clients]'
	@touch $(STAMP)

# What tests/e2e needs beyond .venv: toot's sdist (its integration suite) and masto.js. Both are cached
# (.cache/, node_modules/), so later runs are offline; without node/npm the masto.js test skips itself.
e2e-deps: venv $(MASTOJS)/node_modules/.package-lock.json
	$(BIN)/python -m tests.e2e.toot_suite fetch

$(MASTOJS)/node_modules/.package-lock.json: $(MASTOJS)/package-lock.json
	@if command -v npm >/dev/null; then cd $(MASTOJS) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the masto.js scenario will be skipped"; fi

run: venv
	$(BIN)/tusk run

test: venv e2e-deps
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

crashtest: venv e2e-deps
	$(BIN)/tusk crashtest --seconds 120 --json benchmarks/results/crashtest.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .cache $(MASTOJS)/node_modules
