# `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# the CPU build of torch lies here on the project machines; harmless elsewhere
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: install demo test bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(FIND_LINKS) -c constraints.txt -e ".[test]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/aekit demo

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_speed.py
	$(BIN)/python benchmarks/bench_quality.py

clean:
	rm -rf $(VENV) demo-run .pytest_cache
