# make test: set up .venv and run the whole suite; make demo: set up and run the demo; make bench: benchmarks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench venv clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sh demo/run.sh

bench: $(STAMP)
	# bytecode for every module: an editable install writes none, and with PYTHONDONTWRITEBYTECODE
	# set every command would compile the engine again (~45 ms) and the benchmark would measure that
	$(PY) -m compileall -q cli.py engine drivers machines journal
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/run.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache demo-root
