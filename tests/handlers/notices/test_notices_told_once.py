"""Every balance change told once, whichever way the bot learns it first: a balance event, a
command, a button, the digest or an import; over real HTTP against the emulator."""

from __future__ import annotations

import sqlite3
import time

import pytest

from bot.cli import main
from bot.emulator import events as feishu
from tests.bot.ops.test_import import add_accounts, settings_env
from tests.conftest import VERIFICATION_TOKEN, Feishu, card_text, wait_for
from tests.handlers.notices.test_notices import (
    NOTICES,
    balance,
    known,
    make_batches_due,
    notice_bot,
    notices,
)


def event_of(emulator, account_id: str, modify_ms: int) -> dict:
    """Feishu's balance event for the account's balance now, as of `modify_ms`."""
    acc = emulator.account(account_id)
    return feishu.assets_update_event(
        account_id,
        acc["points"],
        acc["cash"],
        token=VERIFICATION_TOKEN,
        app_id=emulator.app_id,
        modify_time=modify_ms,
    )


def worked_off(bot) -> None:
    """Every event worked off but the notice batches, which wait for their window's end."""

    def settled() -> bool:
        rows = bot.database.db.execute(
            "SELECT event_type FROM events WHERE status IN ('queued', 'working')"
        ).fetchall()
        return all(row[0] == "bot.notice_batch" for row in rows)

    wait_for(settled, what="the events worked off")


def the_notice(bot, emulator) -> str:
    """The one notice card, once its window's batch is made due."""
    worked_off(bot)
    make_batches_due(bot)
    (card,) = wait_for(lambda: notices(emulator), what="the notice")
    return card_text(card.content)


def referrer_messages(emulator, open_id: str = "ou_hire") -> list:
    return emulator.messages_in(emulator.p2p_chat_id(open_id))


def changes_kept(bot) -> int:
    return bot.database.db["balance_changes"].count


@pytest.mark.parametrize("read", ["show", "refresh", "digest"])
def test_a_read_between_a_bonus_and_its_event_tells_it_once(make_bot, emulator, read):
    bot = notice_bot(make_bot, notify_referrers=True)
    lark = Feishu(bot, emulator)
    account_id = known(bot, emulator, points=100)
    card = lark.ask(f"/referral show {account_id}")
    emulator.add_bonus(account_id, points=500, cash={"CNY": "300"})
    bonus_ms = int(time.time() * 1000)
    time.sleep(0.01)  # the read comes after Feishu's modify_time

    if read == "show":
        lark.ask(f"/referral show {account_id}")
    elif read == "refresh":
        result, _ = lark.press(card, {"action": "refresh", "account_id": account_id})
        assert result.status == 200
    else:
        lark.ask("/referral digest")
    wait_for(lambda: bot.services.accounts.get(account_id).account.points == 600, what="read")
    event = event_of(emulator, account_id, bonus_ms)
    assert lark.push(event).status == 200
    assert lark.push(event).status == 200  # and Feishu delivers it again

    text = the_notice(bot, emulator)
    assert "Change: +500 points · +CNY 300.00" in text and "Now: 600 points · CNY 300.00" in text
    (told,) = wait_for(lambda: referrer_messages(emulator), what="the referrer told")
    assert "Added: +500 points · +CNY 300.00" in card_text(told.content)
    lark.ask(f"/referral show {account_id}")  # a read after it all learns nothing new
    worked_off(bot)
    time.sleep(0.3)
    assert changes_kept(bot) == 1
    assert len(notices(emulator)) == 1 and len(referrer_messages(emulator)) == 1


def test_a_read_on_one_process_and_the_event_on_another_tell_it_once(make_bot, emulator):
    first = notice_bot(make_bot, notify_referrers=True)
    second = notice_bot(make_bot, notify_referrers=True)
    account_id = known(first, emulator)
    emulator.add_bonus(account_id, points=70)
    bonus_ms = int(time.time() * 1000)
    time.sleep(0.01)
    Feishu(first, emulator).ask(f"/referral show {account_id}")
    assert Feishu(second, emulator).push(event_of(emulator, account_id, bonus_ms)).status == 200
    worked_off(second)

    assert "Change: +70 points" in the_notice(first, emulator)
    wait_for(lambda: referrer_messages(emulator), what="the referrer told")
    time.sleep(0.5)
    assert changes_kept(first) == 1
    assert len(notices(emulator)) == 1 and len(referrer_messages(emulator)) == 1


def test_an_event_for_an_account_the_bot_had_not_met_tells_its_balance(make_bot, emulator):
    bot = notice_bot(make_bot, notify_referrers=True)
    lark = Feishu(bot, emulator)
    account_id = emulator.create_account("ou_hire")  # registered in the admin console

    event = balance(lark, emulator, account_id, points_added=500, cash={"USD": "12.5"})
    lark.push(event)  # redelivered

    text = the_notice(bot, emulator)
    assert "Zhang San" in text and account_id in text
    assert "Change: +500 points · +USD 12.50" in text and "Now: 500 points · USD 12.50" in text
    (told,) = wait_for(lambda: referrer_messages(emulator), what="the referrer told")
    assert "Your balance now: 500 points · USD 12.50" in card_text(told.content)
    assert bot.services.accounts.get(account_id).account.points == 500
    time.sleep(0.3)
    assert changes_kept(bot) == 1 and len(referrer_messages(emulator)) == 1


def test_an_older_event_after_a_read_tells_nothing(make_bot, emulator):
    bot = notice_bot(make_bot, notify_referrers=True)
    lark = Feishu(bot, emulator)
    account_id = known(bot, emulator, points=100)
    long_ago = int(time.time() * 1000) - 60_000
    emulator.add_bonus(account_id, points=-100)  # paid out a minute ago; read only now
    lark.ask(f"/referral show {account_id}")
    older = feishu.assets_update_event(
        account_id, 400, {}, token=VERIFICATION_TOKEN, app_id=emulator.app_id, modify_time=long_ago
    )
    assert lark.push(older).status == 200

    text = the_notice(bot, emulator)
    assert "Change: -100 points" in text and "Now: 0 points" in text
    worked_off(bot)
    time.sleep(0.3)
    assert changes_kept(bot) == 1 and referrer_messages(emulator) == []
    assert bot.services.accounts.get(account_id).account.points == 0


def test_an_import_sets_what_was_told_silently_then_tells_what_moved(
    make_bot, emulator, tmp_path, monkeypatch, capsys
):
    bot = notice_bot(make_bot)
    ids = add_accounts(emulator, 3)
    for account_id in ids:
        emulator.add_bonus(account_id, points=100)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REFERRAL_BOT_CONFIG", raising=False)
    for name, value in settings_env(emulator, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REFERRAL_BOT_NOTICE_CHATS", NOTICES)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")

    assert main(["import", "ids.txt"]) == 0  # accounts that already had their bonuses
    assert changes_kept(bot) == 0

    emulator.add_bonus(ids[1], points=250)  # its event lost, say; the next import learns it
    assert main(["import", "ids.txt"]) == 0
    capsys.readouterr()
    assert changes_kept(bot) == 1
    text = the_notice(bot, emulator)  # told by the serving bot
    assert ids[1] in text and "Change: +250 points" in text and "Now: 350 points" in text
    assert ids[0] not in text and ids[2] not in text


def test_a_database_from_before_counts_its_recorded_balances_as_told(make_bot, emulator, tmp_path):
    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(account_id, points=300)
    with sqlite3.connect(tmp_path / "bot.db") as old:  # the accounts table as it was
        old.execute(
            "CREATE TABLE accounts (account_id TEXT PRIMARY KEY, contact TEXT,"
            " registered_by TEXT, registered_at TEXT, status INTEGER, points INTEGER,"
            " cash TEXT, referrer TEXT, seen_at TEXT)"
        )
        old.execute(
            "INSERT INTO accounts VALUES (?, 'hire@open.com', 'ou_admin',"
            " '2025-01-01T00:00:00+00:00', 1, 300, '[]', NULL, '2025-01-01T00:00:00+00:00')",
            [account_id],
        )
    bot = notice_bot(make_bot)
    assert {"told_points", "told_cash"} <= set(bot.database.db["accounts"].columns_dict)
    lark = Feishu(bot, emulator)

    balance(lark, emulator, account_id, points_added=200)

    text = the_notice(bot, emulator)
    assert "Change: +200 points" in text and "Now: 500 points" in text
    assert bot.services.accounts.get(account_id).contact == "hire@open.com"
