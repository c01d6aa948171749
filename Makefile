# Every target sets up its own virtual environment from the hashed lock file (bin/setup-venv,
# shared with bin/enrich); the stamp makes the second call instant.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: enrich demo test lint bench docs clean help

help:
	@echo "make enrich  - run the pipeline on raw/ into enriched/ (needs arXiv)"
	@echo "make demo    - the whole pipeline against the bundled arXiv stand-in (no network)"
	@echo "make test    - ruff + pytest"
	@echo "make bench   - benchmarks against the stand-in (writes bench/results.json)"
	@echo "make docs    - regenerate docs/tables.md from the table declarations"

$(STAMP): requirements.lock pyproject.toml
	PYTHON=$(PYTHON) bin/setup-venv

enrich: $(STAMP)
	$(PY) -m pipeline enrich

demo: $(STAMP)
	$(PY) -m pipeline demo

lint: $(STAMP)
	$(PY) -m ruff check pipeline tests bench tools
	$(PY) -m ruff format --check pipeline tests bench tools

test: lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

docs: $(STAMP)
	$(PY) -m pipeline docs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
