# Preflight: `make run` to try it, `make test` to run the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test screenshots lint bench bench-load install migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# Python keeps compiled modules (and pytest its assertion-rewritten tests) in __pycache__, even where
# the environment says not to: without them every run, every xdist worker and every subprocess a
# test starts compiles the project again (about 4 s of CPU per process).
unexport PYTHONDONTWRITEBYTECODE

# Two workers (the machine has two cores); a test file stays on one worker.
PYTEST_ARGS ?= -n 2 --dist loadfile

test: install lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# The browser tests again, saving a full-page screenshot of every page they check under
# tests/browser/screenshots/<test>/ (make test takes none).
screenshots: install
	PREFLIGHT_SCREENSHOTS=1 $(BIN)/pytest $(PYTEST_ARGS) tests/browser

# Speed on a scratch database (never db.sqlite3): the first run (migrate, seed_demo, first page),
# 1,000 launches and a demo-sized launch; see docs/performance.md. Two or three minutes
# (BENCH_ARGS=--first-run-only: the first run alone; --tiny: a few seconds, no target judged, as
# tests/test_benchmark_script.py runs it); not part of `make test`.
bench: install
	$(BIN)/python scripts/benchmark.py $(BENCH_ARGS)

# Under load: gunicorn + PostgreSQL (a database of its own on 127.0.0.1:5432, dropped after) +
# Celery on Redis, each page's requests per second and latencies, then 50 people with locust;
# about 15 minutes with the default 1,400 launches. See docs/performance.md, "Load".
bench-load: install
	$(BIN)/python scripts/bench_load.py $(BENCH_LOAD_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
