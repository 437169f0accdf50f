# Miles task runner. The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WHEELS := $(wildcard /opt/wheels)
PIP_FLAGS := -c constraints.txt $(if $(WHEELS),--find-links $(WHEELS))
HTMX := src/miles/serve/static/vendor/htmx.min.js
SWAGGER := src/miles/serve/static/vendor/swagger-ui/swagger-ui-bundle.js
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint fix bench migrate train install clean-venv browser-deps

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(PIP_FLAGS) -e '.[dev]'
	touch $(STAMP)

$(HTMX):
	mkdir -p $(dir $(HTMX)) .npm-vendor
	cd .npm-vendor && npm install --no-audit --no-fund --silent htmx.org@2.0.4 >/dev/null
	cp .npm-vendor/node_modules/htmx.org/dist/htmx.min.js $(HTMX)

# Swagger UI for /docs, served by Miles itself (FastAPI's default loads it from a CDN: a blank page offline)
$(SWAGGER):
	mkdir -p $(dir $(SWAGGER)) .npm-vendor
	cd .npm-vendor && npm install --no-audit --no-fund --silent swagger-ui-dist@5.36.0 >/dev/null
	cp .npm-vendor/node_modules/swagger-ui-dist/swagger-ui-bundle.js .npm-vendor/node_modules/swagger-ui-dist/swagger-ui.css $(dir $(SWAGGER))

install: $(STAMP) $(HTMX) $(SWAGGER)

migrate: install
	$(BIN)/miles db upgrade

run: install migrate
	$(BIN)/miles demo-data --if-empty
	$(BIN)/miles model prepare
	$(BIN)/miles serve

browser-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will skip"

test: install browser-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

fix: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

bench: install
	$(BIN)/python -m benchmarks.run --out benchmarks/results.json

train: install
	$(BIN)/miles train --task prepublish --db

clean-venv:
	rm -rf $(VENV)
