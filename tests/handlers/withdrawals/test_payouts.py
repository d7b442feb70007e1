"""Paying out over real HTTP when Feishu does not say how it went: a withdrawal whose outcome
cannot be known is marked uncertain, told, audited, and settled with the same order id, by a
balance read or by reconciliation; a restart resumes what was left approved."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.withdrawals import Kind, amounts_of
from bot.feishu.openapi import RetryPolicy
from bot.records.store import to_iso, utcnow
from tests.conftest import ADMIN, Feishu, card_text, wait_for
from tests.handlers.withdrawals.test_withdrawals import (
    ADMINS,
    APPROVER,
    funded,
    paid_in_console,
    press,
    requested,
)

HIRE_SCOPES = ("hire:referral_account", "hire:referral_account:readonly")


@pytest.fixture
def money_bot(make_bot):
    return make_bot(admins=ADMINS)


@pytest.fixture
def pay(money_bot, emulator) -> Feishu:
    return Feishu(money_bot, emulator)


def told(emulator, open_id: str) -> list[str]:
    """What the person was sent one-to-one, oldest first."""
    return [card_text(m.content) for m in emulator.messages_in(emulator.p2p_chat_id(open_id))]


def money_trail(bot) -> list[tuple[str, str]]:
    return [
        (e["action"], e["outcome"])
        for e in bot.services.audit.entries()
        if e["action"] in ("approve", "withdrawn", "settle")
    ]


def settled(bot, state: str):
    book = bot.services.withdrawals
    return wait_for(lambda: book.get(1).state == state and book.get(1), 20, f"#1 {state}")


def assert_told_uncertain_then(emulator, outcome: str) -> None:
    for who in (ADMIN, APPROVER):
        messages = wait_for(lambda w=who: len(told(emulator, w)) == 2 and told(emulator, w))
        assert "Feishu has not confirmed withdrawal #1" in messages[0]
        assert "Withdrawal not confirmed by Feishu" in messages[0]
        assert f"Withdrawal #1 is settled: {outcome}" in messages[1]


def test_a_withdraw_answered_without_trans_time_is_uncertain_until_its_order_settles_it(
    pay, emulator, money_bot
):
    account_id = funded(emulator)
    message = requested(pay, account_id)
    emulator.fail_next("withdraw", kind="no_trans_time")  # Feishu pays out, but says not when
    body, _ = press(pay, message, "approve")
    # Not "failed" nor "could not be reached": uncertain, or already settled by the same order.
    assert body["toast"]["content"] in ("Feishu did not confirm the withdrawal", "Withdrawn")
    assert "could not be reached" not in card_text(body["card"]["data"])
    receipt = settled(money_bot, "withdrawn")
    assert receipt.settled_by == "order" and receipt.trans_time is not None
    (made,) = emulator.withdrawals()
    orders = [c.body["external_order_id"] for c in emulator.calls_for("withdraw")]
    assert orders == [receipt.order_id] * 2 == [made["external_order_id"]] * 2
    assert made["points"] == 1200 and emulator.account(account_id)["points"] == 0
    assert money_trail(money_bot) == [
        ("approve", "approved"),
        ("withdrawn", "uncertain"),
        ("settle", "withdrawn"),
    ]
    assert_told_uncertain_then(emulator, "Feishu paid it out")
    wait_for(lambda: "Withdrawal receipt" in card_text(emulator.latest_card(message.message_id)))


def failing_for_the_whole_window(make_bot, emulator, failures: int, window: float):
    bot = make_bot(
        admins=ADMINS, payout_window=timedelta(seconds=window), retry=RetryPolicy(attempts=1)
    )
    pay = Feishu(bot, emulator)
    account_id = funded(emulator)
    message = requested(pay, account_id)
    # Every withdraw until the window has passed is refused (Feishu did not act on it).
    emulator.fail_next("withdraw", n=failures, kind="5xx")
    body, _ = press(pay, message, "approve")
    assert body["toast"]["content"] == "Approved: paying out, the receipt follows"
    return bot, account_id, message


def test_a_withdraw_failing_for_the_whole_window_is_uncertain_then_paid_with_its_order(
    make_bot, emulator
):
    bot, account_id, message = failing_for_the_whole_window(make_bot, emulator, 2, 1.0)
    receipt = settled(bot, "withdrawn")
    uncertain = [e for e in bot.services.audit.entries() if e["outcome"] == "uncertain"]
    assert "Feishu could not be reached for 0:00:01" in uncertain[0]["detail"]
    # The balance was as approved, so the same order id was asked again and paid it out.
    orders = [c.body["external_order_id"] for c in emulator.calls_for("withdraw")]
    assert orders == [receipt.order_id] * 3
    assert [c.status for c in emulator.calls_for("withdraw")] == [500, 500, 200]
    (made,) = emulator.withdrawals()
    assert made["external_order_id"] == receipt.order_id and made["points"] == 1200
    assert receipt.settled_by == "order" and receipt.withdrawn.points == 1200
    assert money_trail(bot)[-2:] == [("withdrawn", "uncertain"), ("settle", "withdrawn")]
    assert_told_uncertain_then(emulator, "Feishu paid it out")
    wait_for(lambda: "Withdrawal receipt" in card_text(emulator.latest_card(message.message_id)))


def test_an_uncertain_withdrawal_whose_balance_was_emptied_elsewhere_is_closed_unpaid(
    make_bot, emulator
):
    bot, account_id, message = failing_for_the_whole_window(make_bot, emulator, 3, 2.5)
    paid_in_console(emulator, account_id)  # meanwhile, while the bot keeps trying
    closed = settled(bot, "closed")
    assert closed.settled_by == "order" and "paid nothing out" in closed.error
    # Asked again with its own order id (safe on an empty balance): Feishu paid nothing under it.
    assert emulator.withdrawal(closed.order_id)["points"] == 0
    assert {c.body["external_order_id"] for c in emulator.calls_for("withdraw")} == {
        closed.order_id
    }
    assert_told_uncertain_then(emulator, "nothing was paid out")
    wait_for(
        lambda: "nothing paid out" in card_text(emulator.latest_card(message.message_id)),
        what="the closed card",
    )


def test_a_withdraw_the_worker_gives_up_on_is_uncertain_not_paying_out_for_ever(make_bot, emulator):
    bot = make_bot(admins=ADMINS, retry=RetryPolicy(attempts=1))
    pay = Feishu(bot, emulator)
    account_id = funded(emulator)
    message = requested(pay, account_id)
    bot.pool.stop()
    press(pay, message, "approve")  # approved; its withdraw waits in the inbox
    # As if it had been retried for hours: the worker gives it up at its next failure (the
    # same giving up as after repeated unexpected errors).
    bot.database.db.execute(
        "UPDATE events SET received_at = ? WHERE event_type = 'bot.finish_withdrawal'",
        [to_iso(utcnow() - timedelta(hours=7))],
    )
    emulator.fail_next("withdraw", kind="5xx")
    bot.pool.start()
    receipt = settled(bot, "withdrawn")
    uncertain = [e for e in bot.services.audit.entries() if e["outcome"] == "uncertain"]
    assert "the withdraw call was given up" in uncertain[0]["detail"]
    orders = [c.body["external_order_id"] for c in emulator.calls_for("withdraw")]
    assert orders == [receipt.order_id] * 2 and len(emulator.withdrawals()) == 1
    assert emulator.account(account_id)["points"] == 0
    assert_told_uncertain_then(emulator, "Feishu paid it out")


def test_a_restart_resumes_an_approved_withdrawal_left_given_up_with_its_order_id(
    make_bot, emulator
):
    first = make_bot(admins=ADMINS)
    pay = Feishu(first, emulator)
    account_id = funded(emulator)
    message = requested(pay, account_id)
    first.pool.stop()
    press(pay, message, "approve")
    # What an older release left behind: the withdraw given up, the request approved for ever.
    first.database.db.execute(
        "UPDATE events SET status = 'failed', error = 'given up'"
        " WHERE event_type = 'bot.finish_withdrawal'"
    )
    order_id = first.services.withdrawals.get(1).order_id
    first.stop()
    assert emulator.calls_for("withdraw") == []

    second = make_bot(admins=ADMINS)  # the same database
    receipt = settled(second, "withdrawn")
    assert receipt.order_id == order_id
    assert [c.body["external_order_id"] for c in emulator.calls_for("withdraw")] == [order_id]
    assert emulator.account(account_id)["points"] == 0
    wait_for(lambda: "Withdrawal receipt" in card_text(emulator.latest_card(message.message_id)))


def test_reconciliation_settles_an_uncertain_withdrawal_whose_balance_has_moved(
    pay, emulator, money_bot
):
    account_id = funded(emulator)
    message = requested(pay, account_id)
    emulator.fail_next("withdraw", kind="no_trans_time")
    emulator.set_latency("message_create", 1.0)  # the settling waits for the tellings
    press(pay, message, "approve")
    emulator.revoke_scopes(*HIRE_SCOPES)  # so the first settling cannot read the balance
    wait_for(lambda: ("settle", "uncertain") in money_trail(money_bot), 20, "a settling tried")
    emulator.grant_scopes(*HIRE_SCOPES)
    emulator.set_latency("message_create", 0)
    emulator.add_bonus(account_id, points=50)  # a new bonus: the balance is neither 0 nor 1,200
    assert money_bot.services.withdrawals.get(1).state == "uncertain"

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    report = card_text(pay.ask(f"/referral reconcile {today} {today}", timeout=20).content)
    receipt = money_bot.services.withdrawals.get(1)
    assert receipt.state == "withdrawn" and receipt.settled_by == "reconciliation"
    assert receipt.withdrawn.points == 1200 and receipt.trans_time is None
    # The report counts it, and Feishu agrees.
    assert "**1 account** · **1,200 points**" in report and "Everything matches" in report
    assert len(emulator.calls_for("withdraw")) == 1  # settled without asking withdraw again
    assert money_trail(money_bot)[-1] == ("settle", "withdrawn")
    assert_told_uncertain_then(emulator, "Feishu paid it out")
    wait_for(
        lambda: (
            "Confirmed by Feishu's reconciliation"
            in card_text(emulator.latest_card(message.message_id))
        )
    )


def left_uncertain(bot, account_id: str, kind: Kind = Kind.ALL) -> str:
    """A withdrawal approved and left uncertain with nothing queued for it (as a process cut
    off at the wrong moment leaves it); its order id."""
    book = bot.services.withdrawals
    balance = amounts_of(bot.services.gateway.get_assets(account_id), kind)
    request = book.create(account_id, kind, balance, requested_by=ADMIN, chat_id="oc_hr")
    order_id = book.approve(request.id, APPROVER, then=lambda _: None)
    assert order_id and book.uncertain(request.id, "cut off", then=lambda: None)
    return order_id


def test_a_scheduled_reconciliation_settles_the_uncertain_withdrawals(make_bot, emulator):
    bot = make_bot(admins=ADMINS, digest_chats=("oc_hr",))
    account_id = funded(emulator)
    order_id = left_uncertain(bot, account_id)
    assert bot.reconcile.run_scheduled(utcnow()) == ["oc_hr"]
    # Its balance is as approved: the same order id is asked again and pays it out.
    receipt = settled(bot, "withdrawn")
    assert [c.body["external_order_id"] for c in emulator.calls_for("withdraw")] == [order_id]
    assert receipt.settled_by == "order" and emulator.account(account_id)["points"] == 0
    for who in (ADMIN, APPROVER):
        wait_for(lambda w=who: any("is settled: Feishu paid" in t for t in told(emulator, w)))


def test_a_restart_settles_an_uncertain_withdrawal(make_bot, emulator):
    first = make_bot(admins=ADMINS)
    account_id = funded(emulator)
    order_id = left_uncertain(first, account_id)
    first.stop()
    receipt = settled(make_bot(admins=ADMINS), "withdrawn")
    assert receipt.order_id == order_id and len(emulator.withdrawals()) == 1


def test_a_withdraw_settles_the_accounts_uncertain_withdrawal_by_its_balance_first(
    pay, emulator, money_bot
):
    account_id = funded(emulator)
    order_id = left_uncertain(money_bot, account_id, Kind.CASH)
    # Feishu had paid it out, then a new bonus came: the balance is neither empty nor as
    # approved (so asking again could pay out more), and reconciliation does not compare cash.
    emulator.record_withdrawal(account_id, 0, {"CNY": "300", "USD": "12.5"}, order_id=order_id)
    emulator.add_bonus(account_id, cash={"CNY": "-295", "USD": "-12.5"})
    text = card_text(pay.ask(f"/referral withdraw {account_id} cash").content)
    assert "Withdrawal request" in text and "#2" in text and "CNY 5.00" in text
    first = money_bot.services.withdrawals.get(1)
    assert first.state == "withdrawn" and first.settled_by == "balance"
    assert first.trans_time is None and first.withdrawn == first.amounts
    assert emulator.calls_for("withdraw") == []  # nothing asked that could pay out more
    assert ("settle", "withdrawn") in money_trail(money_bot)
    for who in (ADMIN, APPROVER):
        wait_for(lambda w=who: any("Inferred from the balance" in t for t in told(emulator, w)))


def test_an_uncertain_withdrawal_the_balance_cannot_settle_holds_the_account(
    pay, emulator, money_bot
):
    account_id = funded(emulator)
    order_id = left_uncertain(money_bot, account_id)
    emulator.revoke_scopes(*HIRE_SCOPES)  # the balance cannot be read
    text = card_text(pay.ask(f"/referral withdraw {account_id}").content)
    assert "whose outcome Feishu has not confirmed" in text and f"`{order_id}`" in text
    assert "Withdrawal not confirmed by Feishu" in text
    assert money_bot.services.withdrawals.history()[1] == 1
    assert money_bot.services.withdrawals.get(1).state == "uncertain"


def test_a_database_from_before_uncertain_withdrawals_gains_their_columns(
    make_bot, emulator, tmp_path
):
    db = sqlite3.connect(tmp_path / "bot.db")
    # The withdrawals table as the previous release created it, with a request paying out.
    db.execute(
        "CREATE TABLE withdrawals (id INTEGER PRIMARY KEY, account_id TEXT, kind TEXT,"
        " state TEXT, points INTEGER, cash TEXT, requested_by TEXT, requested_at TEXT,"
        " expires_at TEXT, chat_id TEXT, message_id TEXT, approved_by TEXT, approved_at TEXT,"
        " order_id TEXT, trans_time TEXT, withdrawn_points INTEGER, withdrawn_cash TEXT,"
        " decided_by TEXT, error TEXT, reasked INTEGER, updated_at TEXT)"
    )
    account_id = funded(emulator, cash={})
    now = to_iso(utcnow())
    db.execute(
        "INSERT INTO withdrawals (account_id, kind, state, points, cash, requested_by,"
        " requested_at, expires_at, approved_by, approved_at, order_id, reasked, updated_at)"
        " VALUES (?, 'all', 'approved', 1200, '[]', ?, ?, ?, ?, ?, 'rb-1-old', 0, ?)",
        [account_id, ADMIN, now, now, APPROVER, now, now],
    )
    db.commit()
    db.close()
    bot = make_bot(admins=ADMINS)  # resumes the approved withdrawal with its order id
    receipt = settled(bot, "withdrawn")
    assert receipt.order_id == "rb-1-old" and receipt.uncertain_at is None
    assert [c.body["external_order_id"] for c in emulator.calls_for("withdraw")] == ["rb-1-old"]
    assert {"uncertain_at", "settled_by"} <= set(bot.database.db["withdrawals"].columns_dict)


def test_an_uncertain_withdrawal_of_a_disabled_account_is_settled_without_asking_again(
    pay, emulator, money_bot
):
    account_id = funded(emulator)
    left_uncertain(money_bot, account_id)
    emulator.set_status(account_id, 2)
    text = card_text(pay.ask(f"/referral withdraw {account_id}").content)
    assert "is disabled" in text  # the new request's own answer, once #1 is settled
    first = money_bot.services.withdrawals.get(1)
    assert first.state == "failed" and first.settled_by == "reconciliation"
    assert "records no withdrawal under the order" in first.error
    assert emulator.calls_for("withdraw") == [] and len(emulator.calls_for("reconciliation")) == 1
    for who in (ADMIN, APPROVER):
        wait_for(lambda w=who: any("nothing was paid out" in t for t in told(emulator, w)))
