# Digibench: the front door. `make demo` and `make test` work on a fresh Debian 12 machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FIXTURES := tests/fixtures

.PHONY: help setup venv demo test lint typecheck pytest schema bench clean

help:
	@echo "make demo       run the demo (sets itself up first)"
	@echo "make test       ruff, mypy and pytest"
	@echo "make setup      install the Debian packages (as root)"
	@echo "make schema     regenerate agent/report/report-v1.schema.json"
	@echo "make bench      run the benchmarks in bench/"

setup:
	@bash scripts/setup-debian.sh

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[server,dev]'
	@touch $@

venv: $(BIN)/.installed

demo: setup venv
	@echo "== digibench inspect (this machine) =="
	$(BIN)/digibench inspect
	@echo
	@echo "== digibench disk-health (real recorded smartctl outputs) =="
	$(BIN)/digibench disk-health $(FIXTURES)/smart/*
	@echo
	@echo "== digibench battery-health (real recorded battery dumps) =="
	$(BIN)/digibench battery-health $(FIXTURES)/battery/*

lint: venv
	$(BIN)/ruff check agent server tests bench
	$(BIN)/ruff format --check agent server tests bench

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest

test: setup lint typecheck pytest

schema: venv
	$(BIN)/digibench schema > agent/report/report-v1.schema.json

bench: venv
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/*.py; do $(BIN)/python $$b; done || echo "no benchmarks yet"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
