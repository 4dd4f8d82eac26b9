# Developer entry points. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k healthz -x"
PYTEST_ARGS ?=
# Parallel pytest processes (pytest-xdist); 0 runs the suite in one process.
PYTEST_WORKERS ?= 2

.PHONY: help run test test-deps lint typecheck bench load fuzz

help:
	@echo "make run    install everything, migrate, load demo data, run web + worker + beat"
	@echo "make test   install test dependencies and run the whole test suite"
	@echo "make lint   ruff format --check and ruff check"
	@echo "make typecheck  mypy (django-stubs) on the services, the policy and common/"
	@echo "make bench  benchmark pages, the sweep and the PDF at scale (PostgreSQL: DATABASE_URL)"
	@echo "make load   50 users for 2 minutes against gunicorn on the scale data (DATABASE_URL)"
	@echo "make fuzz   schemathesis against the API as each role; fails on any 5xx (DATABASE_URL)"

run:
	bin/run

test-deps:
	uv sync --frozen --group dev
	npm ci --no-audit --no-fund
	npm run build
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium for the browser tests"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
		else \
			echo "warning: /usr/bin/chromium is missing (apt-get install chromium); browser tests will fail" >&2; \
		fi; \
	fi

# Tests that start processes (Chromium with a live server, gunicorn, Celery) share one
# xdist group, so they run one after another on one worker (tests/conftest.py).
test: test-deps
	uv run --frozen --no-sync pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint:
	uv sync --frozen --group dev
	uv run --frozen --no-sync ruff format --check .
	uv run --frozen --no-sync ruff check .

typecheck:
	uv sync --frozen --group dev
	uv run --frozen --no-sync mypy

# Benchmarks (not part of CI): PostgreSQL via DATABASE_URL; builds the scale data if missing.
# Extra arguments, e.g. make bench BENCH_ARGS="--skip-build --requests 50"
BENCH_ARGS ?=

bench:
	uv sync --frozen --group dev
	DEMO_MODE=1 uv run --frozen --no-sync python manage.py migrate --noinput -v0
	DEMO_MODE=1 uv run --frozen --no-sync python manage.py bench $(BENCH_ARGS)

load:
	uv sync --frozen --group dev
	scripts/load/run.sh

# API fuzzing (not part of CI): PostgreSQL via DATABASE_URL, on a database of its own
# (<name>_fuzz, rebuilt each run). Time per role, e.g. make fuzz FUZZ_SECONDS=120
fuzz:
	uv sync --frozen --group dev
	scripts/fuzz/run.sh
