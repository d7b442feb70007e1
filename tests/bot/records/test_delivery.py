"""At-least-once delivery: acknowledged events are worked off once, across restarts too."""

import json
import logging
import time
from datetime import timedelta

from bot.feishu.openapi import RetryPolicy
from bot.records.liveness import STALE_AFTER
from bot.records.store import to_iso, utcnow
from tests.conftest import Feishu, card_text, card_text_zh, wait_for


def test_same_event_id_delivered_twice_is_acted_on_once(lark: Feishu, emulator, bot):
    event = lark.message("/referral register hire@open.com")
    first, again = lark.push(event), lark.push(event)
    assert (first.status, again.status) == (200, 200)
    message_id = event["event"]["message"]["message_id"]
    lark.reply_to(message_id)
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the one event worked off")
    assert len(emulator.calls_for("create")) == 1
    assert len([m for m in emulator.messages if m.reply_to == message_id]) == 1


def test_same_message_under_a_new_event_id_is_acted_on_once(lark: Feishu, emulator, bot):
    event = lark.message("/referral register hire@open.com")
    lark.push(event)
    redelivered = {**event, "header": {**event["header"], "event_id": "another-event-id"}}
    assert lark.push(redelivered).status == 200
    lark.reply_to(event["event"]["message"]["message_id"])
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the one event worked off")
    assert len(emulator.calls_for("create")) == 1


def test_events_queued_when_the_bot_stops_are_worked_off_after_restart(make_bot, emulator):
    stopped = make_bot(start=False)
    stopped.start(schedule=False)
    stopped.pool.stop()  # the HTTP side takes events in; nobody works them off
    lark = Feishu(stopped, emulator)
    sent = [lark.say(f"/referral register {email}")[1] for email in ("hire@open.com",)]
    sent.append(lark.say("/referral help")[1])
    assert stopped.inbox.counts() == {"queued": 2}
    assert emulator.calls_for("create") == []
    stopped.stop()

    restarted = make_bot()
    for message_id in sent:
        Feishu(restarted, emulator).reply_to(message_id)
    assert len(emulator.calls_for("create")) == 1
    wait_for(lambda: restarted.inbox.counts() == {"done": 2}, what="all done")


def test_a_clean_stop_waits_for_work_in_hand_and_leaves_the_rest_queued(make_bot, emulator):
    first = make_bot(workers=1)
    lark = Feishu(first, emulator)
    emulator.set_latency("message_reply", 1.5)
    _, in_hand = lark.say("/referral help")
    wait_for(lambda: first.inbox.counts().get("working") == 1, what="claimed")
    _, waiting = lark.say("/referral help")
    began = time.monotonic()
    first.stop()
    assert time.monotonic() - began < 5
    # The work that had begun finished and was answered; the other was not begun and waits.
    assert first.inbox.counts() == {"done": 1, "queued": 1}
    assert [m.reply_to for m in emulator.messages] == [in_hand]
    emulator.set_latency("message_reply", 0)

    second = make_bot()
    Feishu(second, emulator).reply_to(waiting)
    wait_for(lambda: second.inbox.counts() == {"done": 2}, what="all done")
    assert sorted(m.reply_to for m in emulator.messages) == sorted([in_hand, waiting])


def test_a_claim_whose_owner_stopped_beating_is_taken_back_at_start(make_bot, emulator):
    bot = make_bot(start=False)
    event = Feishu(bot, emulator).message("/referral help")
    message_id = event["event"]["message"]["message_id"]
    bot.inbox.accept(event["header"]["event_id"], "im.message.receive_v1", json.dumps(event))
    # As a process that was killed leaves it: claimed, its owner's last beat long ago.
    bot.database.db.execute("UPDATE events SET status = 'working', owner = 'dead', attempts = 1")
    bot.database.db["owners"].insert(
        {"owner": "dead", "beat_at": to_iso(utcnow() - STALE_AFTER - timedelta(seconds=1))}
    )
    bot.start(schedule=False)
    Feishu(bot, emulator).reply_to(message_id, timeout=5)
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="done")


def test_a_live_claim_is_never_taken_back(make_bot, emulator):
    bot = make_bot(start=False)
    event = Feishu(bot, emulator).message("/referral help")
    bot.inbox.accept(event["header"]["event_id"], "im.message.receive_v1", json.dumps(event))
    bot.database.db.execute("UPDATE events SET status = 'working', owner = 'busy'")
    bot.database.db["owners"].insert({"owner": "busy", "beat_at": to_iso(utcnow())})
    bot.start(schedule=False)
    assert bot.inbox.requeue_orphans() == 0
    assert bot.inbox.counts() == {"working": 1}


def test_after_six_hours_of_failing_replies_the_person_is_told_what_ran(
    lark: Feishu, emulator, bot
):
    bot.pool.stop()
    result, message_id = lark.say("/referral register hire@open.com")
    assert result.status == 200
    # The event arrived seven hours ago, and Feishu has failed every reply since.
    bot.database.db.execute(
        "UPDATE events SET received_at = ?", [to_iso(utcnow() - timedelta(hours=7))]
    )
    emulator.fail_next("message_reply", n=RetryPolicy().attempts, kind="5xx")
    bot.pool.start()
    failed = wait_for(
        lambda: next((r for r in bot.database.db["events"].rows if r["status"] == "failed"), None),
        what="failed",
    )
    assert "could not reply" in failed["error"]
    wait_for(lambda: len([m for m in emulator.messages if m.reply_to == message_id]) == 2)
    late = [m for m in emulator.messages if m.reply_to == message_id]
    assert "was carried out" in card_text(late[0].content)
    assert "Account registered" in card_text(late[1].content)
    assert len(emulator.calls_for("create")) == 1  # the command itself ran once


def _cut_off_run(lark: Feishu, bot, text: str) -> str:
    """Queue a command as a run cut off mid-call leaves it: its change marked as begun."""
    bot.pool.stop()
    result, message_id = lark.say(text)
    assert result.status == 200
    bot.database.db.execute("UPDATE events SET once_started_at = ?", [to_iso(utcnow())])
    bot.pool.start()
    return message_id


def test_a_disable_cut_off_mid_call_is_not_sent_again_when_it_took_effect(
    lark: Feishu, emulator, bot
):
    account_id = emulator.create_account("ou_hire")
    emulator.set_status(account_id, 2)  # the cut-off call had reached Feishu
    message_id = _cut_off_run(lark, bot, f"/referral disable {account_id}")
    assert "Disabled" in card_text(lark.reply_to(message_id).content)
    assert emulator.calls_for("deactivate") == []
    assert len(emulator.calls_for("get_account_assets")) == 1


def test_a_disable_cut_off_before_it_reached_feishu_is_carried_out(lark: Feishu, emulator, bot):
    account_id = emulator.create_account("ou_hire")
    message_id = _cut_off_run(lark, bot, f"/referral disable {account_id}")
    assert "Disabled" in card_text(lark.reply_to(message_id).content)
    assert len(emulator.calls_for("deactivate")) == 1
    assert emulator.account(account_id)["status"] == 2


def test_a_register_cut_off_mid_call_is_not_sent_again(lark: Feishu, emulator, bot):
    message_id = _cut_off_run(lark, bot, "/referral register hire@open.com")
    assert "Not sure it was registered" in card_text(lark.reply_to(message_id).content)
    assert emulator.calls_for("create") == []
    assert bot.services.audit.entries()[-1]["outcome"] == "uncertain"


def test_a_register_answered_500_after_feishu_acted_is_not_sure_and_logs_no_error(
    lark: Feishu, emulator, bot, caplog
):
    emulator.fail_next("create", kind="5xx_after")  # Feishu registers, then answers 500
    with caplog.at_level(logging.INFO):
        _, message_id = lark.say("/referral register hire@open.com")
        card = lark.reply_to(message_id).content
        wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the event done")
    text = card_text(card)
    assert "Not sure it was registered" in text and "server error (1002001)" in text
    assert "无法确认是否已注册" in card_text_zh(card)
    assert len(emulator.calls_for("create")) == 1  # not sent again ...
    assert len(emulator.accounts()) == 1  # ... though Feishu did register
    assert bot.services.audit.entries()[-1]["outcome"] == "error 1002001"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert len([m for m in emulator.messages if m.reply_to == message_id]) == 1
