# byokgate developer commands. Everything installs into ./.venv from PyPI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint format demo clean clients

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

## run: install and start the gateway on the embedded default (SQLite in ./data, in-process cache)
run: $(VENV)/.installed
	$(BIN)/byokgate serve

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	touch $@ $(VENV)/.installed

## demo: install and run the offline demo (emulated providers, requests through the official OpenAI SDK)
demo: $(VENV)/.installed-demo
	$(BIN)/byokgate demo

## test: install the test dependencies, lint, type-check and run the whole suite (SQLite + PostgreSQL + Redis)
test: $(VENV)/.installed-test clients/.installed lint
	$(BIN)/python scripts/with_test_services.py $(BIN)/python -m pytest $(PYTEST_ARGS)

## clients: the real clients the end-to-end tests drive (Claude Code, from npm; its native binary is put in
## place by its own install script, which npm 11 does not run unasked)
clients: clients/.installed

clients/.installed: clients/package.json clients/package-lock.json
	cd clients && npm ci --no-audit --no-fund --loglevel=error
	cd clients && node node_modules/@anthropic-ai/claude-code/install.cjs
	clients/node_modules/.bin/claude --version
	touch $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/mypy

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests scripts bench
	$(BIN)/ruff check --fix src tests scripts bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
