# CrossReturn — every entry point. `make help` lists them.
# Everything the project needs is installed from here (PyPI and npm only): nothing by hand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
SOLC_DIR := tools/solc
ANVIL_DIR := tools/anvil
SLITHER_DIR := tools/slither
CHROMIUM := /usr/bin/chromium
SUDO ?= $(if $(filter 0,$(shell id -u)),,sudo)
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help install solc anvil anvil-node browser lint format compile check-artifacts slither gas test soak bench up demo

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMPS)/install: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(STAMPS)/solc: $(SOLC_DIR)/package.json $(SOLC_DIR)/package-lock.json
	@mkdir -p $(STAMPS)
	cd $(SOLC_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMPS)/anvil: $(ANVIL_DIR)/package.json $(ANVIL_DIR)/package-lock.json
	@mkdir -p $(STAMPS)
	cd $(ANVIL_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# slither in its own venv: every slither-analyzer 0.11.x requires web3<8, CrossReturn runs web3 8.
$(STAMPS)/slither: $(SLITHER_DIR)/requirements.txt
	@mkdir -p $(STAMPS)
	test -x $(SLITHER_DIR)/.venv/bin/python || $(PYTHON) -m venv $(SLITHER_DIR)/.venv
	$(SLITHER_DIR)/.venv/bin/python -m pip install --quiet -r $(SLITHER_DIR)/requirements.txt
	@touch $@

# Debian's chromium for the console's browser test (Playwright drives it; it never downloads one).
$(STAMPS)/browser:
	@mkdir -p $(STAMPS)
	test -x $(CHROMIUM) || ($(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)
	@touch $@

install: $(STAMPS)/install ## create .venv and install CrossReturn with its dev extras

solc: $(STAMPS)/solc ## install the pinned Solidity compiler (npm solcjs 0.8.28) and OpenZeppelin sources

anvil: $(STAMPS)/anvil ## install the pinned anvil JSON-RPC node (npm @foundry-rs/anvil-linux-amd64 1.7.1)

browser: $(STAMPS)/browser ## install Debian's chromium (apt-get, only when missing) for the console test

lint: install ## ruff (lint + format check) and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

format: install ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

compile: install solc ## recompile contracts/*.sol into contracts/build (commit the result)
	$(PY) scripts/compile_contracts.py

check-artifacts: install solc ## fail if contracts/build differs from the sources
	$(PY) scripts/compile_contracts.py --check

slither: install solc $(STAMPS)/slither ## slither on contracts/ with the pinned solc: fails on any High/Medium not excluded
	$(PY) scripts/slither_check.py

gas: install ## print the gas of each contract operation
	$(PY) scripts/gas_report.py

test: install solc anvil browser lint check-artifacts $(STAMPS)/slither ## everything: install, lint, artifact check, the whole pytest suite (slither too)
	$(PY) -m pytest $(PYTEST_ARGS)

SOAK_ARGS ?=

soak: install solc anvil ## the long runs: >= 20 SIGKILLs under load, 10 s node outage, 20 admin rounds under load, 500 fuzz examples per route; SOAK_ARGS='--kills 40'
	$(PY) scripts/soak.py $(SOAK_ARGS)

UP_ARGS ?=

up: install ## run the 3-area demo consortium (2900, 3100, 4600) on the embedded ledger; Ctrl-C stops
	$(VENV)/bin/crossreturn up $(UP_ARGS)

demo: install ## run the demo story to completion into a fresh directory and print its summary
	rm -rf data/demo-story
	$(VENV)/bin/crossreturn demo --data-dir data/demo-story

ANVIL_ARGS ?= --state data/anvil/state.json --port 8545

anvil-node: install anvil ## run anvil on 127.0.0.1:8545 (chain kept in data/anvil/state.json); Ctrl-C stops
	$(VENV)/bin/crossreturn node anvil $(ANVIL_ARGS)

bench: install ## the performance benchmarks (last line: one JSON object); BENCH_ARGS='--only commitments'
	$(PY) scripts/bench.py $(BENCH_ARGS)
