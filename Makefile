# The two commands a new user needs:
#   make demo   — set up and run the offline demo (SQLite + built-in demo site + local webhook)
#   make test   — set up and pass the tests (SQLite, then the storage/end-to-end tests on PostgreSQL)
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test install lint format clean

$(BIN)/yuqing: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/yuqing

demo: install
	$(BIN)/yuqing demo

test: install
	bash scripts/install-browser.sh
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/test.sh

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info yuqing-demo.db*
