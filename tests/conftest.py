"""Shared fixtures: the Open Platform emulator, and the real bot wired to it over real HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from bot.app import ReferralBot
from bot.config import Settings
from bot.emulator import Employee, Emulator, Message
from bot.emulator import events as feishu
from bot.feishu.openapi import OpenApi, RetryPolicy, TokenCache, build_client
from tests.cards.card_checks import shown, walk
from tests.postgres import create_database, drop_database

ADMIN = "ou_admin"
OUTSIDER = "ou_outsider"
ENCRYPT_KEY = "test-encrypt-key"
VERIFICATION_TOKEN = "test-verification-token"


def started_emulator(**options) -> Emulator:
    """A started emulator with one employee (Zhang San); `options` go to `Emulator`."""
    # The SDK caches tenant tokens process-wide by app_id: a fresh app_id per emulator keeps a
    # token from one test's emulator away from the next.
    emu = Emulator(app_id=f"cli_{uuid.uuid4().hex[:12]}", app_secret="test-secret", **options)
    emu.start()
    emu.add_employee(
        Employee(
            open_id="ou_hire",
            email="hire@open.com",
            mobile=("86", "18900001111"),
            name_zh="张三",
            name_en="Zhang San",
        )
    )
    return emu


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = started_emulator()
    yield emu
    emu.stop()


def make_settings(emulator: Emulator, db_path: str, **overrides) -> Settings:
    settings = Settings(
        app_id=emulator.app_id,
        app_secret=emulator.app_secret,
        encrypt_key=ENCRYPT_KEY,
        verification_token=VERIFICATION_TOKEN,
        domain=emulator.url,
        host="127.0.0.1",
        port=0,
        db_path=db_path,
        admins=frozenset({ADMIN}),
        digest_cron="0 9 * * 1-5",
        digest_tz="Asia/Shanghai",
        digest_chats=(),
    )
    return replace(settings, **overrides)


@dataclass
class Feishu:
    """Plays Feishu's side towards a running bot: pushes events and callbacks, reads replies."""

    bot: ReferralBot
    emulator: Emulator

    @property
    def encrypt_key(self) -> str:
        return self.bot.settings.encrypt_key

    def push(
        self, payload: dict | bytes, path: str = "/webhook/event", **kw
    ) -> feishu.DeliveryResult:
        return feishu.deliver(self.bot.url + path, payload, encrypt_key=self.encrypt_key, **kw)

    def message(self, text: str, *, open_id: str = ADMIN, chat_id: str = "oc_hr", **kw) -> dict:
        event = feishu.message_event(
            text,
            token=VERIFICATION_TOKEN,
            open_id=open_id,
            chat_id=chat_id,
            app_id=self.emulator.app_id,
            **kw,
        )
        self.emulator.note_user_message(event["event"]["message"]["message_id"], chat_id)
        return event

    def say(self, text: str, **kw) -> tuple[feishu.DeliveryResult, str]:
        """Send a chat message to the bot; returns the delivery and the message id."""
        event = self.message(text, **kw)
        return self.push(event), event["event"]["message"]["message_id"]

    def ask(self, text: str, timeout: float = 10, **kw) -> Message:
        """Send a message and wait for the bot's reply to it."""
        result, message_id = self.say(text, **kw)
        assert result.status == 200, result
        return self.reply_to(message_id, timeout)

    def reply_to(self, message_id: str, timeout: float = 10) -> Message:
        return wait_for(
            lambda: next((m for m in self.emulator.messages if m.reply_to == message_id), None),
            timeout,
            f"no reply to {message_id}",
        )

    def press(self, message: Message, value: dict, *, open_id: str = ADMIN, **kw):
        callback = self.emulator.card_action(
            value, open_id=open_id, message_id=message.message_id, token=VERIFICATION_TOKEN, **kw
        )
        return self.push(callback, "/webhook/card"), callback


def wait_for(probe: Callable[[], object], timeout: float = 10, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting: {what}")


ENGINES = ("sqlite", "postgresql")


@pytest.fixture
def records_db(request, tmp_path) -> Iterator[str]:
    """Where the bot keeps its records (`REFERRAL_BOT_DB`): a SQLite file in the test's folder,
    or, parametrized indirectly with "postgresql", a fresh database on the run's server. Mark a
    test `@pytest.mark.parametrize("records_db", ENGINES, indirect=True)` to run it on both."""
    engine = getattr(request, "param", "sqlite")
    if engine == "sqlite":
        yield str(tmp_path / "bot.db")
        return
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture
def make_bot(emulator: Emulator, records_db: str) -> Iterator[Callable[..., ReferralBot]]:
    bots: list[ReferralBot] = []

    def make(
        start: bool = True,
        *,
        workers: int = 4,
        busy_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        notice_window: timedelta | None = None,
        interim_after: timedelta | None = None,
        payout_window: timedelta | None = None,
        referral_window: timedelta | None = None,
        **overrides,
    ) -> ReferralBot:
        settings = make_settings(emulator, overrides.pop("db_path", records_db), **overrides)
        extra: dict = {"busy_timeout": busy_timeout} if busy_timeout is not None else {}
        if notice_window is not None:
            extra["notice_window"] = notice_window
        if interim_after is not None:
            extra["interim_after"] = interim_after
        if payout_window is not None:
            extra["payout_window"] = payout_window
        if referral_window is not None:
            extra["referral_window"] = referral_window
        # `retry`: fewer attempts per call, where the retries are not the point; `sleep`: the
        # wait between attempts, for a test to say what happens meanwhile
        if retry is not None or sleep is not None:
            cache = TokenCache()
            client = build_client(settings, cache)
            extra["api"] = OpenApi(client, cache, retry=retry, sleep=sleep or time.sleep)
        bot = ReferralBot(settings, workers=workers, **extra)
        if start:
            bot.start(schedule=False)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.stop()


@pytest.fixture
def bot(make_bot) -> ReferralBot:
    return make_bot()


@pytest.fixture
def lark(bot: ReferralBot, emulator: Emulator) -> Feishu:
    return Feishu(bot, emulator)


def card_text(card: dict) -> str:
    """All English text of a card, for asserting what a reader sees (escapes decoded)."""
    return "\n".join(
        shown(node)
        for node in walk(card)
        if node.get("tag") in ("plain_text", "markdown", "lark_md") and "content" in node
    )


def card_text_zh(card: dict) -> str:
    return "\n".join(
        shown(node, "zh_cn") if "zh_cn" in node["i18n_content"] else ""
        for node in walk(card)
        if "i18n_content" in node
    )


def buttons(card: dict) -> list[dict]:
    """Every button's callback value, in order."""
    return [
        behavior["value"]
        for node in walk(card)
        if node.get("tag") == "button"
        for behavior in node.get("behaviors", [])
        if behavior.get("type") == "callback"
    ]


def exported_rows(emulator: Emulator, chat_id: str) -> list[dict]:
    """The rows of the last export file the bot posted in the chat (a workbook), by header."""
    import io

    import openpyxl

    files = [m for m in emulator.messages_in(chat_id) if m.msg_type == "file"]
    _, data = emulator.file(files[-1].content["file_key"])
    book = openpyxl.load_workbook(io.BytesIO(data))
    header, *rows = book.active.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]
