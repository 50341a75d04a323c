# One command to run svcbot on the example config, one to install and run every check and test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check lint bench clean debian-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## install, then run svcbot in the foreground on examples/svcbot.yml
	$(BIN)/svcbot run --config examples/svcbot.yml

test: lint $(STAMP) debian-packages  ## install, lint, type-check and run the whole test suite (random order)
	$(BIN)/pytest

debian-packages:  ## as root: Debian's packages whose real programs the tests run
	@bash tests/debian-packages.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)  ## svcbot against supervisord in the same run, the store on SQLite and PostgreSQL, Slack acks and an alert storm, the digest
	PYTHONPATH=. $(BIN)/python bench/run.py
	PYTHONPATH=. $(BIN)/python bench/store.py
	PYTHONPATH=. $(BIN)/python bench/slack.py
	PYTHONPATH=. $(BIN)/python bench/digest.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache examples/.svcbot
