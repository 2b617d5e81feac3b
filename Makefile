# The two commands of the quick start are `make demo` and `make test`; both set
# everything up from a clean clone (virtual environment, pinned dependencies).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock requirements-nodeps.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup demo test lint format bench docs clean

setup: $(STAMP)

$(STAMP): requirements.lock requirements-nodeps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "shopfloor needs Python 3.11, found " + sys.version.split()[0]' 
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: setup
	bash scripts/ensure-system.sh mosquitto
	$(BIN)/shopfloor demo $(if $(CI),--no-serve,)

test: setup
	bash scripts/ensure-system.sh chromium chromium-driver wrk mosquitto mosquitto-clients openjdk-17-jre-headless
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: setup
	bash scripts/ensure-system.sh postgresql
	$(BIN)/python benchmarks/ingest.py --rows 10000000 100000000 --json .bench/results/ingest.json

docs: setup
	$(BIN)/python -m shopfloor.cli.reference cli > docs/cli.md
	$(BIN)/python -m shopfloor.cli.reference data-model > docs/data-model.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache shopfloor-lake .bench
