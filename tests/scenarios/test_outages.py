"""Feishu outages: acknowledged commands wait, run once, and are answered when Feishu is back."""

from datetime import timedelta

import pytest
import requests

from bot.records.store import to_iso, utcnow
from handlers.waiting import INTERIM
from tests.conftest import Feishu, card_text, wait_for


def replies_to(emulator, message_id: str) -> list:
    return [m for m in emulator.messages if m.reply_to == message_id]


@pytest.mark.parametrize("kind", ["refuse", "5xx"])
def test_commands_sent_during_an_outage_run_once_when_feishu_is_back(
    lark: Feishu, emulator, bot, kind
):
    account_id = emulator.create_account("ou_hire")
    emulator.outage(4, kind)
    disabled, disable_id = lark.say(f"/referral disable {account_id}")
    shown, show_id = lark.say(f"/referral show {account_id}")
    assert (disabled.status, shown.status) == (200, 200)  # acknowledged whatever Feishu does
    wait_for(lambda: not emulator.in_outage, timeout=10, what="the outage to end")
    assert "Disabled" in card_text(lark.reply_to(disable_id, timeout=30).content)
    lark.reply_to(show_id, timeout=30)
    wait_for(lambda: bot.inbox.counts() == {"done": 2}, what="both done")
    assert len(replies_to(emulator, disable_id)) == len(replies_to(emulator, show_id)) == 1
    assert emulator.account(account_id)["status"] == 2
    assert len([c for c in emulator.calls_for("deactivate") if c.status == 200]) == 1
    # Nobody was told to send it again, nor that it failed.
    assert all(m.content["header"]["template"] != "red" for m in emulator.messages)


def test_a_command_that_ran_is_not_run_again_when_only_its_reply_failed(
    lark: Feishu, emulator, bot
):
    account_id = emulator.create_account("ou_hire")
    emulator.set_latency("deactivate", 0.3)
    _, message_id = lark.say(f"/referral disable {account_id}")
    wait_for(lambda: emulator.calls_for("deactivate"), what="the change made")
    emulator.outage(3, "refuse")  # Feishu goes away before the reply can be sent
    reply = lark.reply_to(message_id, timeout=30)
    assert "Disabled" in card_text(reply.content)
    assert len(emulator.calls_for("deactivate")) == 1
    assert len(replies_to(emulator, message_id)) == 1


def test_feishu_answering_again_wakes_everything_waiting_out_a_backoff(lark: Feishu, emulator, bot):
    bot.pool.stop()
    _, waiting = lark.say("/referral help")
    # As after hours of outage: the event's next try is far off.
    bot.database.db.execute(
        "UPDATE events SET attempts = 9, not_before = ?", [to_iso(utcnow() + timedelta(hours=1))]
    )
    emulator.outage(None, "refuse")
    bot.pool.start()
    _, trigger = lark.say("/referral help")  # its first try fails: Feishu is seen down
    wait_for(lambda: not bot.api.reachability.reachable, timeout=15, what="Feishu seen down")
    emulator.end_outage()
    lark.reply_to(trigger, timeout=40)  # its retry gets through: Feishu is seen back ...
    lark.reply_to(waiting, timeout=5)  # ... and the far-off event goes at once


def test_feishu_answering_again_does_not_hurry_work_queued_for_later(bot):
    # An interim answer due in a minute is no retry waiting out a backoff.
    bot.inbox.enqueue(INTERIM, {"event_id": "e1"}, key="e1", delay=timedelta(minutes=1))
    assert bot.inbox.wake_waiting() == 0
    (row,) = bot.database.db["events"].rows_where("event_type = ?", [INTERIM])
    assert row["status"] == "queued" and row["not_before"] > to_iso(utcnow())


def test_health_stays_ok_while_feishu_is_down_and_says_so(lark: Feishu, emulator, bot):
    emulator.outage(None, "refuse")
    lark.say("/referral help")
    wait_for(lambda: not bot.api.reachability.reachable, timeout=15, what="Feishu seen down")
    health = requests.get(bot.url + "/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json()["feishu"] == "unreachable"
