# aifinops: `make run` starts the product, `make test` runs the whole suite. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format serve worker beat bench bench-authorize bench-usage bench-otlp bench-dashboard migrate seed clean help

help:
	@echo "make run     the product on SQLite with demo data at http://$(HOST):$(PORT)"
	@echo "make test    the whole test suite on a real PostgreSQL and Redis (started for you)"
	@echo "make lint    ruff and the import contracts (docs/architecture.md)"
	@echo "make serve / worker / beat   the production processes (need the production variables)"

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The FinOps Foundation's focus-validator checks the FOCUS export. It needs Python 3.12, so it gets
# an environment of its own when the machine has a Python 3.12 (pyenv's included); without one,
# or without the registry, its test is skipped and says why.
PYTHON312 ?= $(shell for p in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12.*/bin/python3.12 2>/dev/null); do $$p -c 'import sys' 2>/dev/null && { echo $$p; break; }; done)
VALIDATOR := .venv-focus-validator
VALIDATOR_STAMP := $(VALIDATOR)/.installed

$(VALIDATOR_STAMP): requirements-validator.txt
	@if [ -z "$(PYTHON312)" ]; then echo "No Python 3.12 here: the focus-validator test will be skipped."; \
	else $(PYTHON312) -m venv $(VALIDATOR) && $(VALIDATOR)/bin/python -m pip install --quiet -r requirements-validator.txt \
	  && touch $@ || echo "focus-validator could not be installed: its test will be skipped."; fi

# The real LiteLLM proxy of the gateway test, in its own environment (its proxy extra pins a
# gunicorn older than the product's), with the gateway client installed in it.
LITELLM_VENV := .venv-litellm
LITELLM_STAMP := $(LITELLM_VENV)/.installed

$(LITELLM_STAMP): requirements-litellm.txt clients/python/pyproject.toml
	test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LITELLM_VENV)/bin/python -m pip install --quiet -r requirements-litellm.txt -e ./clients/python
	touch $@

# The suite runs in TEST_WORKERS processes (pytest-xdist), each with its own test database and Redis
# database; the tests on the demo data share one of them. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: $(STAMP) $(VALIDATOR_STAMP) $(LITELLM_STAMP)
	FOCUS_VALIDATOR_PYTHON=$(CURDIR)/$(VALIDATOR)/bin/python LITELLM_BIN=$(CURDIR)/$(LITELLM_VENV)/bin/litellm \
		scripts/with-services $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Benchmarks print their figures and the ratio to a baseline run in the same invocation, and
# append them to bench/results.md. `make bench` runs the five; each also runs on its own.
bench: bench-ingest bench-dashboard bench-authorize bench-usage bench-otlp

# A generated FOCUS file of BENCH_ROWS AI token lines, imported end to end, against a plain COPY.
BENCH_ROWS ?= 100000
bench-ingest: $(STAMP)
	scripts/with-services $(BIN)/python bench/ingest.py --rows $(BENCH_ROWS)

# gunicorn (production profile) on throwaway PostgreSQL and Redis, driven on loopback for
# BENCH_SECONDS against /healthz and POST /api/v1/authorize/; prints the figures and the load.
BENCH_SECONDS ?= 20
bench-authorize: $(STAMP)
	scripts/with-services $(BIN)/python bench/authorize.py --seconds $(BENCH_SECONDS)

# gunicorn (production profile) and a Celery worker on throwaway PostgreSQL and Redis: batches of
# 1,000 usage events for BENCH_SECONDS against /healthz and a plain INSERT; prints events/s
# accepted, the lag until the rollups catch up, and the load.
bench-usage: $(STAMP)
	scripts/with-services $(BIN)/python bench/usage.py --seconds $(BENCH_SECONDS)

# The same stack: GenAI spans/s accepted by POST /api/v1/otlp/v1/traces (512 spans a request, the
# SDK's batch) against usage events/s with the same records, in one run; prints the load.
BENCH_OTLP_SECONDS ?= 10
bench-otlp: $(STAMP)
	scripts/with-services $(BIN)/python bench/otlp.py --seconds $(BENCH_OTLP_SECONDS)

# The finance pages at seed_demo size and at BENCH_RECORDS generated spend records.
BENCH_RECORDS ?= 10000000
bench-dashboard: $(STAMP)
	scripts/with-services $(BIN)/python bench/dashboard.py --records $(BENCH_RECORDS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The production processes. They read the same variables as docker-compose.yml.
serve: $(STAMP)
	DJANGO_SETTINGS_MODULE=aifinops.settings.production $(BIN)/python manage.py migrate --no-input
	DJANGO_SETTINGS_MODULE=aifinops.settings.production $(BIN)/python manage.py collectstatic --no-input
	DJANGO_SETTINGS_MODULE=aifinops.settings.production $(BIN)/gunicorn aifinops.wsgi:application \
		--bind 0.0.0.0:$(PORT) --workers $${WEB_CONCURRENCY:-3} --access-logfile -

worker: $(STAMP)
	DJANGO_SETTINGS_MODULE=aifinops.settings.production $(BIN)/celery -A aifinops worker --loglevel=INFO

beat: $(STAMP)
	DJANGO_SETTINGS_MODULE=aifinops.settings.production $(BIN)/celery -A aifinops beat --loglevel=INFO

clean:
	rm -rf $(VENV) var/*.sqlite3 staticfiles .pytest_cache
