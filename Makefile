# Handoff. `make run` serves the demo; `make test` runs lint and the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
API_PORT ?= 8502
PIP := $(BIN)/python -m pip install --disable-pip-version-check --quiet

REPLICAS ?= 2
WORKERS ?= 2
TEAM_PORT ?= 8080
TEAM_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/handoff_team
TEAM_REDIS_URL ?= redis://127.0.0.1:6379/1

.PHONY: run test lint chromium proxy team loadtest migrate seed secrets screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(BIN)/python
	$(PIP) -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

secrets: $(VENV)/.runtime-installed
	$(BIN)/python -m core.cli secrets init

## Serve the app on 127.0.0.1:$(PORT) with the demo workspace (SQLite unless DATABASE_URL says
## otherwise), the REST API on 127.0.0.1:$(API_PORT) and the background worker; Ctrl-C stops all three.
run: $(VENV)/.runtime-installed secrets migrate seed
	@trap 'kill 0' EXIT; export HANDOFF_LIVE_SECONDS=$${HANDOFF_LIVE_SECONDS:-30}; \
	API_PORT=$(API_PORT) $(BIN)/python -m core.cli api serve & \
	$(BIN)/python -m core.cli worker & \
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

migrate: $(VENV)/.runtime-installed
	$(BIN)/python -m core.cli db upgrade

seed: $(VENV)/.runtime-installed
	$(BIN)/python -m core.cli demo seed

$(VENV)/.bench-installed: requirements-bench.txt requirements-dev.txt requirements.txt | $(BIN)/python
	$(PIP) -r requirements-bench.txt
	touch $@ $(VENV)/.dev-installed $(VENV)/.runtime-installed

## The team setup (docs/team.md): $(REPLICAS) app replicas (Streamlit and the REST API each) and
## $(WORKERS) workers over PostgreSQL and Redis, behind HAProxy on 127.0.0.1:$(TEAM_PORT), on the
## demo workspace; Ctrl-C stops it.
team: $(VENV)/.runtime-installed secrets proxy
	DATABASE_URL=$(TEAM_DATABASE_URL) REDIS_URL=$(TEAM_REDIS_URL) HANDOFF_LIVE_SECONDS=$${HANDOFF_LIVE_SECONDS:-30} \
	$(BIN)/python -m deploy.team serve --replicas $(REPLICAS) --workers $(WORKERS) --port $(TEAM_PORT) --seed

## The load test (benchmarks/bench_team_load.py): 60 users for 5 minutes against the team, with
## one replica and then two; prints its figures. A benchmark: not part of `make test`.
loadtest: $(VENV)/.bench-installed secrets proxy
	$(BIN)/python benchmarks/bench_team_load.py

## Lint, then every test: unit, service (SQLite, and PostgreSQL with TEST_DATABASE_URL), AppTest,
## browser, and the team (two replicas and two workers behind HAProxy, with REDIS_URL).
test: $(VENV)/.dev-installed chromium proxy lint
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

## Debian's Chromium for the browser tests (Playwright's own browser download does not work here).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "no Chromium and not root: the browser tests will be skipped"; \
	fi

## Debian's HAProxy, the team setup's proxy (and its tests').
proxy:
	@if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's haproxy for the team setup"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; \
	else \
		echo "no HAProxy and not root: install Debian's haproxy for the team setup"; \
	fi

## The README's screenshots (docs/*.png) of the demo, and every page as every role
## (build/screenshots/, not committed), taken in Debian's Chromium.
screenshots: $(VENV)/.dev-installed chromium
	$(BIN)/python docs/screenshots.py --every-page build/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
