# Two commands a newcomer needs: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The seedwatch command sets Prefect's environment itself (analytics off, PREFECT_HOME beside
# the warehouse: see seedwatch/prefect_env.py); the tests get the same from tests/conftest.py.
# Analytics stay off here too, for the benchmarks that run Prefect without the command.
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
# Labelled data for `make eval` (never in the repository): found beside the main checkout, or
# named with EVAL_DIR=/path/to/eval.
EVAL_DIR ?=

.PHONY: install demo test bench bench-ui eval clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/seedwatch demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.faults

bench-ui: $(STAMP)
	$(BIN)/python -m bench.ui

eval: $(STAMP)
	$(eval EVAL_FILES := $(shell $(BIN)/python -m seedwatch.evaldata $(EVAL_DIR) 2>/dev/null))
	$(if $(EVAL_FILES),,$(error make eval: no labelled data (dev.jsonl.gz) found beside this checkout, its main checkout or its origin; give its folder: make eval EVAL_DIR=/path/to/eval))
	$(BIN)/seedwatch eval $(EVAL_FILES)

clean:
	rm -rf $(VENV) .prefect demo-run demo-warehouse.duckdb*
