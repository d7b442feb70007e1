"""The browser tests' sandbox (the emulator, the bot and the chat page, on free ports) and the
Debian chromium they drive (Playwright cannot download its own browsers here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.sandbox import Sandbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_CHROMIUM = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (make test installs it)",
)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(port=0) as running:
        yield running


@contextmanager
def chromium_page(width: int, height: int = 900):
    """A page of a headless chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, locale="en-US")
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def browser_page():
    """A wide page (the chat and the tenant panel side by side)."""
    with chromium_page(1400) as page:
        yield page


def open_as_hr_admin(page, sandbox: Sandbox) -> list[str]:
    """Open the sandbox in English as the HR admin, welcomed with the usage card; the list
    collects the page's script errors."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sandbox.url)
    page.click("[data-lang=en_us]")
    expect(page.locator("#person")).to_have_value("ou_hr_admin")
    expect(page.get_by_test_id("bot-message").filter(has_text="referral-bot help")).to_have_count(1)
    return errors
