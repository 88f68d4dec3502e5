# MR-CDS developer commands. `make run` and `make test` work on a fresh machine with only
# Python 3.11+ and make. Re-running is quick: installs are keyed on pyproject.toml.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv pip install --python $(BIN)/python
MANAGE := $(BIN)/python manage.py
COMPOSE ?= docker compose
PYTEST_ARGS ?=

.PHONY: run test lint format up down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv

# Runtime dependencies only (what `make run` needs).
$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/python
	$(UV) -r pyproject.toml
	touch $@

# Runtime plus the dev extras (pytest, factory_boy, ruff, ...).
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(UV) -r pyproject.toml --extra dev
	touch $(VENV)/.installed-runtime $@

run: export DEBUG := true
run: $(VENV)/.installed-runtime
	$(MANAGE) migrate --noinput
	$(MANAGE) load_guidelines
	$(MANAGE) seed_demo
	@echo ""
	@echo "MR-CDS is starting on http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
	@echo "Demo logins are listed above (password: \$$MR_CDS_DEMO_PASSWORD or mr-cds-demo)."
	@echo ""
	$(MANAGE) runserver 127.0.0.1:8000

# Uses DATABASE_URL / REDIS_URL when set (PostgreSQL and Redis), else SQLite in-process.
test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

up:
	$(COMPOSE) up -d --build

down:
	$(COMPOSE) down
