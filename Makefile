# Two commands for a fresh machine with Python 3.11:
#   make run   - the Dagster UI on http://127.0.0.1:3000 with schedules and sensors running,
#                the dashboard on http://127.0.0.1:3100 (another UI port: make run PORT=3001)
#   make test  - ruff and the test suite
#                (make test-fast: the unit and db tests; make test-system: the rest)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
# One install serves run, test, notebook and benchmark; the versions are pinned by
# deploy/constraints.txt, the same pins the production image (deploy/Dockerfile) installs.
EXTRAS := dev,notebook,deploy
CONSTRAINTS := deploy/constraints.txt

.PHONY: run test test-fast test-system lint notebook simulator benchmark db-url db-upgrade db-stop constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS) -e ".[$(EXTRAS)]"
	touch $@

# The demo runs against the bundled simulator unless YTMETRICS_SOURCE says otherwise
# (YTMETRICS_SOURCE=youtube with YOUTUBE_API_KEY collects from YouTube).
run: export YTMETRICS_SOURCE ?= simulator
run: $(VENV)/.installed
	$(BIN)/ytmetrics dev --port $(PORT)

test: $(VENV)/.installed
	scripts/ensure_chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The pure and database tests (markers unit, db): no process of their own, so they can share
# the cores (pytest-xdist: each worker has its own embedded Postgres and simulator). Bytecode
# caches are kept even where the environment sets PYTHONDONTWRITEBYTECODE: otherwise every
# worker recompiles the package and re-rewrites every test module (~4 s of CPU each).
# loadgroup: the modules reading one built dataset share a worker (ytmetrics_dagster_tests/
# xdist_groups.py), every other test is scheduled on its own.
test-fast: $(VENV)/.installed
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -m "unit or db" -n auto --maxprocesses 4 --dist loadgroup

# The whole-system tests (marker system): daemon, webserver, make run, containers, browser.
test-system: $(VENV)/.installed
	scripts/ensure_chromium.sh
	$(BIN)/pytest -m system

lint: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

notebook: $(VENV)/.installed
	$(BIN)/ytmetrics db upgrade
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/video_growth.ipynb

benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/snapshot_benchmark.py
	$(BIN)/python benchmarks/growth_benchmark.py
	$(BIN)/python benchmarks/hourly_job_benchmark.py

simulator: $(VENV)/.installed
	$(BIN)/python -m ytmetrics_dagster.youtube.simulator

db-url: $(VENV)/.installed
	@$(BIN)/ytmetrics db url

db-upgrade: $(VENV)/.installed
	$(BIN)/ytmetrics db upgrade

db-stop: $(VENV)/.installed
	$(BIN)/ytmetrics db stop

# Re-pin deploy/constraints.txt after changing dependencies: the runtime closure of the
# project with the deploy extra, resolved fresh in a scratch virtualenv.
constraints: | $(BIN)/python
	rm -rf $(VENV)-pin && $(PYTHON) -m venv $(VENV)-pin
	$(VENV)-pin/bin/python -m pip install --quiet --upgrade pip
	$(VENV)-pin/bin/python -m pip install --quiet ".[deploy]"
	( echo "# Runtime pins for the project and its image (make constraints regenerates them)."; \
	  $(VENV)-pin/bin/python -m pip freeze --exclude ytmetrics-dagster --exclude pip ) > $(CONSTRAINTS)
	rm -rf $(VENV)-pin

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
