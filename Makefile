# Every target sets up its own virtual environment from the hashed lock file (bin/setup-venv,
# shared with bin/enrich); the stamp makes the second call instant.
# `make help` lists the targets from their `## ` comments, so the list cannot fall behind.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help enrich demo report status test lint bench faults docs clean

help: ## this list
	@awk -F':.*## ' '/^[a-z]+:.*## / { printf "make %-7s - %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(STAMP): requirements.lock pyproject.toml
	PYTHON=$(PYTHON) bin/setup-venv

enrich: $(STAMP) ## run the pipeline on raw/ into enriched/ (needs arXiv; cron: bin/enrich)
	$(PY) -m pipeline enrich

demo: $(STAMP) ## the whole pipeline against the bundled arXiv stand-in, into demo/ (no network)
	$(PY) -m pipeline demo --digests raw/digests

report: $(STAMP) ## enriched/report.html, enriched.duckdb and schema.json again (staleness as of today)
	$(PY) -m pipeline report

status: $(STAMP) ## the published generation, last arXiv contact, pending and stale digests
	$(PY) -m pipeline status

lint: $(STAMP) ## ruff check + ruff format --check + mypy (type check)
	$(PY) -m ruff check pipeline tests bench tools
	$(PY) -m ruff format --check pipeline tests bench tools
	$(PY) -m mypy

test: lint ## lint (ruff, mypy), then pytest
	$(PY) -m pytest -q

bench: $(STAMP) ## benchmarks against the stand-in (writes bench/results.md and .json)
	$(PY) -m bench

faults: $(STAMP) ## fault harness alone: cases tried, survived, data lost (bench/faults/results.md)
	$(PY) -m bench --only faults --output-dir bench/faults

docs: $(STAMP) ## regenerate docs/tables.md and docs/configuration.md
	$(PY) -m pipeline docs

clean: ## remove .venv/ and the caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
