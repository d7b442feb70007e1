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

# The browser test drives Debian's chromium (Playwright cannot download its own browsers here).
CHROMIUM := /usr/bin/chromium

test: install
	@test -x $(CHROMIUM) || { \
		if command -v apt-get >/dev/null; then \
			SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
			$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; \
		else echo "no apt-get: the browser test will be skipped (needs $(CHROMIUM))"; fi; }
	$(BIN)/pytest -n 4

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

demo: install
	$(BIN)/referral-bot sandbox

bench: install
	$(BIN)/python bench/ack.py

clean:
	rm -rf $(VENV) *.egg-info
