# `make help` lists the targets. The README's two set-up commands are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STANCE := $(VENV)/bin/stance

.PHONY: help install demo test test-fast lint
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed  ## create .venv and install the project with its test tools

demo: install  ## install, then run the main job on the seed articles
	$(STANCE) pairs seeds/*.txt

test: install  ## install, then run the whole test suite (what CI runs)
	$(PY) -m pytest

test-fast: install  ## the suite without slow tests
	$(PY) -m pytest -m "not slow"

lint: install  ## ruff lint and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
