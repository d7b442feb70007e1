"""Two `referral-bot serve` replicas sharing only the database, on both engines: Feishu's
deliveries of the same events and button presses reaching both at once are acted on once, two
approvers pressing on two replicas approve a withdrawal once with one order id, and a replica
killed mid-command has its work finished by the other."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.accounts import Account, AccountStatus
from bot.emulator import Emulator
from bot.records.store import AccountBook, Database
from tests.conftest import ADMIN, ENGINES, VERIFICATION_TOKEN, buttons, card_text
from tests.scenarios.test_crash_recovery import APPROVER, RECOVERY_CEILING, Children

pytestmark = pytest.mark.parametrize("records_db", ENGINES, indirect=True)
THIRD = "ou_third_admin"  # a third admin: two may approve what the first asked for


@pytest.fixture
def pair(emulator: Emulator, tmp_path: Path, records_db: str) -> Iterator[Children]:
    kids = Children(emulator, tmp_path, records_db)
    try:
        yield kids
    finally:
        kids.kill_all()


def at_once(*calls: Callable[[], object]) -> list[object]:
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def go(n: int) -> None:
        start.wait()
        results[n] = calls[n]()

    threads = [threading.Thread(target=go, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_the_same_events_and_presses_reaching_both_replicas_are_acted_on_once(
    pair: Children, emulator: Emulator
):
    one, two = pair.start(), pair.start()
    accounts = [emulator.create_account("ou_hire") for _ in range(6)]
    sent = [pair.message(f"/referral disable {account_id}") for account_id in accounts]
    # Feishu delivers each event to both (a retry landing on the other replica).
    statuses = at_once(*(lambda e=e, r=r: r.push(e) for e, _, _ in sent for r in (one, two)))
    assert set(statuses) == {200}
    for _, event_id, message_id in sent:
        pair.wait_for(lambda m=message_id: pair.replies_to(m), 20, "every reply")
        pair.wait_for(
            lambda e=event_id: pair.event(e).get("status") == "done", 20, "every event done"
        )
    assert len(emulator.calls_for("deactivate")) == len(accounts)
    assert all(len(pair.replies_to(m)) == 1 for _, _, m in sent)

    # One press, delivered to both replicas at once: one enable.
    (reply,) = pair.replies_to(sent[0][2])
    (enable,) = [v for v in buttons(reply.content) if v["action"] == "enable"]
    press = emulator.card_action(
        enable,
        open_id=ADMIN,
        message_id=reply.message_id,
        token=VERIFICATION_TOKEN,
    )
    codes = at_once(*(lambda r=r: r.push(press, "/webhook/card") for r in (one, two, one, two)))
    assert set(codes) == {200}
    assert len(emulator.calls_for("enable")) == 1
    assert emulator.account(accounts[0])["status"] == 1
    pair.assert_clean()


def test_two_approvers_on_two_replicas_approve_once_with_one_order_id(
    pair: Children, emulator: Emulator
):
    admins = {"REFERRAL_BOT_ADMINS": f"{ADMIN},{APPROVER},{THIRD}"}
    one, two = pair.start(**admins), pair.start(**admins)
    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(account_id, points=800, cash={"CNY": "100"})
    event, _, message_id = pair.message(f"/referral withdraw {account_id}")
    assert one.push(event) == 200
    (request,) = pair.wait_for(lambda: pair.replies_to(message_id), 20, "the request")
    presses = [
        emulator.card_action(
            {"action": "approve", "withdrawal": 1},
            open_id=approver,
            message_id=request.message_id,
            token=VERIFICATION_TOKEN,
        )
        for approver in (APPROVER, THIRD)
    ]
    codes = at_once(
        lambda: one.push(presses[0], "/webhook/card"),
        lambda: two.push(presses[1], "/webhook/card"),
    )
    assert codes == [200, 200]
    pair.wait_for(
        lambda: pair._rows("SELECT state FROM withdrawals")[0]["state"] == "withdrawn",
        20,
        "the withdrawal to be paid out",
    )
    (made,) = emulator.withdrawals()
    (order,) = {c.body["external_order_id"] for c in emulator.calls_for("withdraw")}
    assert made["external_order_id"] == order
    (row,) = pair._rows("SELECT approved_by, order_id FROM withdrawals")
    assert row["order_id"] == order and row["approved_by"] in (APPROVER, THIRD)
    pair.wait_for(
        lambda: "Withdrawal receipt" in card_text(emulator.latest_card(request.message_id)),
        10,
        "the receipt",
    )
    pair.assert_clean()


def test_a_replica_killed_mid_command_has_it_finished_by_the_other(
    pair: Children, emulator: Emulator
):
    dying, survivor = pair.start(), pair.start()
    account_id = emulator.create_account("ou_hire")
    emulator.set_latency("message_reply", 3)
    event, event_id, message_id = pair.message(f"/referral disable {account_id}")
    assert dying.push(event) == 200
    pair.wait_for(lambda: pair.event(event_id).get("reply"), 10, "the reply to be kept")
    owner = pair.event(event_id)["owner"]
    if f":{survivor.process.pid}:" in owner:  # the survivor's worker took it: swap the roles
        dying, survivor = survivor, dying
    time.sleep(0.5)  # the reply's request is inside the emulator's 3 s
    dying.kill()
    killed = time.monotonic()
    emulator.set_latency("message_reply", 0)
    pair.wait_for(
        lambda: pair.event(event_id).get("status") == "done",
        RECOVERY_CEILING,
        "the survivor to take the claim back and finish it",
    )
    assert time.monotonic() - killed < RECOVERY_CEILING
    assert len(pair.replies_to(message_id)) == 1
    assert len(emulator.calls_for("deactivate")) == 1
    pair.assert_clean()


def test_a_digest_leased_by_a_replica_that_dies_is_posted_once_by_the_other(
    pair: Children, emulator: Emulator, records_db: str
):
    # Accounts the records know, so the digest has something to read (slowly, below).
    database = Database(records_db)
    for _ in range(2):
        account_id = emulator.create_account("ou_hire")
        AccountBook(database).remember(Account(account_id, AccountStatus.ENABLED))
    database.close()
    # The cron fired at the start of this minute: each replica catches that fire time up as
    # it starts (it was never run), and no other comes for a day.
    now = datetime.now(UTC)
    digest = {
        "REFERRAL_BOT_DIGEST_CRON": f"{now.minute} {now.hour} * * *",
        "REFERRAL_BOT_DIGEST_TZ": "UTC",
        "REFERRAL_BOT_DIGEST_CHATS": "oc_digest",
    }
    emulator.set_latency("get_account_assets", 30)  # the read outlasts the test
    dying = pair.start(**digest)
    run = pair.wait_for(
        lambda: pair._rows("SELECT holder, finished_at FROM digest_runs"), 20, "the lease"
    )[0]
    assert f":{dying.process.pid}:" in run["holder"] and run["finished_at"] is None
    survivor = pair.start(**digest)  # its catch-up finds the run held by a live replica
    time.sleep(1)
    assert pair._rows("SELECT finished_at FROM digest_runs")[0]["finished_at"] is None
    dying.kill()
    killed = time.monotonic()
    emulator.set_latency("get_account_assets", 0)

    (run,) = pair.wait_for(
        lambda: [r for r in pair._rows("SELECT * FROM digest_runs") if r["finished_at"]],
        RECOVERY_CEILING,
        "the survivor to take the run over and finish it",
    )
    assert time.monotonic() - killed < RECOVERY_CEILING
    assert f":{survivor.process.pid}:" in run["holder"]
    (post,) = pair._rows("SELECT status, message_id FROM digest_posts")
    assert post["status"] == "posted"
    cards = [m for m in emulator.messages_in("oc_digest") if m.msg_type == "interactive"]
    assert [m.message_id for m in cards] == [post["message_id"]]  # posted once
    pair.assert_clean()
