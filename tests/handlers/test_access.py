"""Each person sees their own (issue 18, item 5): help and the welcome list what the asker may
do, and a refusal tells staff whom to ask, never the setting's name (that goes to the log)."""

from __future__ import annotations

import logging

import pytest

from handlers.registry import loaded
from tests.conftest import (
    ADMIN,
    OUTSIDER,
    VERIFICATION_TOKEN,
    Feishu,
    card_text,
    card_text_zh,
    wait_for,
)

OPEN_TO_ALL = (
    "/referral me",
    "/referral whoami",
    "/referral referrals [<who>]",
    "/referral help",
)


def usages(text: str) -> list[str]:
    return [sub.usage for sub in loaded().commands.values() if sub.usage in text]


@pytest.mark.parametrize("text", ["/referral help", "/referral"])
def test_staff_help_lists_only_what_they_may_do(lark: Feishu, text):
    card = lark.ask(text, open_id=OUTSIDER).content
    en, zh = card_text(card), card_text_zh(card)
    assert usages(en) == list(OPEN_TO_ALL)
    assert "ask them for anything else" in en and "请联系你的 HR 团队" in zh
    assert "REFERRAL_BOT" not in en + zh


def test_admin_help_lists_every_command(lark: Feishu):
    en = card_text(lark.ask("/referral help", open_id=ADMIN).content)
    assert usages(en) == [sub.usage for sub in loaded().commands.values()]
    assert "<who>: an account ID" in en and "HR team" not in en


@pytest.mark.parametrize(("who", "expected"), [(OUTSIDER, list(OPEN_TO_ALL)), (ADMIN, None)])
def test_the_welcome_lists_what_the_newcomer_may_do(lark: Feishu, emulator, who, expected):
    chat = emulator.p2p_chat_id(who)
    lark.push(emulator.p2p_chat_entered_event(who, token=VERIFICATION_TOKEN, chat_id=chat))
    (welcome,) = wait_for(lambda: emulator.messages_in(chat), what="the welcome")
    listed = usages(card_text(welcome.content))
    assert listed == (expected or [sub.usage for sub in loaded().commands.values()])


def test_a_refusal_says_whom_to_ask_and_the_log_names_the_setting(lark: Feishu, caplog):
    caplog.set_level(logging.INFO, logger="handlers.access")
    card = lark.ask("/referral list", open_id=OUTSIDER).content
    en, zh = card_text(card), card_text_zh(card)
    assert "Only HR admins may run this command" in en and "ask your HR team" in en
    assert "只有 HR 管理员才能执行此命令" in zh and "请联系你的 HR 团队" in zh
    assert "REFERRAL_BOT" not in en + zh
    logged = [r.getMessage() for r in caplog.records if r.name == "handlers.access"]
    assert any("REFERRAL_BOT_ADMINS" in line and OUTSIDER in line for line in logged), logged


def test_staff_may_still_run_what_help_lists(lark: Feishu):
    for usage in OPEN_TO_ALL:
        assert "not allowed" not in card_text(lark.ask(usage, open_id=OUTSIDER).content)
