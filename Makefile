# Developer entry points. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv, installed with pip first on a machine that has none (bin/uv).
UV := bin/uv
# Debian packages the tests need: Chromium for the browser tests, poppler-utils to read
# PDFs back, and the libraries WeasyPrint lays PDFs out with.
TEST_PACKAGES := chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0

# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k healthz -x"
PYTEST_ARGS ?=
# Parallel pytest processes (pytest-xdist); 0 runs the suite in one process.
PYTEST_WORKERS ?= 2

.PHONY: help run test test-deps lint typecheck bench load fuzz faults

help:
	@echo "make run    install everything, migrate, load demo data, run web + worker + beat"
	@echo "make test   install test dependencies and run the whole test suite"
	@echo "make lint   ruff format --check and ruff check"
	@echo "make typecheck  mypy (django-stubs) on the services, the policy and common/"
	@echo "make bench  benchmark pages, the sweep and the PDF at scale (PostgreSQL: DATABASE_URL)"
	@echo "make load   50 users for 2 minutes against gunicorn on the scale data (DATABASE_URL)"
	@echo "make fuzz   schemathesis against the API as each role; fails on any 5xx (DATABASE_URL)"
	@echo "make faults 1,000 escalations while Redis, the worker, PostgreSQL and SMTP fail"

run:
	bin/run

test-deps:
	$(UV) sync --frozen --group dev
	npm ci --no-audit --no-fund
	npm run build
	bin/system-packages $(TEST_PACKAGES)

# Tests that start processes (Chromium with a live server, gunicorn, Celery) share one
# xdist group, so they run one after another on one worker (tests/conftest.py).
test: test-deps
	$(UV) run --frozen --no-sync pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint:
	$(UV) sync --frozen --group dev
	$(UV) run --frozen --no-sync ruff format --check .
	$(UV) run --frozen --no-sync ruff check .

typecheck:
	$(UV) sync --frozen --group dev
	$(UV) run --frozen --no-sync mypy

# Benchmarks (not part of CI): PostgreSQL via DATABASE_URL; builds the scale data if missing.
# Extra arguments, e.g. make bench BENCH_ARGS="--skip-build --requests 50"
BENCH_ARGS ?=

bench:
	$(UV) sync --frozen --group dev
	DEMO_MODE=1 $(UV) run --frozen --no-sync python manage.py migrate --noinput -v0
	DEMO_MODE=1 $(UV) run --frozen --no-sync python manage.py bench $(BENCH_ARGS)

load:
	$(UV) sync --frozen --group dev
	scripts/load/run.sh

# API fuzzing (not part of CI): PostgreSQL via DATABASE_URL, on a database of its own
# (<name>_fuzz, rebuilt each run). Time per role, e.g. make fuzz FUZZ_SECONDS=120
fuzz:
	$(UV) sync --frozen --group dev
	scripts/fuzz/run.sh

# Fault injection (not part of CI; its short version is a test): its own PostgreSQL,
# Redis and SMTP sink, a real worker and beat; 1,000 cases to their fourth default under
# each fault. Results in var/faults/. Arguments, e.g. make faults FAULTS_ARGS="--only a,e"
FAULTS_ARGS ?=

faults:
	$(UV) sync --frozen --group dev
	$(UV) run --frozen --no-sync python scripts/faults/run.py $(FAULTS_ARGS)
