# MiniTwit developer commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-run run test lint format migrations-check check bench clean

# Two installs: `run` needs only requirements.txt (a 124 MB .venv); everything else also
# needs the test and lint tools of requirements-dev.txt (Playwright alone is 165 MB).
install-run: $(VENV)/.installed-run
install: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# requirements-dev.txt includes requirements.txt, so this covers `run` as well.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

## Set up and serve MiniTwit on http://127.0.0.1:8000 (SQLite in ./data unless DATABASE_URL is set).
run: install-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	# gunicorn's asyncio worker with the ASGI app: nothing buffers bodies in front of it here,
	# and a slow body then holds a coroutine, not a sync worker (docs/security.md, "Slow
	# bodies"). Django advises against persistent connections under ASGI, hence 0. Two
	# workers, each serving many connections, are plenty for one developer and start in
	# about two thirds of the time five take (second make run to first page, interleaved:
	# 9.1-10.3 s against 13.6-16.4 s at load 5); WEB_CONCURRENCY still wins.
	WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} DB_CONN_MAX_AGE=$${DB_CONN_MAX_AGE:-0} $(BIN)/gunicorn --config gunicorn.conf.py --worker-class asgi minitwit_project.asgi:application

## Set up and run the whole test suite (SQLite unless DATABASE_URL is set).
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

# Everything a commit must pass besides the tests; .pre-commit-config.yaml runs the same.
check: lint migrations-check
	$(BIN)/python manage.py check
	$(BIN)/mypy

## Measure speed against the course reference and at a million messages (docs/performance.md):
## about 20 minutes; BENCH=quick for CI's 2-3 minute smoke version; more options in BENCH_ARGS
## (`make bench BENCH_ARGS=--help`). The course reference runs when BENCH_REFERENCE names its
## directory.
bench: install
	$(BIN)/python benchmarks/bench.py $(if $(filter quick,$(BENCH)),--quick) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
