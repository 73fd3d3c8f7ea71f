# Strongroom developer entry points. Only python3 and make are needed; everything else is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 7420
DATA   ?= $(CURDIR)/data
PYTEST_ARGS ?=

.PHONY: serve test lint bench bench-server bench-client bench-cache bench-profile clean postgres mariadb update-models

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The server, PostgreSQL support and the test tools (pyproject.toml: the client alone needs none of them).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,postgres,test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[server,postgres,test,bench]'
	touch $@

## serve: install into .venv and run the server on the embedded SQLite store (emulator mode).
serve: $(VENV)/.installed
	$(BIN)/strongroom serve --host 127.0.0.1 --port $(PORT) --data-dir $(DATA) --dev

## postgres: make sure the local PostgreSQL the tests use is up.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { \
	  command -v pg_ctlcluster >/dev/null && \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start && \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; } || \
	  echo "warning: PostgreSQL is not reachable at 127.0.0.1:5432; its tests will be skipped"

## mariadb: make sure the local MariaDB the rotator tests use is up (when it is installed).
mariadb:
	@mariadb-admin -h 127.0.0.1 -u root status >/dev/null 2>&1 || { \
	  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; } && { \
	  mariadb-admin -h 127.0.0.1 -u root status >/dev/null 2>&1 || { \
	  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd && \
	  for i in $$(seq 1 30); do mariadb-admin -h 127.0.0.1 -u root status >/dev/null 2>&1 && break; sleep 1; done; }; } || \
	  echo "warning: MariaDB is not reachable at 127.0.0.1:3306; its tests will be skipped"

## test: install, start PostgreSQL and MariaDB if needed, run the whole suite.
test: $(VENV)/.installed postgres mariadb
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy src

## update-models: copy the installed botocore's models of the registered services into src/strongroom/protocol/models.
update-models: $(VENV)/.installed
	$(BIN)/python scripts/update_models.py

## bench: every benchmark: the server harness (bench-server), then the client and cache benchmarks (bench-client).
bench: bench-server bench-client

## bench-server: the server benchmark harness with authentication on (see docs/benchmarks.md).
bench-server: $(VENV)/.installed-bench
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## bench-client: the client benchmark (docs/benchmarks.md, "Client"). aiobotocore and boto3 get a venv of
## their own: aiobotocore pins an older botocore than the server's service model needs.
BASELINE := .venv-baseline
$(BASELINE)/.installed:
	$(PYTHON) -m venv $(BASELINE)
	$(BASELINE)/bin/pip install --quiet aiobotocore boto3 uvloop
	touch $@

bench-client: $(VENV)/.installed $(BASELINE)/.installed
	$(BIN)/python -m bench.client --baseline-python $(BASELINE)/bin/python $(CLIENT_BENCH_ARGS)
	$(BIN)/python -m bench.cache $(CACHE_BENCH_ARGS)

## bench-cache: the secret cache's part of bench-client alone (hit cost; requests of 1,000 concurrent readers).
bench-cache: $(VENV)/.installed
	$(BIN)/python -m bench.cache $(CACHE_BENCH_ARGS)

## bench-profile: profile one worker under load with py-spy (see docs/benchmarks.md).
bench-profile: $(VENV)/.installed-bench
	$(BIN)/python -m bench.profile $(PROFILE_ARGS)

clean:
	rm -rf $(VENV) $(BASELINE) build dist src/*.egg-info .pytest_cache .ruff_cache
