"""Telling the right people over real HTTP: batched balance notices, referrer messages, leavers."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from bot.domain.accounts import Account, AccountStatus
from bot.emulator import Employee
from bot.emulator import events as feishu
from tests.conftest import (
    ADMIN,
    VERIFICATION_TOKEN,
    Feishu,
    buttons,
    card_text,
    card_text_zh,
    wait_for,
)

NOTICES = "oc_notices"
HOUR = timedelta(hours=1)  # batches are made due by the tests, not by waiting


def notice_bot(make_bot, **overrides):
    return make_bot(notice_chats=(NOTICES,), notice_window=HOUR, **overrides)


def known(bot, emulator, open_id: str = "ou_hire", **bonus) -> str:
    """An account the records know (read once, so its referrer is known too)."""
    account_id = emulator.create_account(open_id)
    if bonus:
        emulator.add_bonus(account_id, **bonus)
    bot.services.accounts.remember(bot.services.gateway.get_assets(account_id))
    return account_id


def balance(lark: Feishu, emulator, account_id: str, *, points_added=0, cash=None, ms=None):
    """Feishu's balance event after a bonus lands (modify_time: now, or `ms`)."""
    emulator.add_bonus(account_id, points=points_added, cash=cash)
    acc = emulator.account(account_id)
    event = feishu.assets_update_event(
        account_id,
        acc["points"],
        acc["cash"],
        token=VERIFICATION_TOKEN,
        app_id=emulator.app_id,
        modify_time=ms or int(time.time() * 1000) + 1,
    )
    assert lark.push(event).status == 200
    return event


def make_batches_due(bot) -> None:
    bot.database.db.execute(
        "UPDATE events SET not_before = NULL WHERE event_type = 'bot.notice_batch'"
    )
    bot.pool.notify()


def notices(emulator) -> list:
    return emulator.messages_in(NOTICES)


def worked_off(bot) -> None:
    wait_for(
        lambda: not bot.inbox.counts(internal=True).get("queued") or _only_batches_wait(bot),
        what="the events worked off",
    )


def _only_batches_wait(bot) -> bool:
    rows = bot.database.db.execute(
        "SELECT event_type FROM events WHERE status IN ('queued', 'working')"
    ).fetchall()
    return all(r[0] == "bot.notice_batch" for r in rows)


def test_a_windows_changes_are_one_card(make_bot, emulator):
    bot = notice_bot(make_bot)
    lark = Feishu(bot, emulator)
    hire = known(bot, emulator)
    emulator.add_employee(
        Employee(open_id="ou_li", email="li@open.com", name_en="Li Si", name_zh="李四")
    )
    li = known(bot, emulator, "ou_li", points=100)
    balance(lark, emulator, hire, points_added=500, cash={"CNY": "300"})
    balance(lark, emulator, li, points_added=-40)
    balance(lark, emulator, hire, points_added=20)
    worked_off(bot)
    assert notices(emulator) == []  # not before the window ends
    make_batches_due(bot)
    (card,) = wait_for(lambda: notices(emulator), what="the notice")
    text = card_text(card.content)
    assert "Zhang San" in text and "Change: +520 points · +CNY 300.00" in text
    assert "Now: 520 points · CNY 300.00" in text
    assert "Li Si" in text and "Change: -40 points" in text and "Now: 60 points" in text
    assert "张三" in card_text_zh(card.content) and "李四" in card_text_zh(card.content)
    time.sleep(0.3)
    assert len(notices(emulator)) == 1


def test_a_burst_of_200_changes_is_one_card_within_the_limits(make_bot, emulator):
    bot = notice_bot(make_bot)
    lark = Feishu(bot, emulator)
    ids = []
    for n in range(200):
        account_id = emulator.create_account(f"ou_p{n}")
        bot.services.accounts.remember(
            Account(account_id, AccountStatus.ENABLED), contact=f"p{n}@open.com"
        )
        ids.append(account_id)
    for account_id in ids:
        balance(lark, emulator, account_id, points_added=7)
    wait_for(lambda: bot.database.db["balance_changes"].count == 200, what="200 changes kept")
    make_batches_due(bot)
    (card,) = wait_for(lambda: notices(emulator), what="the notice")
    assert len(card.raw_content.encode()) < 30 * 1024
    assert "200 accounts" in card_text(card.content) and "more" in card_text(card.content)
    assert json.dumps(card.content).count('"tag"') < 200


def test_a_restart_mid_window_loses_no_change_and_tells_none_twice(make_bot, emulator):
    bot = notice_bot(make_bot)
    lark = Feishu(bot, emulator)
    account_id = known(bot, emulator)
    balance(lark, emulator, account_id, points_added=500)
    worked_off(bot)
    bot.stop()  # mid-window: the change is kept, its batch queued for the window's end
    again = notice_bot(make_bot)
    make_batches_due(again)
    wait_for(lambda: notices(emulator), what="the notice after the restart")
    again.stop()
    third = notice_bot(make_bot)
    make_batches_due(third)
    time.sleep(1.5)
    assert len(notices(emulator)) == 1


def test_two_processes_on_one_database_send_one_card(make_bot, emulator):
    first, second = notice_bot(make_bot), notice_bot(make_bot)
    one = known(first, emulator)
    emulator.add_employee(Employee(open_id="ou_li", email="li@open.com", name_en="Li Si"))
    two = known(first, emulator, "ou_li")
    balance(Feishu(first, emulator), emulator, one, points_added=5)
    balance(Feishu(second, emulator), emulator, two, points_added=6)
    worked_off(first)
    worked_off(second)
    make_batches_due(first)
    (card,) = wait_for(lambda: notices(emulator), what="the notice")
    assert one in card_text(card.content) and two in card_text(card.content)
    time.sleep(1.0)
    assert len(notices(emulator)) == 1


def test_an_older_event_after_a_newer_one_is_not_told(make_bot, emulator):
    bot = notice_bot(make_bot)
    lark = Feishu(bot, emulator)
    account_id = known(bot, emulator)
    now = int(time.time() * 1000)
    balance(lark, emulator, account_id, points_added=500, ms=now + 2000)
    older = feishu.assets_update_event(
        account_id,
        100,
        {},
        token=VERIFICATION_TOKEN,
        app_id=emulator.app_id,
        modify_time=now + 1000,
    )
    lark.push(older)
    worked_off(bot)
    make_batches_due(bot)
    (card,) = wait_for(lambda: notices(emulator), what="the notice")
    assert "Change: +500 points" in card_text(card.content) and "100 points" not in card_text(
        card.content
    )


def test_a_referrer_whose_bonus_grew_is_told_once_in_their_language(make_bot, emulator):
    bot = make_bot(notify_referrers=True, notice_window=HOUR)
    lark = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")
    # Known, but not its referrer: the bot asks Feishu once, with user_id_type=open_id.
    bot.services.accounts.remember(Account(account_id, AccountStatus.ENABLED))
    event = balance(lark, emulator, account_id, points_added=500, cash={"USD": "12.5"})
    chat = emulator.p2p_chat_id("ou_hire")
    (told,) = wait_for(lambda: emulator.messages_in(chat), what="the referrer told")
    assert "Added: +500 points · +USD 12.50" in card_text(told.content)
    assert "Your balance now: 500 points · USD 12.50" in card_text(told.content)
    assert "你的内推奖励增加了" in card_text_zh(told.content)
    (fetch,) = emulator.calls_for("get_account_assets")
    assert fetch.query["user_id_type"] == "open_id"
    lark.push(event)  # Feishu delivers the same event again
    balance(lark, emulator, account_id, points_added=-100)  # and a decrease tells nobody
    worked_off(bot)
    time.sleep(0.5)
    assert len(emulator.messages_in(chat)) == 1


def leaver_bot(make_bot, emulator, mode: str):
    bot = notice_bot(make_bot, offboarding=mode)
    account_id = known(bot, emulator, points=300)
    return bot, Feishu(bot, emulator), account_id


def leaves(lark: Feishu, emulator, open_id: str = "ou_hire") -> None:
    assert lark.push(emulator.user_deleted_event(open_id, token=VERIFICATION_TOKEN)).status == 200


def test_a_leaver_with_ask_gets_a_card_with_withdraw_disable_and_keep(make_bot, emulator):
    bot, lark, account_id = leaver_bot(make_bot, emulator, "ask")
    leaves(lark, emulator)
    (card,) = wait_for(lambda: notices(emulator), what="the leaver card")
    text = card_text(card.content)
    assert "A referrer has left" in text and account_id in text and "300 points" in text
    # Named as every card names an account: the person, the ID copyable beside.
    assert f"**Account**: **Zhang San** · `{account_id}`" in text
    assert f"**账户**：**张三** · `{account_id}`" in card_text_zh(card.content)
    assert [b["action"] for b in buttons(card.content)] == ["withdraw", "disable", "keep"]
    result, _ = lark.press(card, buttons(card.content)[2])
    assert f"Kept by <at id={ADMIN}></at>" in card_text(result.body["card"]["data"])
    assert emulator.account(account_id)["status"] == 1
    actions = [(e["action"], e["outcome"]) for e in bot.services.audit.entries()]
    assert ("leaver", "asked") in actions and ("keep", "ok") in actions


def test_a_leaver_with_disable_is_disabled_and_reported(make_bot, emulator):
    bot, lark, account_id = leaver_bot(make_bot, emulator, "disable")
    leaves(lark, emulator)
    (card,) = wait_for(lambda: notices(emulator), what="the report")
    assert "account disabled" in card_text(card.content) and "300 points" in card_text(card.content)
    assert emulator.account(account_id)["status"] == 2


@pytest.mark.parametrize("who", ["ou_hire", "ou_nobody"], ids=["off", "no account"])
def test_a_leaver_with_off_or_without_an_account_posts_nothing(make_bot, emulator, who):
    mode = "off" if who == "ou_hire" else "ask"
    bot, lark, account_id = leaver_bot(make_bot, emulator, mode)
    emulator.add_employee(Employee(open_id="ou_nobody", email="nobody@open.com"))
    leaves(lark, emulator, who)
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the event worked off")
    assert notices(emulator) == [] and emulator.account(account_id)["status"] == 1
    leaver_audit = [e for e in bot.services.audit.entries() if e["action"] == "leaver"]
    assert [e["outcome"] for e in leaver_audit] == (["off"] if mode == "off" else [])
