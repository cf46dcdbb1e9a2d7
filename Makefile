# The everyday commands. `make demo` and `make test` set up a fresh machine first.
PY ?= python3

.PHONY: setup setup-dev demo test test-fast lint typecheck bench bench-quick

setup:
	PY=$(PY) scripts/bootstrap.sh

setup-dev:
	PY=$(PY) scripts/bootstrap.sh --dev

demo: setup
	$(PY) -m asyncfc_agent.cli demo --compare

test: setup-dev
	$(PY) -m pytest

test-fast:
	$(PY) -m pytest -m "not docker and not slow"

lint:
	ruff check .

typecheck:
	mypy .

bench:
	$(PY) -m asyncfc_agent.cli bench

bench-quick:
	$(PY) -m asyncfc_agent.cli bench --quick
