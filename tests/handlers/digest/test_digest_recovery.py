"""The digest through stops, crashes and trouble: caught up, cut off in seconds, posted once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.feishu.openapi import RetryPolicy
from handlers.digest.service import DEFAULT_GRACE
from tests.conftest import card_text, wait_for
from tests.handlers.digest.conftest import HR_CHAT, chat_messages, know_accounts


def missed_fire_time() -> tuple[datetime, CronTrigger]:
    """A cron that last fired two minutes ago and not again until tomorrow."""
    missed = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    return missed, CronTrigger(hour=missed.hour, minute=missed.minute, timezone=UTC)


def test_a_run_left_unfinished_by_a_dead_process_is_caught_up(digest_bot, emulator):
    missed, trigger = missed_fire_time()
    bot = digest_bot()
    know_accounts(bot, emulator, 2)
    # A process began the run for that fire time and was killed: it never beats again.
    assert bot.digest.records.lease_scheduled(missed, "a-dead-process") is not None

    bot.digest.start_schedule(trigger=trigger, grace=timedelta(hours=1))
    wait_for(lambda: bot.digest.records.runs()[0].finished_at, 10, "the caught-up digest")
    (run,) = bot.digest.records.runs()
    assert run.scheduled_for == missed
    assert len(chat_messages(emulator, HR_CHAT)) == 1


def test_a_stop_cuts_a_digest_off_within_seconds_and_the_next_start_finishes_it(
    digest_bot, emulator
):
    missed, trigger = missed_fire_time()
    bot = digest_bot()
    know_accounts(bot, emulator, 60)  # six seconds of fetching at Feishu's 10 per second
    bot.digest.start_schedule(trigger=trigger, grace=timedelta(hours=1))
    wait_for(lambda: len(emulator.calls_for("get_account_assets")) >= 5, 10, "fetching")
    began = time.monotonic()
    bot.stop()
    assert time.monotonic() - began < 5
    assert chat_messages(emulator, HR_CHAT) == []
    (cut_off,) = bot.digest.records.runs()
    assert cut_off.finished_at is None

    restarted = digest_bot()
    restarted.digest.start_schedule(trigger=trigger, grace=timedelta(hours=1))
    wait_for(lambda: restarted.digest.records.runs()[0].finished_at, 20, "the digest, finished")
    (run,) = restarted.digest.records.runs()
    assert run.id == cut_off.id and run.finished_at is not None and run.fetched == 60
    assert len(chat_messages(emulator, HR_CHAT)) == 1


def test_a_post_failing_for_a_while_is_retried_until_it_lands(digest_bot, emulator):
    bot = digest_bot()
    know_accounts(bot, emulator, 2)
    bot.digest.post_retry_first = 0.2
    # More failures than one send's own retries: the digest tries the chat again later.
    emulator.fail_next("message_create", n=RetryPolicy().attempts + 1, kind="5xx")
    assert bot.digest.run_scheduled(datetime.now(UTC)) == [HR_CHAT]
    assert len(chat_messages(emulator, HR_CHAT)) == 1
    (run,) = bot.digest.records.runs()
    assert run.chats_posted == (HR_CHAT,) and run.chats_failed == ()


def test_a_post_failing_past_the_grace_is_recorded_as_failed(digest_bot, emulator):
    bot = digest_bot()
    know_accounts(bot, emulator, 1)
    emulator.fail_next("message_create", n=RetryPolicy().attempts, kind="5xx")
    late = datetime.now(UTC) - DEFAULT_GRACE + timedelta(seconds=2)
    assert bot.digest.run_scheduled(late) == []
    (run,) = bot.digest.records.runs()
    assert [chat for chat, *_ in run.chats_failed] == [HR_CHAT]


def test_a_scheduled_digest_compares_only_with_the_previous_scheduled_one(digest_bot, emulator):
    bot = digest_bot()
    ids = know_accounts(bot, emulator, 2)
    start = datetime.now(UTC)
    bot.digest.run_scheduled(start - timedelta(days=1))
    emulator.add_bonus(ids[0], points=100)
    # An admin asks for a digest in a one-to-one chat: it shows the change ...
    assert "+100 points" in card_text(bot.digest.card_for_chat("oc_admin_p2p"))
    # ... and the group's next scheduled digest still does.
    bot.digest.run_scheduled(start)
    latest = chat_messages(emulator, HR_CHAT)[-1].content
    assert f"**referrer0@example.com** · `{ids[0]}` · +100 points" in card_text(latest)
