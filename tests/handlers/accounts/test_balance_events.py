"""Balance events (hire.referral_account.assets_update_v1) through real HTTP, in Feishu's order."""

import time

from bot.domain.accounts import AccountStatus
from bot.emulator import events as feishu
from tests.conftest import VERIFICATION_TOKEN, Feishu, wait_for


def balance_event(emulator, account_id: str, points: int, modify_ms: int) -> dict:
    return feishu.assets_update_event(
        account_id,
        points,
        {"CNY": "1.50"},
        token=VERIFICATION_TOKEN,
        app_id=emulator.app_id,
        modify_time=modify_ms,
    )


def worked_off(bot, n: int) -> None:
    wait_for(lambda: bot.inbox.counts() == {"done": n}, what=f"{n} events done")


def test_a_late_redelivery_of_an_older_event_changes_nothing(lark: Feishu, emulator, bot):
    account_id = emulator.create_account("ou_hire")
    lark.ask(f"/referral show {account_id}")  # the records hold it as read just now
    now_ms = int(time.time() * 1000)

    lark.push(balance_event(emulator, account_id, 500, now_ms + 2000))
    worked_off(bot, 2)
    newer = bot.services.accounts.get(account_id)
    assert newer.account.points == 500

    lark.push(balance_event(emulator, account_id, 100, now_ms - 60_000))  # sent a minute ago
    worked_off(bot, 3)
    kept = bot.services.accounts.get(account_id)
    assert kept.account.points == 500
    assert kept.seen_at == newer.seen_at  # not "seen just now"


def test_an_event_older_than_the_last_read_changes_nothing(lark: Feishu, emulator, bot):
    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(account_id, points=70)
    lark.ask(f"/referral show {account_id}")
    lark.push(balance_event(emulator, account_id, 10, int(time.time() * 1000) - 5000))
    worked_off(bot, 2)
    assert bot.services.accounts.get(account_id).account.points == 70


def test_an_unknown_account_is_adopted_with_its_real_status(lark: Feishu, emulator, bot):
    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(account_id, points=40)
    emulator.set_status(account_id, 2)
    lark.push(balance_event(emulator, account_id, 40, int(time.time() * 1000)))
    worked_off(bot, 1)
    record = bot.services.accounts.get(account_id)
    assert record.account.status is AccountStatus.DISABLED
    assert record.account.points == 40
    assert len(emulator.calls_for("get_account_assets")) == 1
