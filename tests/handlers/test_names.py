"""Names, not codes (issue 18, item 1): every card that names an account shows its holder's
name, the Chinese name to a reader in Chinese and the English one to a reader in English, with
the account ID copyable beside it; end to end, through the emulator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.emulator import Employee
from bot.records.store import utcnow
from tests.conftest import Feishu, buttons, card_text, card_text_zh, wait_for
from tests.handlers.digest.conftest import HR_CHAT, chat_messages


def register(lark: Feishu, contact: str) -> str:
    card = lark.ask(f"/referral register {contact}").content
    return buttons(card)[0]["account_id"]


def test_the_list_and_find_name_each_account_in_the_readers_language(lark: Feishu, emulator):
    emulator.add_employee(Employee(open_id="ou_wang", email="wang@open.com", name_zh="王芳"))
    zhang = register(lark, "hire@open.com")
    wang = register(lark, "wang@open.com")
    # create answers without the referrer; the records learn the name from the next read.
    assert f"**hire@open.com** · `{zhang}`" in card_text(lark.ask("/referral list").content)
    for account_id in (zhang, wang):
        lark.ask(f"/referral show {account_id}")
    card = lark.ask("/referral list").content
    en, zh = card_text(card), card_text_zh(card)
    assert f"**Zhang San** · `{zhang}`" in en and f"**张三** · `{zhang}`" in zh
    # No English name: the Chinese one, for every reader.
    assert f"**王芳** · `{wang}`" in en and f"**王芳** · `{wang}`" in zh
    assert "hire@open.com" not in en  # the name, not the email, names the account
    found = lark.ask("/referral find zhang").content
    assert f"**Zhang San** · `{zhang}`" in card_text(found)
    assert f"**张三** · `{zhang}`" in card_text_zh(found)
    assert wang not in card_text(found)


def test_the_digest_names_whose_balance_changed_as_the_notice_does(make_bot, emulator):
    """The digest's balance changes name the person, and the same bonus reads the same in the
    notice and in the digest."""
    bot = make_bot(
        digest_chats=(HR_CHAT,), notice_chats=(HR_CHAT,), notice_window=timedelta(milliseconds=200)
    )
    lark = Feishu(bot, emulator)
    zhang = register(lark, "hire@open.com")
    bot.digest.run_scheduled(utcnow() - timedelta(days=1))  # what the next digest compares with
    emulator.add_bonus(zhang, points=450, cash={"CNY": Decimal("450")})
    card = lark.ask("/referral digest", chat_id="oc_other").content
    en, zh = card_text(card), card_text_zh(card)
    assert f"**Zhang San** · `{zhang}` · +450 points · +CNY 450.00" in en
    assert f"**张三** · `{zhang}` · +450 积分 · +CNY 450.00" in zh
    # The zone in the footer, in both languages, not after each time.
    assert "Times in Asia/Shanghai" in en and "时间均为 Asia/Shanghai 时区" in zh
    assert "(Asia/Shanghai)" not in en + zh
    # The digest's read told the change: the notice writes it the same way.
    notice = wait_for(
        lambda: [
            m
            for m in chat_messages(emulator, HR_CHAT)
            if "balances changed" in card_text(m.content)
        ],
        what="the notice",
    )[0]
    assert f"**Zhang San** · `{zhang}`" in card_text(notice.content)
    assert "Change: +450 points · +CNY 450.00" in card_text(notice.content)
