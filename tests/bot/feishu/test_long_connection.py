"""The long connection: events and card presses over the emulator's socket, acknowledged after
they are taken, and a connection that comes back by itself after a drop or a silence."""

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from bot import app as bot_app
from bot.app import ReferralBot
from bot.emulator import Emulator
from tests.conftest import (
    ADMIN,
    VERIFICATION_TOKEN,
    Feishu,
    buttons,
    card_text,
    started_emulator,
    wait_for,
)

LONG = {"transport": "long_connection", "encrypt_key": "", "verification_token": ""}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The shared emulator, but pinging every second (a silence shows in 2 s) and splitting
    every payload over frames of 600 bytes, so each push is reassembled."""
    emu = started_emulator(ws_part_size=600, ws_client_config={"PingInterval": 1})
    yield emu
    emu.stop()


@pytest.fixture
def bot(make_bot, emulator: Emulator) -> ReferralBot:
    connected = make_bot(**LONG)
    wait_for(lambda: emulator.ws_connections == 1, what="the bot connected")
    return connected


@pytest.fixture
def lark(bot: ReferralBot, emulator: Emulator) -> Feishu:
    return Feishu(bot, emulator)


def ask(lark: Feishu, text: str, timeout: float = 10):
    """Push a command over the connection; the ack, and the bot's reply."""
    event = lark.message(text)
    ack = lark.emulator.ws_push(event, timeout=timeout)
    return ack, lark.reply_to(event["event"]["message"]["message_id"], timeout)


def test_a_command_is_stored_before_the_ack_and_answered(lark: Feishu, bot, emulator):
    event = lark.message("/referral register hire@open.com")
    assert emulator.ws_push(event) == {"code": 200}
    # Acknowledged means stored: the inbox has it already.
    assert sum(bot.inbox.counts().values()) == 1
    reply = lark.reply_to(event["event"]["message"]["message_id"])
    assert "Account registered" in card_text(reply.content)
    assert len(emulator.calls_for("create")) == 1
    assert emulator.ws_log[-1]["attempts"] == 1


def test_a_card_press_is_answered_in_the_ack_and_the_card_updated(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    _, message = ask(lark, f"/referral show {account_id}")
    press = emulator.card_action(
        {"action": "disable", "account_id": account_id},
        open_id=ADMIN,
        message_id=message.message_id,
        token=VERIFICATION_TOKEN,
    )
    began = time.monotonic()
    ack = emulator.ws_push(press)
    assert time.monotonic() - began < 3
    assert ack["code"] == 200
    assert ack["data"]["toast"]["i18n"]["en_us"] == "Account disabled"
    assert emulator.account(account_id)["status"] == 2
    card = emulator.latest_card(message.message_id)
    assert "Disabled" in card_text(card)
    assert buttons(card)[0] == {"action": "enable", "account_id": account_id}


def test_a_pushed_again_event_is_acked_and_acted_on_once(lark: Feishu, bot, emulator):
    event = lark.message("/referral register hire@open.com")
    assert emulator.ws_push(event) == {"code": 200}
    assert emulator.ws_push(event) == {"code": 200}
    lark.reply_to(event["event"]["message"]["message_id"])
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the one event worked off")
    assert len(emulator.calls_for("create")) == 1
    message_id = event["event"]["message"]["message_id"]
    assert len([m for m in emulator.messages if m.reply_to == message_id]) == 1


def test_an_event_type_we_do_not_handle_is_acked_and_ignored(bot, emulator):
    event = {
        "schema": "2.0",
        "header": {"event_id": "ev-unknown", "event_type": "im.chat.updated_v1"},
        "event": {},
    }
    assert emulator.ws_push(event) == {"code": 200}
    assert bot.inbox.counts() == {}


def test_after_a_drop_the_bot_reconnects_and_answers(lark: Feishu, bot, emulator):
    emulator.ws_drop_all()
    began = time.monotonic()
    ack, _ = ask(lark, "/referral help", timeout=30)
    assert ack == {"code": 200}
    assert time.monotonic() - began < 30
    assert bot.connection.state.connects == 2


def test_after_a_silence_the_bot_reconnects_and_answers(lark: Feishu, bot, emulator):
    emulator.ws_go_silent(3)
    silence_ends = time.monotonic() + 3
    ack, _ = ask(lark, "/referral help", timeout=30)
    assert ack == {"code": 200}
    assert time.monotonic() - silence_ends < 30
    # Two pings without a pong: the silent connection was given up and a new one opened.
    assert bot.connection.state.connects >= 2


def test_refused_reconnects_are_retried_until_the_endpoint_answers(lark: Feishu, bot, emulator):
    emulator.ws_refuse_new(3)
    emulator.ws_drop_all()
    wait_for(lambda: bot.connection.state.status != "connected", what="noticed the drop")
    ack, _ = ask(lark, "/referral help", timeout=30)
    assert ack == {"code": 200}


def test_a_stop_during_a_command_is_quick_and_loses_nothing(make_bot, emulator):
    first = make_bot(**LONG)
    wait_for(lambda: emulator.ws_connections == 1, what="the bot connected")
    lark = Feishu(first, emulator)
    emulator.set_latency("message_reply", 1.5)
    event = lark.message("/referral help")
    assert emulator.ws_push(event) == {"code": 200}
    wait_for(lambda: first.inbox.counts().get("working") == 1, what="claimed")
    began = time.monotonic()
    first.stop()
    assert time.monotonic() - began < 5
    assert first.connection.state.status == "down"
    wait_for(lambda: emulator.ws_connections == 0, what="the connection closed")
    emulator.set_latency("message_reply", 0)

    second = make_bot(**LONG)
    Feishu(second, emulator).reply_to(event["event"]["message"]["message_id"])
    wait_for(lambda: second.inbox.counts() == {"done": 1}, what="done once")
    assert len(emulator.messages) == 1


def test_a_stop_with_a_press_in_hand_still_answers_it(make_bot, emulator):
    first = make_bot(**LONG)
    wait_for(lambda: emulator.ws_connections == 1, what="the bot connected")
    lark = Feishu(first, emulator)
    account_id = emulator.create_account("ou_hire")
    _, message = ask(lark, f"/referral show {account_id}")
    emulator.set_latency("deactivate", 1.0)
    press = emulator.card_action(
        {"action": "disable", "account_id": account_id},
        open_id=ADMIN,
        message_id=message.message_id,
        token=VERIFICATION_TOKEN,
    )
    wait_for(lambda: first.inbox.counts() == {"done": 1}, what="the show worked off")
    acks: list[dict] = []
    pushing = threading.Thread(target=lambda: acks.append(emulator.ws_push(press, timeout=5)))
    pushing.start()
    time.sleep(0.3)  # the press is in hand, waiting on the deactivate call
    began = time.monotonic()
    first.stop()
    assert time.monotonic() - began < 5
    pushing.join(5)
    assert acks and acks[0]["code"] == 200
    assert emulator.account(account_id)["status"] == 2


def test_a_push_that_cannot_be_stored_is_answered_500_then_taken_again(make_bot, emulator, caplog):
    sick = make_bot(busy_timeout=0.2, **LONG)
    wait_for(lambda: emulator.ws_connections == 1, what="the bot connected")
    lark = Feishu(sick, emulator)
    event = lark.message("/referral help")
    lock = sqlite3.connect(sick.settings.db_path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.ERROR, "bot.feishu.long_connection"):
            assert emulator.ws_push(event) == {"code": 500}
    finally:
        lock.rollback()
        lock.close()
    assert len([r for r in caplog.records if "could not take" in r.getMessage()]) == 1
    assert "Traceback" not in caplog.text
    assert emulator.ws_push(event) == {"code": 200}
    lark.reply_to(event["event"]["message"]["message_id"])


def test_the_webhook_paths_are_not_there(bot):
    for path in ("/webhook/event", "/webhook/card"):
        answer = requests.post(bot.url + path, json={"type": "url_verification"}, timeout=5)
        assert answer.status_code == 404


def test_healthz_reports_the_connection_and_fails_after_a_minute_down(bot, emulator, monkeypatch):
    answer = requests.get(bot.url + "/healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["connection"]["state"] == "connected"

    monkeypatch.setattr(bot_app, "CONNECTION_DOWN_AFTER", 1)
    emulator.ws_refuse_new(30)
    emulator.ws_drop_all()

    def unhealthy() -> dict | None:
        answer = requests.get(bot.url + "/healthz", timeout=5)
        return answer.json() if answer.status_code == 503 else None

    body = wait_for(unhealthy, 10, "503 while the connection is down")
    assert body["connection"]["state"] in ("down", "connecting")
    assert any("no long connection" in p for p in body["problems"])
