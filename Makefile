# make test: set up .venv and run the fast suite (not `slow`); make test-all: the whole suite (CI);
# make demo: set up and run the demo; make bench: benchmarks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-all demo bench venv clean deps

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# compat: a plain path entry in a .pth; the default editable mode installs an import hook that
	# costs every osvc-engine command (and `python -c pass`) ~20 ms before it starts. setuptools
	# calls compat transitional: when a future one refuses it, fall back to the default mode.
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=compat 2>/dev/null \
		|| $(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The Debian packages the demo and the suite run for real (deps/debian-packages.txt, the list CI uses too):
# installed when missing as root, else a stop with the `apt-get install` line to run.
deps:
	sh deps/install

# -n auto: one xdist worker a CPU; worksteal: an idle worker takes tests queued on a busy one (the crash
# matrices' kill points take seconds each). PYTEST_ARGS adds options or narrows the selection.
PYTEST := $(PY) -m pytest -q -n auto --dist worksteal --durations=15

test: deps $(STAMP)
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

test-all: deps $(STAMP)
	$(PYTEST) $(PYTEST_ARGS)

demo: deps $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sh demo/run.sh

bench: $(STAMP)
	# bytecode for every module: an editable install writes none, and with PYTHONDONTWRITEBYTECODE
	# set every command would compile the engine again (~45 ms) and the benchmark would measure that
	$(PY) -m compileall -q cli.py engine drivers machines journal collector
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/run.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache demo-root
