"""The schedule: wiring, firing, one post per chat across processes, catch-up after a restart."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.scheduler import latest_fire_time
from tests.conftest import card_text, wait_for
from tests.handlers.digest.conftest import HR_CHAT, chat_messages, know_accounts

SHANGHAI = "Asia/Shanghai"


def test_job_is_wired_to_the_configured_cron(digest_bot):
    bot = digest_bot(digest_cron="0 9 * * 1-5", digest_tz=SHANGHAI)
    bot.digest.start_schedule()

    nxt = bot.digest.next_run_time
    now = datetime.now(UTC)
    # The first 09:00 on a Monday to Friday (Shanghai) after now.
    local = now.astimezone(nxt.tzinfo)
    expected = local.replace(hour=9, minute=0, second=0, microsecond=0)
    while expected <= local or expected.weekday() > 4:
        expected = (expected + timedelta(days=1)).replace(hour=9)
    assert nxt == expected
    assert str(nxt.tzinfo) == SHANGHAI


def test_no_chats_means_no_schedule(digest_bot):
    bot = digest_bot(chats=())
    bot.digest.start_schedule()
    assert bot.digest.next_run_time is None


def test_schedule_fires_and_posts_to_every_chat(digest_bot, emulator):
    bot = digest_bot(chats=(HR_CHAT, "oc_leads"))
    know_accounts(bot, emulator, 2)
    bot.digest.start_schedule(trigger=CronTrigger(second="*", timezone=SHANGHAI))

    wait_for(lambda: chat_messages(emulator, "oc_leads"), 5, "a scheduled digest")
    bot.digest.stop_schedule()

    (first_hr, *_) = chat_messages(emulator, HR_CHAT)
    assert "2 accounts** · 2 enabled · 0 disabled" in card_text(first_hr.content)
    runs = bot.digest.records.runs()
    assert runs and all(r.kind == "scheduled" for r in runs)
    # One post per chat per fire time, however the seconds fell.
    for chat in (HR_CHAT, "oc_leads"):
        assert len(chat_messages(emulator, chat)) == len([r for r in runs if r.finished_at])
    assert runs[0].chats_posted == (HR_CHAT, "oc_leads")


def test_a_fire_time_is_posted_once(digest_bot, emulator):
    bot = digest_bot()
    know_accounts(bot, emulator, 2)
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    assert bot.digest.run_scheduled(at) == [HR_CHAT]
    assert bot.digest.run_scheduled(at) == []

    assert len(chat_messages(emulator, HR_CHAT)) == 1
    assert len(emulator.calls_for("get_account_assets")) == 2
    assert bot.digest.records.last_scheduled_for() == at
    (post,) = bot.digest.records.posts(at)
    assert post["status"] == "posted" and post["message_id"]


def test_two_processes_post_each_chat_once(digest_bot, emulator):
    chats = (HR_CHAT, "oc_leads", "oc_ops")
    first, second = digest_bot(chats=chats), digest_bot(chats=chats)
    assert first.settings.db_path == second.settings.db_path
    know_accounts(first, emulator, 5)
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    barrier = threading.Barrier(2)
    posted: dict[str, list[str]] = {}

    def run(name, bot):
        barrier.wait()
        posted[name] = bot.digest.run_scheduled(at)

    threads = [threading.Thread(target=run, args=pair) for pair in (("a", first), ("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(posted["a"] + posted["b"]) == sorted(chats)
    for chat in chats:
        assert len(chat_messages(emulator, chat)) == 1, chat
    # Only the process holding the run's lease fetched.
    assert len(emulator.calls_for("get_account_assets")) == 5
    assert len(first.digest.records.runs()) == 1


def test_a_chat_that_fails_does_not_stop_the_others(digest_bot, emulator):
    bot = digest_bot(chats=("bad-chat", HR_CHAT))
    know_accounts(bot, emulator, 1)
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    assert bot.digest.run_scheduled(at) == [HR_CHAT]

    (run,) = bot.digest.records.runs()
    assert run.chats_posted == (HR_CHAT,)
    assert [chat for chat, *_ in run.chats_failed] == ["bad-chat"]
    assert [p["status"] for p in bot.digest.records.posts(at)] == ["failed", "posted"]
    # The next digest says so.
    bot.digest.run_scheduled(at + timedelta(days=1))
    latest = chat_messages(emulator, HR_CHAT)[-1]
    assert "The last digest could not be posted to `bad-chat`" in card_text(latest.content)


def test_missed_run_happens_once_after_restart(digest_bot, emulator):
    # A cron that last fired two minutes ago and not again until tomorrow: the bot was down.
    missed = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    trigger = CronTrigger(hour=missed.hour, minute=missed.minute, timezone=UTC)
    assert latest_fire_time(trigger, datetime.now(UTC), timedelta(hours=1)) == missed

    bot = digest_bot()
    know_accounts(bot, emulator, 1)
    bot.digest.start_schedule(trigger=trigger, grace=timedelta(hours=1))
    wait_for(lambda: chat_messages(emulator, HR_CHAT), 5, "the catch-up digest")
    assert bot.digest.next_run_time > datetime.now(UTC) + timedelta(hours=23)
    bot.digest.stop_schedule()  # the process ends

    restarted = digest_bot()
    restarted.digest.start_schedule(trigger=trigger, grace=timedelta(hours=1))
    wait_for(lambda: restarted.digest.next_run_time, 2, "the schedule")
    # Give a wrongful second catch-up the time it would need to post.
    threading.Event().wait(1.0)
    restarted.digest.stop_schedule()

    assert len(chat_messages(emulator, HR_CHAT)) == 1
    (run,) = restarted.digest.records.runs()
    assert run.scheduled_for == missed and run.kind == "scheduled"


def test_missed_run_beyond_the_grace_is_skipped(digest_bot, emulator):
    long_ago = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    trigger = CronTrigger(hour=long_ago.hour, minute=long_ago.minute, timezone=UTC)
    bot = digest_bot()
    know_accounts(bot, emulator, 1)

    bot.digest.start_schedule(trigger=trigger, grace=timedelta(hours=1))
    threading.Event().wait(1.0)
    bot.digest.stop_schedule()

    assert chat_messages(emulator, HR_CHAT) == []
    assert bot.digest.records.runs() == []
