# Two commands for a newcomer: `make demo` (the main job on the embedded model) and `make test`.
# Each creates .venv and installs the project on first use.
PYTHON ?= python3
VENV ?= .venv
# torch is installed first and on its own: a CPU build where one is at hand, so that the resolver does not
# pull a multi-GB CUDA build for a CPU-only machine. Override with e.g. TORCH="torch==2.13.0" or a CUDA build.
TORCH ?= torch==2.13.0
BIN = $(VENV)/bin
STAMP = $(VENV)/.attnmod-installed
# The shapes model draws this pair merged into one blob at seed 0 (see docs/shapes.md for how it was chosen).
DEMO_PROMPT ?= a yellow triangle and a red cross
DEMO_MODEL ?= shapes
DEMO_OUT ?= demo-out

.PHONY: demo test lint format clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/attnmod diagnose "$(DEMO_PROMPT)" --model $(DEMO_MODEL) --variant full --seed 0 --out $(DEMO_OUT)

# tests/provision.sh installs Chromium and poppler for the report checks, or stops with one line saying what to install.
test: $(STAMP)
	sh tests/provision.sh
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean-venv:
	rm -rf $(VENV)
