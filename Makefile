# Sift: `make run` sets everything up and starts Sift; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: run test lint bench eval clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch first: anything installed after it must not replace it.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/sift $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(VENV)/bin/sift bench --corpus ../shared/data/ir/scifact

eval: $(STAMP)
	$(VENV)/bin/sift eval ../shared/data/ir/scifact
	$(VENV)/bin/sift eval ../shared/data/ir/cranfield

clean:
	rm -rf $(VENV) build dist *.egg-info
