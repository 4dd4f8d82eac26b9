# Developer entry points. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k healthz -x"
PYTEST_ARGS ?=

.PHONY: help run test test-deps lint

help:
	@echo "make run    install everything, migrate, load demo data, run web + worker + beat"
	@echo "make test   install test dependencies and run the whole test suite"
	@echo "make lint   ruff"

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

test: test-deps
	uv run --frozen --no-sync pytest -p no:cacheprovider $(PYTEST_ARGS)

lint:
	uv sync --frozen --group dev
	uv run --frozen --no-sync ruff check .
