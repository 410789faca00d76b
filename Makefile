# Two commands for a fresh machine with Python 3.11:
#   make run   - the Dagster UI on http://127.0.0.1:3000 with schedules and sensors running
#   make test  - ruff and the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint notebook simulator benchmark db-url db-upgrade db-stop clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/ytmetrics dev

test: $(VENV)/.installed
	scripts/ensure_chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

notebook: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,notebook]"
	$(BIN)/ytmetrics db upgrade
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/video_growth.ipynb

benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/snapshot_benchmark.py
	$(BIN)/python benchmarks/growth_benchmark.py

simulator: $(VENV)/.installed
	$(BIN)/python -m ytmetrics_dagster.youtube.simulator

db-url: $(VENV)/.installed
	@$(BIN)/ytmetrics db url

db-upgrade: $(VENV)/.installed
	$(BIN)/ytmetrics db upgrade

db-stop: $(VENV)/.installed
	$(BIN)/ytmetrics db stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
