"""Reconciliation over real HTTP: `/referral reconcile` for a window and for last month (read in
the zone), matches and mismatches, split windows and batches, and the schedule posting once per
fire time across processes, catching up after a restart and retrying while Feishu is in
trouble."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.app import ReferralBot
from bot.domain.withdrawals import Amounts, Kind
from bot.emulator import Emulator
from bot.feishu.openapi import RetryPolicy
from bot.scheduler import latest_fire_time, schedule_report
from handlers.reconcile.service import (
    ReconcileService,
    day_bounds,
    previous_month,
    split_months,
    window_days,
)
from tests.conftest import ADMIN, Feishu, card_text, card_text_zh, wait_for

SHANGHAI = ZoneInfo("Asia/Shanghai")
HR_CHAT = "oc_hr"
LEADS_CHAT = "oc_leads"


def at(*args: int) -> datetime:
    """A moment in Asia/Shanghai, the zone the tests' settings name."""
    return datetime(*args, tzinfo=SHANGHAI)


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def bot_record(bot: ReferralBot, account_id: str, points: int, when: datetime) -> str:
    """A withdrawal as the bot records it (requested, approved, withdrawn); its order id."""
    book = bot.services.withdrawals
    request = book.create(
        account_id, Kind.POINTS, Amounts(points), requested_by=ADMIN, chat_id=HR_CHAT
    )
    order_id = book.approve(request.id, "ou_approver", then=lambda order_id: None)
    assert order_id and book.withdrawn(request.id, when, Amounts(points))
    return order_id


def withdrawn(bot: ReferralBot, emulator: Emulator, account_id: str, points: int, when):
    """A withdrawal through the bot: Hire's record and the bot's, at Feishu's trans_time."""
    order_id = bot_record(bot, account_id, points, when)
    emulator.record_withdrawal(account_id, points, trans_time_ms=ms(when), order_id=order_id)


def service(bot: ReferralBot, retry_first: float = 0.05) -> ReconcileService:
    services = bot.services
    return ReconcileService(
        bot.settings,
        bot.database,
        services.withdrawals,
        services.gateway,
        services.messenger,
        holder=bot.owner,
        scheduler=schedule_report,
        retry_first=retry_first,
    )


def posted(emulator: Emulator, chat_id: str) -> list:
    """Cards the bot posted (not replies) into a chat."""
    return [m for m in emulator.messages if m.chat_id == chat_id and m.reply_to is None]


# --- windows ---------------------------------------------------------------------------------
def test_windows_are_whole_days_in_the_zone():
    assert day_bounds(date(2026, 10, 1), date(2026, 10, 31), "Asia/Shanghai") == (
        datetime(2026, 9, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 10, 31, 15, 59, 59, 999000, tzinfo=UTC),
    )
    # Shortly after midnight on 1 November in Shanghai it is still October in UTC.
    now = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
    assert window_days(None, None, "Asia/Shanghai", now) == (date(2026, 10, 1), date(2026, 10, 31))
    assert window_days(None, None, "UTC", now) == (date(2026, 9, 1), date(2026, 9, 30))
    assert previous_month(date(2026, 1, 1)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert split_months(date(2026, 10, 1), date(2026, 10, 31)) == [
        (date(2026, 10, 1), date(2026, 10, 31))
    ]
    assert split_months(date(2026, 9, 15), date(2026, 11, 10)) == [
        (date(2026, 9, 15), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 10)),
    ]


# --- the command -----------------------------------------------------------------------------
def test_a_window_that_matches(lark: Feishu, emulator, bot):
    a, b = emulator.create_account("ou_a"), emulator.create_account("ou_b")
    withdrawn(bot, emulator, a, 1000, at(2026, 10, 1, 0, 30))  # 2026-09-30 16:30 UTC
    withdrawn(bot, emulator, b, 500, at(2026, 10, 31, 23, 30))
    withdrawn(bot, emulator, a, 70, at(2026, 11, 1, 0, 30))  # 2026-10-31 16:30 UTC

    card = lark.ask("/referral reconcile 2026-10-01 2026-10-31").content

    (call,) = emulator.calls_for("reconciliation")
    assert call.body["start_trans_time"] == ms(at(2026, 10, 1))
    assert int(call.body["end_trans_time"]) == int(ms(at(2026, 11, 1))) - 1
    assert call.body["trade_details"] == [
        {"account_id": account, "total_recharge_reward_info": {"point_bonus": points}}
        for account, points in sorted([(a, 1000), (b, 500)])
    ]
    text = card_text(card)
    assert "2026-10-01 – 2026-10-31 (Asia/Shanghai)" in text
    assert "Checked **2 accounts** · **1,500 points** withdrawn through the bot" in text
    assert "Everything matches" in text
    assert "全部一致" in card_text_zh(card)

    november = card_text(lark.ask("/referral reconcile 2026-11-01 2026-11-30").content)
    assert "Checked **1 account** · **70 points**" in november


def test_last_month_by_default(lark: Feishu, emulator, bot):
    today = datetime.now(SHANGHAI).date()
    first, last = previous_month(today)
    account = emulator.create_account("ou_a")
    withdrawn(bot, emulator, account, 40, at(first.year, first.month, 1, 0, 30))
    withdrawn(bot, emulator, account, 2, at(last.year, last.month, last.day, 23, 30))
    withdrawn(bot, emulator, account, 900, at(today.year, today.month, 1, 0, 30))

    text = card_text(lark.ask("/referral reconcile").content)

    assert f"{first} – {last} (Asia/Shanghai)" in text
    assert "Checked **1 account** · **42 points**" in text and "Everything matches" in text
    (call,) = emulator.calls_for("reconciliation")
    assert call.body["start_trans_time"] == ms(at(first.year, first.month, 1))


def test_mismatches_show_both_figures(lark: Feishu, emulator, bot):
    outside, missing, fine = (emulator.create_account(f"ou_{n}") for n in ("hire", "m", "f"))
    lark.ask(f"/referral show {outside}")  # the records learn whose it is: Zhang San
    withdrawn(bot, emulator, outside, 500, at(2026, 10, 3, 12))
    # Someone withdrew in Feishu's console as well: Hire counts 700, the bot 500.
    emulator.record_withdrawal(outside, 200, trans_time_ms=ms(at(2026, 10, 4, 12)))
    # The bot recorded a withdrawal Hire does not have.
    bot_record(bot, missing, 300, at(2026, 10, 5, 12))
    withdrawn(bot, emulator, fine, 10, at(2026, 10, 6, 12))

    card = lark.ask("/referral reconcile 2026-10-01 2026-10-31").content

    text, zh = card_text(card), card_text_zh(card)
    assert "Checked **3 accounts** · **810 points**" in text
    assert "**2 mismatches**" in text and "Everything matches" not in text
    assert f"**Zhang San** · `{outside}` · Feishu: 700 points · bot: 500 points" in text
    assert f"**张三** · `{outside}` · 飞书记录：700 积分" in zh
    assert f"`{missing}` · Feishu: 0 points · bot: 300 points" in text
    assert f"`{missing}` · 飞书记录：0 积分 · 机器人记录：300 积分" in zh
    assert fine not in text
    assert card["header"]["template"] == "red"


def test_a_window_without_withdrawals_still_asks_feishu(lark: Feishu, emulator):
    card = lark.ask("/referral reconcile 2026-10-05 2026-10-05").content

    (call,) = emulator.calls_for("reconciliation")
    assert call.body["trade_details"] == []
    assert int(call.body["end_trans_time"]) - int(call.body["start_trans_time"]) == 86_399_999
    text = card_text(card)
    assert "No withdrawals through the bot in this window." in text
    assert "Everything matches" in text


def test_a_long_window_goes_by_month_and_a_hundred_accounts_a_call(lark: Feishu, emulator, bot):
    september = emulator.create_account("ou_september")
    withdrawn(bot, emulator, september, 5, at(2026, 9, 20, 9))
    october = [emulator.create_account(f"ou_{i}") for i in range(150)]
    for i, account in enumerate(october):
        withdrawn(bot, emulator, account, 10 + i, at(2026, 10, 1 + i % 31, 9))
    emulator.record_withdrawal(october[120], 1, trans_time_ms=ms(at(2026, 10, 30, 9)))

    card = lark.ask("/referral reconcile 2026-09-15 2026-11-10", timeout=20).content

    bodies = [call.body for call in emulator.calls_for("reconciliation")]
    windows = [(b["start_trans_time"], b["end_trans_time"]) for b in bodies]
    months = [(at(2026, 9, 15), at(2026, 10, 1)), (at(2026, 10, 1), at(2026, 11, 1))]
    months += [(at(2026, 11, 1), at(2026, 11, 11))]
    expected = [(ms(lo), str(int(ms(hi)) - 1)) for lo, hi in months]
    assert windows == [expected[0], expected[1], expected[1], expected[2]]
    sent = [[d["account_id"] for d in b["trade_details"]] for b in bodies]
    assert sent[0] == [september]
    assert sorted(sent[1] + sent[2]) == sorted(october) and len(sent[1]) == 100
    assert sent[3] == []  # November: nothing through the bot, and Feishu is asked all the same
    text = card_text(card)
    assert "Checked **151 accounts**" in text
    assert f"`{october[120]}` · 2026-10-01 – 2026-10-31 · Feishu: 131 points · bot: 130" in text


def test_a_transient_failure_runs_the_command_again(make_bot, emulator):
    bot = make_bot(retry=RetryPolicy(attempts=1))
    lark = Feishu(bot, emulator)
    account = emulator.create_account("ou_a")
    withdrawn(bot, emulator, account, 5, at(2026, 10, 3, 12))
    emulator.fail_next("reconciliation", n=1, kind="5xx")

    text = card_text(lark.ask("/referral reconcile 2026-10-01 2026-10-31").content)

    assert "Everything matches" in text
    assert [c.status for c in emulator.calls_for("reconciliation")] == [500, 200]


def test_a_refusal_is_answered_in_plain_words(lark: Feishu, emulator):
    emulator.revoke_scopes("hire:referral_account")
    text = card_text(lark.ask("/referral reconcile 2026-10-01 2026-10-31").content)
    # In plain words (handlers.answers.explain), with Feishu's log id.
    assert "Could not do that\nThe app lacks a permission" in text and "(log id " in text
    assert "hire:referral_account" in text  # which one, as Feishu names it


# --- the schedule ----------------------------------------------------------------------------
def test_the_schedule_follows_the_configured_cron(make_bot):
    bot = make_bot(digest_chats=(HR_CHAT,), reconcile_cron="0 10 1 * *")
    reconciler = service(bot)
    reconciler.start_schedule()
    try:
        nxt = reconciler.next_run_time
        local = datetime.now(SHANGHAI)
        month = local.replace(day=1, hour=10, minute=0, second=0, microsecond=0)
        if month <= local:
            month = (month + timedelta(days=32)).replace(day=1)
        assert nxt == month and str(nxt.tzinfo) == "Asia/Shanghai"
        assert reconciler.schedule_alive()
    finally:
        reconciler.stop_schedule()
    no_chats = service(make_bot())
    no_chats.start_schedule()
    assert no_chats.next_run_time is None


def test_two_processes_post_last_month_to_each_chat_once(make_bot, emulator):
    chats = (HR_CHAT, LEADS_CHAT)
    first, second = make_bot(digest_chats=chats), make_bot(digest_chats=chats)
    assert first.settings.db_path == second.settings.db_path
    account = emulator.create_account("ou_a")
    withdrawn(first, emulator, account, 30, at(2026, 11, 30, 23, 30))
    withdrawn(first, emulator, account, 99, at(2026, 12, 1, 0, 30))
    fire = at(2026, 12, 1, 10)
    barrier = threading.Barrier(2)
    results: dict[str, list[str]] = {}

    def run(name: str, reconciler: ReconcileService) -> None:
        barrier.wait()
        results[name] = reconciler.run_scheduled(fire)

    pairs = (("a", service(first)), ("b", service(second)))
    threads = [threading.Thread(target=run, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert sorted(results["a"] + results["b"]) == sorted(chats)
    for chat in chats:
        (message,) = posted(emulator, chat)
        text = card_text(message.content)
        assert "2026-11-01 – 2026-11-30 (Asia/Shanghai)" in text
        assert "Checked **1 account** · **30 points**" in text
    # Only the holder of the run's lease asked Feishu.
    assert len(emulator.calls_for("reconciliation")) == 1
    assert service(second).run_scheduled(fire) == []
    (run,) = service(first).records.runs()
    assert run.chats_posted == chats and run.first_day == date(2026, 11, 1)


def test_a_run_held_by_a_dead_process_is_taken_over(make_bot, emulator):
    live, other = make_bot(digest_chats=(HR_CHAT,)), make_bot(digest_chats=(HR_CHAT,))
    fire = at(2026, 12, 1, 10)
    reconciler = service(live)
    month = (date(2026, 11, 1), date(2026, 11, 30))
    assert reconciler.records.lease_scheduled(fire, other.owner, *month) is not None
    # Its holder beats: the run is left to it, and waited for (should the holder die, as here
    # when it stops with the run in hand, it is finished here).
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(reconciler.run_scheduled, fire)
        assert posted(emulator, HR_CHAT) == [] and not waiting.done()
        other.stop()
        assert waiting.result(30) == [HR_CHAT]
    assert len(posted(emulator, HR_CHAT)) == 1

    later = at(2027, 1, 1, 10)
    assert reconciler.records.lease_scheduled(later, "gone-host:1:dead", *month) is not None
    assert reconciler.run_scheduled(later) == [HR_CHAT]
    assert len(posted(emulator, HR_CHAT)) == 2
    assert reconciler.records.last_scheduled_for() == later


def test_a_missed_fire_time_is_caught_up_once_after_restart(make_bot, emulator):
    missed = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    trigger = CronTrigger(hour=missed.hour, minute=missed.minute, timezone=UTC)
    assert latest_fire_time(trigger, datetime.now(UTC), timedelta(hours=1)) == missed

    bot = make_bot(digest_chats=(HR_CHAT,))
    reconciler = service(bot)
    reconciler.start_schedule(trigger=trigger, grace=timedelta(hours=1))
    wait_for(lambda: posted(emulator, HR_CHAT), 5, "the catch-up report")
    reconciler.stop_schedule()

    restarted = service(make_bot(digest_chats=(HR_CHAT,)))
    restarted.start_schedule(trigger=trigger, grace=timedelta(hours=1))
    wait_for(lambda: restarted.next_run_time, 2, "the schedule")
    threading.Event().wait(0.5)  # time a wrongful second catch-up would need to post
    restarted.stop_schedule()

    (message,) = posted(emulator, HR_CHAT)
    first, last = previous_month(missed.date())
    assert f"{first} – {last} (Asia/Shanghai)" in card_text(message.content)
    (run,) = restarted.records.runs()
    assert run.scheduled_for == missed and run.finished_at is not None


def test_the_schedule_retries_while_feishu_is_in_trouble(make_bot, emulator):
    bot = make_bot(digest_chats=(HR_CHAT,), retry=RetryPolicy(attempts=1))
    reconciler = service(bot)
    emulator.fail_next("reconciliation", n=2, kind="5xx")
    emulator.fail_next("message_create", n=2, kind="ratelimit")

    assert reconciler.run_scheduled(datetime.now(UTC)) == [HR_CHAT]

    assert [c.status for c in emulator.calls_for("reconciliation")] == [500, 500, 200]
    (message,) = posted(emulator, HR_CHAT)
    assert "Everything matches" in card_text(message.content)
    (run,) = reconciler.records.runs()
    assert run.error is None and run.chats_posted == (HR_CHAT,)


def test_a_scheduled_report_feishu_refuses_says_so(make_bot, emulator):
    bot = make_bot(digest_chats=(HR_CHAT,))
    emulator.revoke_scopes("hire:referral_account")

    assert service(bot).run_scheduled(datetime.now(UTC)) == [HR_CHAT]

    (message,) = posted(emulator, HR_CHAT)
    text = card_text(message.content)
    assert "Could not reconcile this window: The app lacks a permission" in text
    assert "(log id " in text
    (run,) = service(bot).records.runs()
    assert "99991672" in run.error
