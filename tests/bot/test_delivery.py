"""At-least-once delivery: acknowledged events are worked off once, across restarts too."""

from tests.conftest import Feishu, wait_for


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


def test_work_in_progress_at_stop_is_released_and_redone(make_bot, emulator):
    first = make_bot()
    emulator.set_latency("message_reply", 3)
    _, message_id = Feishu(first, emulator).say("/referral help")
    wait_for(lambda: first.inbox.counts().get("working") == 1, what="claimed")
    first.pool.stop(timeout=0.1)  # gives up waiting: the claim goes back to the queue
    assert first.inbox.counts() == {"queued": 1}
    first.stop()
    emulator.set_latency("message_reply", 0)

    second = make_bot()
    wait_for(lambda: second.inbox.counts() == {"done": 1}, timeout=15, what="redone")
    # Both attempts carried the same uuid, so Feishu shows one reply.
    replies = [m for m in emulator.messages if m.reply_to == message_id]
    assert len(replies) == 1


def test_event_that_fails_for_good_is_marked_failed_and_the_person_told(
    lark: Feishu, emulator, bot, monkeypatch
):
    from datetime import timedelta

    import bot.worker as worker

    monkeypatch.setattr(worker, "retry_delay", lambda attempts: timedelta(0))
    emulator.fail_next("message_reply", n=12, kind="5xx")
    result, message_id = lark.say("/referral help")
    assert result.status == 200
    event_id = None
    status = wait_for(
        lambda: next((r for r in bot.database.db["events"].rows if r["status"] == "failed"), None),
        timeout=30,
        what="failed",
    )
    event_id = status["event_id"]
    assert "could not reply" in status["error"]
    told = lark.reply_to(message_id, timeout=15)
    assert event_id in told.content["body"]["elements"][0]["text"]["content"]
