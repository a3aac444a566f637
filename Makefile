# `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# the CPU build of torch lies here on the project machines; harmless elsewhere
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

PEERS  ?= .venv-peers

.PHONY: install demo test bench bench-no-bf16 bench-peers bench-quality clean

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

# the side-by-side speed table (aekit, plain PyTorch; Keras and pythae once `make bench-peers` ran)
bench: install
	$(BIN)/python benchmarks/bench_speed.py

# the same table as a host without native bf16 runs it: oneDNN held to the highest level below AVX512_CORE_BF16
bench-no-bf16: install
	ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI $(BIN)/python benchmarks/bench_speed.py

# the peers bench_speed.py compares with, in their own venv (not aekit's)
bench-peers: $(PEERS)/.installed

$(PEERS)/.installed: benchmarks/requirements-peers.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q --upgrade pip
	$(PEERS)/bin/python -m pip install -q $(FIND_LINKS) -r benchmarks/requirements-peers.txt
	touch $@

bench-quality: install
	$(BIN)/python benchmarks/bench_quality.py

clean:
	rm -rf $(VENV) $(PEERS) demo-run .pytest_cache
