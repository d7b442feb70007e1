"""The browser tests' sandbox: the emulator, the bot and the chat page, on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(port=0) as running:
        yield running
