"""Digest fixtures: bots sharing one database file, and accounts the bot knows."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from bot.app import ReferralBot
from bot.domain.accounts import Account, AccountStatus
from bot.emulator import Emulator
from bot.feishu.openapi import OPERATION_LIMITS, OpenApi, TokenCache, build_client
from tests.conftest import make_settings

HR_CHAT = "oc_hr"


@pytest.fixture
def digest_bot(emulator: Emulator, tmp_path) -> Iterator[Callable[..., ReferralBot]]:
    """Make a serving bot (schedule not started) on `tmp_path/bot.db`. `fast` lifts the
    get_account_assets limit on both sides, for tests where the rate is not the point."""
    bots: list[ReferralBot] = []

    def make(
        *, fast: bool = False, chats: tuple[str, ...] = (HR_CHAT,), **overrides
    ) -> ReferralBot:
        settings = make_settings(
            emulator, str(tmp_path / "bot.db"), digest_chats=chats, **overrides
        )
        api = None
        if fast:
            emulator.rate_limits["get_account_assets"] = (10_000, 1.0)
            cache = TokenCache()
            limits = {**OPERATION_LIMITS, "get_account_assets": (10_000, 1.0)}
            api = OpenApi(build_client(settings, cache), cache, limits=limits)
        bot = ReferralBot(settings, api=api)
        bot.start(schedule=False)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        with contextlib.suppress(Exception):
            bot.stop()


def know_accounts(bot: ReferralBot, emulator: Emulator, n: int, start: int = 0) -> list[str]:
    """Create `n` accounts on the emulator and tell the bot about them (as if registered)."""
    ids = []
    for i in range(start, start + n):
        account_id = emulator.create_account(f"ou_referrer{i}")
        bot.services.accounts.remember(
            Account(account_id, AccountStatus.ENABLED), contact=f"referrer{i}@example.com"
        )
        ids.append(account_id)
    return ids


def chat_messages(emulator: Emulator, chat_id: str) -> list:
    """Cards the bot posted (not replies) into a chat."""
    return [m for m in emulator.messages if m.chat_id == chat_id and m.reply_to is None]
