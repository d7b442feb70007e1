"""Changing the Encrypt Key or the Verification Token without refusing Feishu's pushes: while
`LARK_ENCRYPT_KEY_PREVIOUS` / `LARK_VERIFICATION_TOKEN_PREVIOUS` is set, a push made with the
previous secret passes as well as one made with the current; anything else is still refused."""

from __future__ import annotations

import pytest

from bot.emulator import events as feishu
from tests.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN, Feishu, card_text

NEW_KEY, NEW_TOKEN = "the-new-encrypt-key", "the-new-verification-token"


def push_with(lark: Feishu, text: str, *, key: str, token: str, path: str = "/webhook/event"):
    event = lark.message(text)
    event["header"]["token"] = token
    result = feishu.deliver(lark.bot.url + path, event, encrypt_key=key)
    return result, event["event"]["message"]["message_id"]


@pytest.mark.parametrize(
    ("key", "token"),
    [(ENCRYPT_KEY, VERIFICATION_TOKEN), (NEW_KEY, VERIFICATION_TOKEN)],
    ids=["previous key", "current key"],
)
def test_during_a_key_change_pushes_with_either_key_are_taken(make_bot, emulator, key, token):
    bot = make_bot(encrypt_key=NEW_KEY, encrypt_key_previous=ENCRYPT_KEY)
    lark = Feishu(bot, emulator)
    result, message_id = push_with(lark, "/referral help", key=key, token=token)
    assert result.status == 200
    assert "referral-bot help" in card_text(lark.reply_to(message_id).content)


@pytest.mark.parametrize(
    "token", [VERIFICATION_TOKEN, NEW_TOKEN], ids=["previous token", "current token"]
)
def test_during_a_token_change_events_with_either_token_are_taken(make_bot, emulator, token):
    bot = make_bot(verification_token=NEW_TOKEN, verification_token_previous=VERIFICATION_TOKEN)
    lark = Feishu(bot, emulator)
    result, message_id = push_with(lark, "/referral help", key=ENCRYPT_KEY, token=token)
    assert result.status == 200
    lark.reply_to(message_id)


def test_the_url_check_passes_with_the_previous_key_too(make_bot):
    bot = make_bot(encrypt_key=NEW_KEY, encrypt_key_previous=ENCRYPT_KEY)
    challenge = feishu.url_verification(VERIFICATION_TOKEN, challenge="ch-9")
    for key in (ENCRYPT_KEY, NEW_KEY):
        result = feishu.deliver(bot.url + "/webhook/card", challenge, encrypt_key=key)
        assert (result.status, result.body) == (200, {"challenge": "ch-9"})


@pytest.mark.parametrize(
    ("key", "token"), [("a-third-key", VERIFICATION_TOKEN), (NEW_KEY, "forged")]
)
def test_other_secrets_are_still_refused_and_nothing_is_done(make_bot, emulator, key, token):
    bot = make_bot(encrypt_key=NEW_KEY, encrypt_key_previous=ENCRYPT_KEY)
    lark = Feishu(bot, emulator)
    result, _ = push_with(lark, "/referral help", key=key, token=token)
    assert 400 <= result.status < 500 and "error" in result.body
    assert bot.inbox.counts() == {}


def test_without_a_previous_key_the_old_one_is_refused(make_bot, emulator):
    bot = make_bot(encrypt_key=NEW_KEY)
    lark = Feishu(bot, emulator)
    result, _ = push_with(lark, "/referral help", key=ENCRYPT_KEY, token=VERIFICATION_TOKEN)
    assert 400 <= result.status < 500
    assert bot.inbox.counts() == {}
