# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint format migrations-check deploy-check audit browser clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## Set up and serve http://127.0.0.1:8000 (web + task cluster; Ctrl-C stops both).
run: $(VENV)/.runtime
	$(PY) manage.py migrate_all --verbosity 0
	$(PY) manage.py load_reference_history
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "OneClick is starting on http://127.0.0.1:8000 (Ctrl-C stops it)"
	$(VENV)/bin/honcho start -f Procfile

## Headless Chromium for the browser tests (Debian's package; Playwright cannot download one here).
browser:
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Set up and run the whole test suite.
test: $(VENV)/.dev browser
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: $(VENV)/.dev
	$(PY) manage.py makemigrations --check --dry-run

## `check --deploy` with production settings (throwaway secrets, never used elsewhere).
deploy-check: $(VENV)/.dev
	DATABASE_URL=postgres://localhost/oneclick REDIS_URL=redis://localhost:6379/0 \
	SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(50))') \
	VAULT_KEYS=$$($(PY) -c 'from cryptography.fernet import Fernet;print(Fernet.generate_key().decode())') \
	ALLOWED_HOSTS=oneclick.example \
	$(PY) manage.py check --deploy --fail-level WARNING

## Pinned versions against a vulnerability database; says plainly when it cannot reach one
## (then exits 0, nothing checked). Also lists pins behind a newer patch release.
audit: $(VENV)/.dev
	$(PY) -m oneclick.audit

clean:
	rm -rf $(VENV) var staticfiles
