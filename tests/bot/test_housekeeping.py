"""Housekeeping and health: records pruned past their use, and /healthz telling the truth."""

import json
from datetime import timedelta

import requests

from bot.domain.accounts import Account, AccountStatus
from bot.records.store import to_iso, utcnow
from tests.conftest import Feishu, wait_for


def days_ago(days: float) -> str:
    return to_iso(utcnow() - timedelta(days=days))


def test_prune_forgets_what_is_past_its_use_and_keeps_the_audit(lark: Feishu, emulator, bot):
    db = bot.database.db
    for event_id, status, at in [
        ("old-done", "done", 31),
        ("old-failed", "failed", 40),
        ("recent-done", "done", 29),
        ("old-queued", "queued", 31),
    ]:
        db["events"].insert(
            {
                "event_id": event_id,
                "event_type": "im.message.receive_v1",
                "status": status,
                "payload": json.dumps({"text": "hire@open.com"}),
                "updated_at": days_ago(at),
            }
        )
    db["account_cards"].insert_all(
        [
            {"message_id": "om_old", "account_id": "1", "sent_at": days_ago(15)},
            {"message_id": "om_new", "account_id": "1", "sent_at": days_ago(1)},
        ]
    )
    records = bot.digest.records
    accounts = [Account("1", AccountStatus.ENABLED, points=5)]
    old_run = records.lease_scheduled(utcnow() - timedelta(days=90), bot.owner)
    records.save_snapshots(old_run, accounts, utcnow() - timedelta(days=90))
    records.finish(old_run, accounts=1, fetched=1, failures=[], chats_posted=[], chats_failed=[])
    db["digest_runs"].update(old_run, {"started_at": days_ago(90)})
    older_run = records.start_on_demand(bot.owner)
    db["digest_runs"].update(older_run, {"started_at": days_ago(80)})
    records.save_snapshots(older_run, accounts, utcnow() - timedelta(days=80))
    bot.services.audit.record(actor="ou_admin", action="show", outcome="ok")
    db["audit"].update(1, {"at": days_ago(400)})

    pruned = bot.prune()

    assert pruned == {"events": 2, "card notes": 1, "digest snapshots": 1}
    assert {r["event_id"] for r in db["events"].rows} == {"recent-done", "old-queued"}
    assert [r["message_id"] for r in db["account_cards"].rows] == ["om_new"]
    # The latest scheduled run's snapshots stay, however old: the next digest compares with them.
    assert records.snapshot_count(old_run) == 1 and records.snapshot_count(older_run) == 0
    assert len(bot.services.audit.entries()) == 1


def test_health_is_503_when_an_event_waits_long_while_feishu_answers(lark: Feishu, bot):
    bot.pool.stop()
    lark.say("/referral help")
    bot.database.db.execute("UPDATE events SET received_at = ?", [days_ago(6 / 1440)])
    bot.api.reachability.up_since -= 600  # Feishu has answered for ten minutes
    health = requests.get(bot.url + "/healthz", timeout=5)
    assert health.status_code == 503
    problems = health.json()["problems"]
    assert any("an event has waited" in p for p in problems)
    assert any("inbox workers are dead" in p for p in problems)


def test_health_is_ok_when_all_is_well(lark: Feishu, bot):
    lark.ask("/referral help")
    # The reply lands a moment before its event is marked done.
    wait_for(lambda: bot.inbox.counts() == {"done": 1}, what="the event done")
    health = requests.get(bot.url + "/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "inbox": {"done": 1}, "feishu": "reachable"}
