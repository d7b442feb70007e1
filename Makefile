PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test lint demo bench screenshots clean

$(BIN)/referral-bot: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/referral-bot

# The browser test drives Debian's chromium (Playwright cannot download its own browsers here).
CHROMIUM := /usr/bin/chromium

# A throw-away PostgreSQL server for the run (tests/with_postgres.py: Debian's postgresql package,
# installed with apt-get when missing), stopped at the end whatever the tests did.
test: install
	@test -x $(CHROMIUM) || { \
		if command -v apt-get >/dev/null; then \
			SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
			$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; \
		else echo "no apt-get: the browser test will be skipped (needs $(CHROMIUM))"; fi; }
	$(BIN)/python tests/with_postgres.py $(BIN)/pytest -n 4

# The README's picture and docs/screenshots/, rewritten. Chinese and the audit's ⛔ need fonts
# that a bare Debian lacks (without them the pictures show empty boxes); the tests pass either way.
screenshots: install
	@fc-list :lang=zh | grep -q . && fc-list | grep -qi "color emoji" || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends \
			fonts-noto-cjk fonts-noto-color-emoji; }
	UPDATE_SCREENSHOT=1 UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/e2e/test_screenshots.py \
		tests/e2e/test_sandbox_page.py -k "every_view or chart"

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

demo: install
	$(BIN)/referral-bot sandbox

bench: install
	$(BIN)/python bench/ack.py

clean:
	rm -rf $(VENV) *.egg-info
