# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv/ themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: demo test lint bench synth deploy destroy layers clean

demo: $(VENV)/.runtime  ## run the whole pipeline locally on generated data
	$(BIN)/fleetcast demo

test: $(VENV)/.dev node_modules $(CHROMIUM)  ## run every test (unit, Spark, infra, e2e, report in Chromium)
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check fleetcast tests bench

bench: $(VENV)/.dev  ## re-run the benchmarks whose figures are in the README
	$(BIN)/python bench/ingest_speed.py
	$(BIN)/python bench/risk_flags.py
	$(BIN)/python bench/scaling_nasa.py
	$(BIN)/python bench/forecast_nasa.py
	$(BIN)/python bench/forecast_nasa_floor.py
	$(BIN)/python bench/forecast_late_data.py
	$(BIN)/python bench/forecast_generalisation.py
	$(BIN)/python bench/forecast_fleet_speed.py
	$(BIN)/python bench/risk_scale.py
	$(BIN)/python bench/api_latency.py
	$(BIN)/python bench/handler_imports.py

synth: $(VENV)/.dev node_modules  ## CloudFormation template into cdk.out/ (offline, no Docker)
	npx cdk synth --quiet

deploy: $(VENV)/.dev node_modules  ## needs AWS credentials and Docker (the forecast image)
	npx cdk deploy

destroy: node_modules
	npx cdk destroy

layers: $(VENV)/.dev  ## build the pure-Python core Lambda layer into layers/build/
	$(BIN)/python -m layers.build

$(CHROMIUM):  ## Debian's Chromium: the report test opens the HTML report in it, headless
	$(SUDO) apt-get install -y -q chromium || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.runtime: requirements.txt constraints.txt pyproject.toml setup.py fleetcast/ingest/_clf.c | $(BIN)/python
	$(PIP) -r requirements.txt -c constraints.txt
	$(PIP) --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) -r requirements-dev.txt -c constraints.txt
	touch $@

clean:
	rm -rf $(VENV) node_modules cdk.out fleetcast-demo .pytest_cache
