# ML Analytics Service: every task a developer or CI runs.
# `make run` and `make test` bootstrap what they need (virtualenv, generated code).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed-stamp
DESCRIPTOR := build/mlanalytics.pb
PROTOS := $(wildcard protos/mlanalytics/v1/*.proto)
TS     := clients/typescript
NPM_STAMP := $(TS)/node_modules/.installed-stamp
DOCS_UI := docs/ui
DOCS_UI_STAMP := $(DOCS_UI)/node_modules/.installed-stamp
DASHBOARD := $(wildcard $(DOCS_UI)/dashboard/*)

.PHONY: run test gen lint fmt seed bench clean

## run: embedded PostgreSQL with demo data (unless POSTGRES_HOST is set), gRPC server, Envoy on 8004
run: gen
	$(PY) -m devstack run

## test: the whole suite: unit, integration (real PostgreSQL), end-to-end (real Envoy)
test: gen
	$(PY) -m pytest $(PYTEST_ARGS)

## gen: Python stubs, typed .pyi, the Envoy descriptor set, the OpenAPI document with the assets
## of /docs and /redoc, the desk view (/dashboard, compiled by tsc), and the TypeScript types
gen: $(DESCRIPTOR)

$(DESCRIPTOR): $(PROTOS) clients/generate.py clients/python/mlanalytics/openapi.py \
		clients/python/mlanalytics/parameters.py clients/python/mlanalytics/faces.py $(STAMP) $(NPM_STAMP) $(DOCS_UI_STAMP) $(DASHBOARD)
	$(PY) clients/generate.py

$(NPM_STAMP): $(TS)/package-lock.json
	cd $(TS) && npm ci --no-audit --no-fund
	touch $@

# swagger-ui-dist, redoc and uplot, pinned by docs/ui/package-lock.json (no install scripts: docs/ui/.npmrc)
$(DOCS_UI_STAMP): $(DOCS_UI)/package-lock.json
	cd $(DOCS_UI) && npm ci
	touch $@

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## lint: ruff (lint + format), mypy --strict, buf lint, tsc (the client and the desk view; envoy
## --mode validate is a test)
lint: gen
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(PY) clients/generate.py --lint
	cd $(TS) && npm run --silent typecheck
	$(TS)/node_modules/.bin/tsc --noEmit -p $(DOCS_UI)/dashboard

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the desk and scale benchmarks through Envoy; writes docs/PERFORMANCE.md
## (needs wrk and h2load: apt-get install wrk nghttp2-client; BENCH_DATABASE_URL: a superuser DSN)
bench: gen
	$(PY) -m bench.run $(BENCH_ARGS)

## seed: load the demo data into the database at DSN (make seed DSN=postgresql://...); rows only
## inside the market session (MARKET_*), or around the clock with CALENDAR=always
seed: gen
	$(PY) -m devstack seed --dsn "$(DSN)" $(if $(CALENDAR),--calendar $(CALENDAR))

clean:
	rm -rf $(VENV) build clients/python/mlanalytics/v1 .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(TS)/node_modules $(TS)/dist $(TS)/src/gen $(DOCS_UI)/node_modules
