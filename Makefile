# Sillage — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export SILLAGE_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: install translations migrate demo run test bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@if [ -d app/translations ]; then $(BIN)/pybabel compile -q -d app/translations; fi

migrate: install
	$(BIN)/sillage db upgrade

demo: migrate
	$(BIN)/sillage demo

run: demo
	$(BIN)/sillage serve --host 127.0.0.1 --port 5000

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install
	$(BIN)/python tests/benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
