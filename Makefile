# Two entry points on a fresh machine (Python 3.11 and make):
#   make demo   create .venv, install, run `replenish demo`
#   make test   create .venv, install with dev tools, run ruff, mypy, the import layers
#               (lint-imports) and pytest
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test quick lint typecheck layers pytest install clean screenshot messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/replenish demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

# --durations: the slowest tests, so a test that grows slow is seen.
pytest: $(STAMP)
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

test: lint typecheck layers pytest

# A developer's quick round: everything but the tests marked slow (CI runs them all).
quick: lint typecheck layers
	$(BIN)/pytest -m "not slow" --durations=10 $(PYTEST_ARGS)

# The README's picture of the report: the demo's report.html rendered in headless Chromium.
screenshot: $(STAMP)
	$(BIN)/replenish demo --out out/demo $(DEMO_ARGS)
	$(BIN)/python -m tests.browser out/demo/report/report.html docs/report.png

# The web app's strings (api/web) and the report's (replenish/report.py, tables.py,
# verdicts.py): extract them and merge them into each catalog; new ones arrive
# untranslated, and the catalog tests (tests/api/web, tests/replenish) fail until they are.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --omit-header -o api/web/locale/messages.pot .
	$(BIN)/pybabel update -i api/web/locale/messages.pot -d api/web/locale -D messages \
		--no-fuzzy-matching --omit-header --width 100
	$(BIN)/pybabel extract -F babel-report.cfg --no-location --omit-header \
		-o replenish/locale/report.pot .
	$(BIN)/pybabel update -i replenish/locale/report.pot -d replenish/locale -D report \
		--no-fuzzy-matching --omit-header --width 100

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
