# Partnerlens: `make demo` and `make test` are the whole set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DBT_PROFILES_DIR := $(CURDIR)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Playwright drives Debian's chromium (make browser); it never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
BENCH_TOUCHPOINTS ?= 1000000 10000000

.PHONY: help setup browser postgres java demo test lint bench dev docs clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## (.*)/  make \1\t\2/' | expand -t 16

SETUP_LOG := logs/setup.log

# The installation's own output (pip's notices, build warnings) goes to $(SETUP_LOG); on failure its end is printed.
$(STAMP): pyproject.toml constraints.txt
	@mkdir -p $(dir $(SETUP_LOG))
	@echo "setup: installing .venv (Python 3.11, pinned by constraints.txt); log in $(SETUP_LOG)"
	@{ $(PYTHON) -m venv $(VENV) \
	   && $(PY) -m pip install --quiet --upgrade pip \
	   && $(PY) -m pip install --quiet -c constraints.txt -e '.[dev]' \
	   && $(VENV)/bin/dbt parse --quiet; } > $(SETUP_LOG) 2>&1 \
	  || { tail -n 40 $(SETUP_LOG); echo "setup failed: see $(SETUP_LOG)"; exit 1; }
	@touch $(STAMP)
	@echo "setup: done"

setup: $(STAMP)  ## create the virtual environment and install everything

demo: setup  ## generate demo feeds, run the nightly job on DuckDB, print a summary (DEMO_ARGS=--verbose: every log)
	$(PY) -m partnerlens demo $(DEMO_ARGS)

browser:  ## install Debian's chromium for the browser tests
	bash scripts/install_browser.sh

postgres:  ## install Debian's PostgreSQL 15 server for the PostgreSQL tests (they start a throwaway cluster)
	bash scripts/install_postgres.sh

java:  ## install Debian's Java 17 runtime for the Spark tests (a local SparkSession)
	bash scripts/install_java.sh

test: setup browser postgres java  ## the whole test suite
	$(PY) -m pytest

lint: setup  ## sqlfluff on the dbt SQL (models, data tests), ruff on the Python code
	PARTNERLENS_WAREHOUSE=:memory: DBT_TARGET_PATH=target/sqlfluff $(VENV)/bin/sqlfluff lint models data-tests
	$(VENV)/bin/ruff check partnerlens orchestration tests bench
	$(VENV)/bin/ruff format --check partnerlens orchestration tests bench

bench: setup  ## the benchmark at BENCH_TOUCHPOINTS scales (default 1M and 10M)
	$(PY) -m partnerlens.bench $(BENCH_TOUCHPOINTS)

dev: setup  ## the Dagster UI on the code location (it lists the runs of `make demo` and `partnerlens run` too)
	@$(PY) -c 'from partnerlens.runner import ensure_dagster_home; ensure_dagster_home()'
	$(VENV)/bin/dagster dev -m orchestration.definitions

docs: setup  ## dbt docs of the served marts with their column types (runs the demo first if there is no warehouse)
	$(PY) -m partnerlens docs --demo

clean:
	rm -rf target logs warehouse landing .dagster_home
