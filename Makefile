# Anfang — set-up for a fresh machine is two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo serve test check lint typecheck bench os-packages messages migrate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

# OS packages (Chromium for browser tests, CJK fonts for PDFs, gettext): one script, idempotent.
os-packages:
	bash scripts/install-os-packages.sh

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

# The demo console is alive: simulated devices push events (ISAPI to the server; Dahua streams;
# MQTT only when a broker answers on ANFANG_MQTT_URL) while the server runs, and stop with it.
SIM_DEVICES ?= 40
SIM_RATE ?= 2
demo: migrate
	$(PY) manage.py seed_demo
	@mkdir -p var; \
	$(PY) manage.py simulate --devices $(SIM_DEVICES) --rate $(SIM_RATE) --protocols isapi,mqtt,dahua \
		--skip-unavailable --ingest --url http://$(HOST):$(PORT) --wait 120 --every 60 > var/simulate.log 2>&1 & \
	sim=$$!; trap 'kill $$sim 2>/dev/null; wait $$sim 2>/dev/null' EXIT INT TERM; \
	echo "Device simulator: $(SIM_DEVICES) devices, $(SIM_RATE) events/s (log: var/simulate.log)"; \
	echo "Serving Anfang at http://$(HOST):$(PORT)/  (Ctrl-C to stop)"; \
	$(PY) manage.py runserver $(HOST):$(PORT)

serve: migrate
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP) os-packages
	$(PY) manage.py makemigrations --check --dry-run > /dev/null || (echo "Missing migrations: run manage.py makemigrations" && exit 1)
	ANFANG_FAST_PASSWORDS=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check anfang tests bench
	$(VENV)/bin/ruff format --check anfang tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy anfang

check: lint typecheck

bench: $(STAMP)
	$(PY) -m bench

# Re-extract translatable strings after changing UI text; commit the .po and .mo files.
messages: $(STAMP)
	$(PY) manage.py makemessages -l en -l zh_Hans --no-obsolete --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'var/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
