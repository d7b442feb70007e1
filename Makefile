PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test lint demo bench clean

$(BIN)/referral-bot: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/referral-bot

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

demo: install
	$(BIN)/referral-bot sandbox

bench: install
	$(BIN)/python bench/ack.py

clean:
	rm -rf $(VENV) *.egg-info
