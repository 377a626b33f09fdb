# `make help` lists the targets. The README's two set-up commands are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STANCE := $(VENV)/bin/stance

# The default model: the committed corpus, its committed splits, TrainSettings' defaults.
TRAIN_DEFAULT := train --data training/data/corpus --splits training/data/splits.json

.PHONY: help install lock model demo serve test test-fast lint
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

# Installs under the lock file's pins, so a new release inside pyproject's ranges cannot
# change what CI or a fresh set-up runs; `make lock` moves the pins on deliberately.
$(VENV)/.installed: pyproject.toml requirements/dev.lock
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/dev.lock -e ".[train,test]"
	touch $@

install: $(VENV)/.installed  ## create .venv and install the project with its training and test extras, as locked

lock: install  ## upgrade within pyproject's ranges, then pin the result in requirements/*.lock
	$(PY) -m pip install -q --upgrade --upgrade-strategy eager -e ".[train,test]"
	$(PY) tools/lock_requirements.py

model: install  ## build and register the default model unless one is registered
	$(STANCE) $(TRAIN_DEFAULT) --if-missing

demo: model  ## install, build the default model if needed, score the seeds through the API
	$(STANCE) demo seeds/*.txt

serve: model  ## build the default model if none is registered, then serve it on port 3000 (PORT=...)
	$(VENV)/bin/bentoml serve service.service:TroopStance --port $${PORT:-3000}

test: install  ## install, then run the whole test suite (what CI runs)
	$(PY) -m pytest

test-fast: install  ## the suite without slow tests
	$(PY) -m pytest -m "not slow"

lint: install  ## ruff lint and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
