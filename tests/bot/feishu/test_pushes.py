"""The callback endpoints: verification, refusals, and the 3-second acknowledgement."""

import json
import logging
import time
from datetime import timedelta

import pytest
import requests

from bot.emulator import events as feishu
from bot.feishu.pushes import PUSH_MAX_AGE, PUSH_MAX_AHEAD, CallbackReceiver
from bot.records.inbox import KEEP_FINISHED
from handlers.registry import loaded
from tests.conftest import (
    ADMIN,
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    Feishu,
    make_settings,
    wait_for,
)

DAY = 24 * 3600

PATHS = ["/webhook/event", "/webhook/card"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("encrypted", [True, False])
def test_url_verification_is_echoed_plain_and_encrypted(make_bot, emulator, path, encrypted):
    bot = make_bot(encrypt_key=ENCRYPT_KEY if encrypted else "", allow_unsigned=not encrypted)
    challenge = feishu.url_verification(VERIFICATION_TOKEN, challenge="ch-123")
    result = feishu.deliver(bot.url + path, challenge, encrypt_key=bot.settings.encrypt_key)
    assert result.status == 200
    assert result.body == {"challenge": "ch-123"}


def test_url_verification_with_a_wrong_token_is_refused(bot):
    result = feishu.deliver(
        bot.url + "/webhook/event", feishu.url_verification("wrong"), encrypt_key=ENCRYPT_KEY
    )
    assert result.status == 401
    assert "challenge" not in json.dumps(result.body)


def test_bad_signature_is_refused_and_nothing_is_done(lark: Feishu, bot, emulator):
    event = lark.message("/referral register hire@open.com")
    body = feishu.encode(event, ENCRYPT_KEY)
    headers = feishu.signed_headers(body, ENCRYPT_KEY)
    headers["X-Lark-Signature"] = "0" * 64
    result = requests.post(bot.url + "/webhook/event", data=body, headers=headers, timeout=5)
    assert result.status_code == 401
    assert result.json() == {"error": "invalid signature"}
    assert bot.inbox.counts() == {}
    assert emulator.calls_for("create") == []


def test_missing_signature_is_refused(lark: Feishu, bot):
    body = feishu.encode(lark.message("/referral list"), ENCRYPT_KEY)
    result = requests.post(bot.url + "/webhook/event", data=body, timeout=5)
    assert result.status_code == 401
    assert bot.inbox.counts() == {}


def test_wrong_verification_token_is_refused(lark: Feishu, bot):
    event = lark.message("/referral list")
    event["header"]["token"] = "forged"
    result = lark.push(event)
    assert result.status == 401
    assert result.body == {"error": "invalid verification token"}
    assert bot.inbox.counts() == {}


def test_body_encrypted_with_another_key_is_refused(lark: Feishu, bot):
    body = feishu.encode(lark.message("/referral list"), "another-key")
    result = requests.post(
        bot.url + "/webhook/event",
        data=body,
        headers=feishu.signed_headers(body, ENCRYPT_KEY),
        timeout=5,
    )
    assert 400 <= result.status_code < 500
    assert bot.inbox.counts() == {}


@pytest.mark.parametrize("body", [b"not json", b"{broken", b"[1, 2]", "\u4e2d".encode("gbk")])
def test_body_that_is_not_a_json_object_gets_400(bot, body):
    result = requests.post(
        bot.url + "/webhook/event",
        data=body,
        headers=feishu.signed_headers(body, ENCRYPT_KEY),
        timeout=5,
    )
    assert result.status_code == 400
    assert set(result.json()) == {"error"}


def test_body_over_1_mib_gets_413(bot):
    body = json.dumps({"encrypt": "x" * (1024 * 1024 + 10)}).encode()
    result = requests.post(bot.url + "/webhook/event", data=body, timeout=10)
    assert result.status_code == 413
    assert set(result.json()) == {"error"}


def test_errors_carry_no_trace_or_secret(bot):
    for path in PATHS:
        result = requests.post(bot.url + path, data=b"{}", timeout=5)
        assert 400 <= result.status_code < 500
        for secret in (ENCRYPT_KEY, VERIFICATION_TOKEN, bot.settings.app_secret, "Traceback"):
            assert secret not in result.text
    assert requests.get(bot.url + "/webhook/event", timeout=5).status_code == 405
    assert requests.get(bot.url + "/nowhere", timeout=5).status_code == 404


def test_healthz(bot):
    result = requests.get(bot.url + "/healthz", timeout=5)
    assert result.status_code == 200
    assert result.json()["status"] == "ok"


def test_plain_events_work_without_an_encrypt_key(make_bot, emulator):
    bot = make_bot(encrypt_key="", allow_unsigned=True)
    lark = Feishu(bot, emulator)
    reply = lark.ask("/referral help")
    assert reply.content["header"]["title"]["content"] == "referral-bot help"


def test_unsubscribed_event_types_are_acknowledged_and_ignored(lark: Feishu, bot):
    event = lark.message("hi")
    event["header"]["event_type"] = "im.message.message_read_v1"
    result = lark.push(event)
    assert result.status == 200
    assert bot.inbox.counts() == {}


def test_acknowledged_within_a_second_while_the_api_takes_2_5_s(lark: Feishu, emulator):
    account_id = emulator.create_account("ou_hire")
    emulator.set_latency("get_account_assets", 2.5)
    result, message_id = lark.say(f"/referral show {account_id}")
    assert result.status == 200
    assert result.elapsed < 1.0, result.elapsed
    reply = lark.reply_to(message_id, timeout=15)
    assert account_id in json.dumps(reply.content)
    assert len(emulator.calls_for("get_account_assets")) == 1


def test_balance_event_updates_the_records(lark: Feishu, bot, emulator):
    from decimal import Decimal

    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(account_id, points=30, cash={"USD": Decimal("12.5")})
    result = lark.push(emulator.assets_update_event(account_id, token=VERIFICATION_TOKEN))
    assert result.status == 200
    record = wait_for(lambda: bot.services.accounts.get(account_id), what="record")
    assert record.account.points == 30
    assert [(c.currency, str(c.amount)) for c in record.account.cash] == [("USD", "12.50")]


@pytest.mark.parametrize("forgery", ["signature", "token", "key", "junk", "stale"])
def test_each_refusal_is_one_warning_line_without_a_traceback(lark: Feishu, bot, caplog, forgery):
    caplog.set_level(logging.DEBUG)
    event = lark.message("/referral disable 123")
    if forgery == "token":
        event["header"]["token"] = "forged"
    key = "another-key" if forgery == "key" else ENCRYPT_KEY
    body = b'{"encrypt": "bm90IGFlcw=="}' if forgery == "junk" else feishu.encode(event, key)
    sent = str(int(time.time()) - 30 * DAY) if forgery == "stale" else None
    headers = feishu.signed_headers(body, ENCRYPT_KEY, sent)
    if forgery == "signature":
        headers["X-Lark-Signature"] = "0" * 64
    result = requests.post(bot.url + "/webhook/event", data=body, headers=headers, timeout=5)
    assert 400 <= result.status_code < 500
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING and ours(r)]
    assert [(r.levelname, r.name) for r in loud] == [("WARNING", "bot.feishu.pushes")]
    assert "refused a push" in loud[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    assert "Traceback" not in caplog.text


def test_unsigned_pushes_need_the_setting(make_bot, emulator):
    with pytest.raises(ValueError, match="LARK_ENCRYPT_KEY"):
        make_bot(encrypt_key="")


def _card_press(emulator, account_id: str) -> dict:
    return emulator.card_action(
        {"action": "refresh", "account_id": account_id},
        open_id=ADMIN,
        message_id="om_" + "0" * 32,
        token=VERIFICATION_TOKEN,
    )


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("offset", "error"),
    [
        (-30 * DAY, "request timestamp too old"),
        (-DAY - 120, "request timestamp too old"),
        (PUSH_MAX_AHEAD + 120, "request timestamp in the future"),
    ],
)
def test_a_signed_replay_is_refused_and_nothing_is_done(
    lark: Feishu, bot, emulator, caplog, path, offset, error
):
    account_id = emulator.create_account("ou_hire")
    is_event = path == "/webhook/event"
    push = lark.message("/referral list") if is_event else _card_press(emulator, account_id)
    caplog.set_level(logging.DEBUG)
    result = lark.push(push, path, timestamp=int(time.time()) + offset)
    assert result.status == 401
    assert result.body == {"error": error}
    assert bot.inbox.counts() == {}
    assert emulator.calls_for("get_account_assets") == []
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING and ours(r)]
    assert [r.getMessage() for r in loud] == [f"refused a push: {error}"]


def test_a_retry_hours_later_with_its_first_timestamp_is_taken(lark: Feishu, bot, emulator):
    # Feishu retries for about 7 hours and may keep the first timestamp: those must pass.
    account_id = emulator.create_account("ou_hire")
    first_sent = int(time.time()) - 7 * 3600
    event = lark.message(f"/referral show {account_id}")
    assert lark.push(event, timestamp=first_sent).status == 200
    lark.reply_to(event["event"]["message"]["message_id"])
    press = lark.push(_card_press(emulator, account_id), "/webhook/card", timestamp=first_sent)
    assert press.status == 200


def test_a_replay_outlives_no_event_id(lark: Feishu, bot):
    """Every replay is either refused by its age or recognised by its id: ids are kept well past
    the age bound, and an event the inbox has forgotten is refused by its age."""
    assert KEEP_FINISHED.total_seconds() >= 7 * PUSH_MAX_AGE
    event = lark.message("/referral help")
    sent = int(time.time())
    assert lark.push(event, timestamp=sent).status == 200
    lark.reply_to(event["event"]["message"]["message_id"])
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the event done")
    assert bot.inbox.prune(older_than=timedelta(0)) == 1
    # The same signed push, arriving when the inbox forgets it: KEEP_FINISHED after it was sent.
    replay = lark.push(event, timestamp=sent - int(KEEP_FINISHED.total_seconds()))
    assert replay.status == 401
    assert bot.inbox.counts() == {}


@pytest.mark.parametrize(
    ("offset", "taken"),
    [
        (-PUSH_MAX_AGE, True),
        (-PUSH_MAX_AGE - 1, False),
        (PUSH_MAX_AHEAD, True),
        (PUSH_MAX_AHEAD + 1, False),
        (0, True),
    ],
)
def test_the_bounds_are_24_hours_back_and_5_minutes_ahead(emulator, tmp_path, offset, taken):
    now = 1_800_000_000
    accepted = []
    receiver = CallbackReceiver(
        make_settings(emulator, str(tmp_path / "bot.db")),
        lambda event: accepted.append(event) or True,
        lambda action: None,
        clock=lambda: float(now),
        events=loaded().subscriptions(),
    )
    event = feishu.message_event("/referral help", token=VERIFICATION_TOKEN, open_id=ADMIN)
    body = feishu.encode(event, ENCRYPT_KEY)
    answer = receiver.receive(body, feishu.signed_headers(body, ENCRYPT_KEY, str(now + offset)))
    assert (answer.status, len(accepted)) == ((200, 1) if taken else (401, 0))


def ours(record: logging.LogRecord) -> bool:
    """A line the bot wrote (waitress says "Task queue depth" when the machine is loaded)."""
    return record.name.split(".")[0] in ("bot", "handlers")
