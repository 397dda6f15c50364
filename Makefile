# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(PY) -m flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000
# The demo data's language on the first run: ru (default) or en (`make run DEMO_LANGUAGE=en`).
DEMO_LANGUAGE ?= ru

.PHONY: run test lint format bench demo clean-venv messages check-messages

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

## run: install, migrate, load demo data on first run, serve on http://127.0.0.1:5000
run: $(VENV)/.installed
	$(FLASK) crm init-db
	$(FLASK) crm demo --if-empty --language $(DEMO_LANGUAGE)
	$(FLASK) run --host $(HOST) --port $(PORT)

## test: the whole suite (SQLite always; PostgreSQL/Redis when TEST_DATABASE_URL/TEST_REDIS_URL are set)
test: $(VENV)/.test-installed
	@test -n "$$TEST_DATABASE_URL" || echo "NOTE: TEST_DATABASE_URL not set: PostgreSQL tests will be skipped."
	@test -n "$$TEST_REDIS_URL" || echo "NOTE: TEST_REDIS_URL not set: Redis/RQ worker tests will be skipped."
	$(PY) -m pytest -n 2 --dist loadgroup -p no:cacheprovider tests

## messages: extract the interface strings into every catalog (crm/**/translations/*.po)
messages: $(VENV)/.installed
	$(FLASK) crm i18n update

## check-messages: fail when a catalog misses, leaves untranslated or keeps a stale string
check-messages: $(VENV)/.installed
	$(FLASK) crm i18n check

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.test-installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: speed benchmarks (see bench/README section in README.md)
bench: $(VENV)/.test-installed
	$(PY) bench/partners_bench.py
	$(PY) bench/receivables_bench.py
	$(PY) bench/import_bench.py
	$(PY) bench/partner_import_bench.py
	$(PY) bench/interactions_bench.py
	$(PY) bench/deals_bench.py
	$(PY) bench/analytics_bench.py
	$(PY) bench/segments_bench.py
	$(PY) bench/messaging_bench.py
	$(PY) bench/load_bench.py

clean-venv:
	rm -rf $(VENV)
