"""Paying out over real HTTP: requests, a second approver, exactly one withdrawal, receipts."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.records.store import to_iso, utcnow
from tests.conftest import (
    ADMIN,
    OUTSIDER,
    Feishu,
    buttons,
    card_text,
    card_text_zh,
    exported_rows,
    wait_for,
)

APPROVER = "ou_approver"
ADMINS = frozenset({ADMIN, APPROVER})


@pytest.fixture
def money_bot(make_bot):
    return make_bot(admins=ADMINS)


@pytest.fixture
def pay(money_bot, emulator) -> Feishu:
    return Feishu(money_bot, emulator)


def funded(emulator, points: int = 1200, cash: dict | None = None) -> str:
    account_id = emulator.create_account("ou_hire")
    emulator.add_bonus(
        account_id, points=points, cash={"CNY": "300", "USD": "12.5"} if cash is None else cash
    )
    return account_id


def requested(pay: Feishu, account_id: str, kind: str = ""):
    """The request card's message, as the requester (ADMIN) asked for it."""
    return pay.ask(f"/referral withdraw {account_id} {kind}".strip())


def press(pay: Feishu, message, action: str, who: str = APPROVER, **kw):
    (value,) = [
        b for b in buttons(pay.emulator.latest_card(message.message_id)) if b["action"] == action
    ]
    result, callback = pay.press(message, value, open_id=who, **kw)
    assert result.status == 200
    return result.body, callback


def test_a_request_shows_what_would_be_withdrawn_and_asks_another_admin(pay, emulator):
    account_id = funded(emulator)
    card = requested(pay, account_id).content
    text = card_text(card)
    assert "Withdrawal request" in text
    # The account by its holder's name in each reader's language, the ID copyable beside it.
    assert f"**Account**: **Zhang San** · `{account_id}`" in text
    assert f"**账户**：**张三** · `{account_id}`" in card_text_zh(card)
    assert "1,200 points" in text and "CNY 300.00" in text and "USD 12.50" in text
    assert f"<at id={ADMIN}></at>" in text and "Expires" in text
    assert [b["action"] for b in buttons(card)] == ["approve", "cancel"]
    assert emulator.calls_for("withdraw") == []


@pytest.mark.parametrize(
    ("setup", "says"),
    [("disabled", "is disabled"), ("empty", "no balance to withdraw"), ("no cash", "no cash")],
)
def test_nothing_to_withdraw_gets_plain_words_and_no_request(pay, emulator, money_bot, setup, says):
    account_id = (
        funded(emulator, cash={}) if setup != "empty" else emulator.create_account("ou_hire")
    )
    if setup == "disabled":
        emulator.set_status(account_id, 2)
    kind = "cash" if setup == "no cash" else ""
    assert says in card_text(requested(pay, account_id, kind).content)
    assert money_bot.services.withdrawals.history()[1] == 0


def test_approval_by_another_admin_withdraws_once_and_turns_the_card_into_the_receipt(
    pay, emulator, money_bot
):
    account_id = funded(emulator)
    shown = pay.ask(f"/referral show {account_id}")  # an account card to be brought up to date
    assert {"action": "withdraw", "account_id": account_id} in buttons(shown.content)
    message = requested(pay, account_id)
    body, _ = press(pay, message, "approve")
    receipt = card_text(body["card"]["data"])
    (made,) = emulator.withdrawals()
    assert "Withdrawal receipt" in receipt and made["external_order_id"] in receipt
    assert "1,200 points · CNY 300.00 · USD 12.50" in receipt
    assert f"<at id={APPROVER}></at>" in receipt and "Asia/Shanghai" in receipt
    assert emulator.account(account_id)["points"] == 0 and len(emulator.calls_for("withdraw")) == 1
    # The request card is patched to the receipt too, and older account cards show nothing left.
    wait_for(lambda: "Withdrawal receipt" in card_text(emulator.latest_card(message.message_id)))
    wait_for(
        lambda: (
            "**Balance**: 0 points · no cash" in card_text(emulator.latest_card(shown.message_id))
        )
    )
    audit = [(e["action"], e["outcome"]) for e in money_bot.services.audit.entries()]
    assert [entry for entry in audit if entry[0] in ("withdraw", "approve", "withdrawn")] == [
        ("withdraw", "requested"),  # the command, with what it decided: one entry
        ("approve", "approved"),
        ("withdrawn", "ok"),
    ]


def test_each_act_is_audited_once_and_the_audit_tells_it_in_sentences(pay, emulator, money_bot):
    account_id = funded(emulator)
    message = requested(pay, account_id)
    press(pay, message, "approve", ADMIN)  # the requester: refused
    press(pay, message, "approve")
    wait_for(lambda: money_bot.services.audit.entries()[-1]["action"] == "withdrawn")
    acts = [(e["action"], e["outcome"]) for e in money_bot.services.audit.entries()]
    assert acts == [
        ("withdraw", "requested"),
        ("approve", "refused"),
        ("approve", "approved"),
        ("withdrawn", "ok"),
    ]
    (made,) = emulator.withdrawals()
    order = made["external_order_id"]

    card = pay.ask("/referral audit").content
    text, zh = card_text(card), card_text_zh(card)
    owner, owner_zh = f"Zhang San (`{account_id}`)", f"张三（`{account_id}`）"
    amounts = "1,200 points · CNY 300.00 · USD 12.50"
    said = [
        f"Paid out {amounts} from {owner} for withdrawal #1, approved by <at id={APPROVER}></at>"
        f" (order `{order}`)",
        f"<at id={APPROVER}></at> approved withdrawal #1 of {amounts} for {owner}"
        f" (order `{order}`)",
        f"⛔ <at id={ADMIN}></at> tried to approve withdrawal #1 for {owner}: refused,"
        " the requester cannot approve their own request",
        f"<at id={ADMIN}></at> requested a withdrawal of {amounts} for {owner} (#1)",
    ]
    positions = [text.index(sentence) for sentence in said]
    assert positions == sorted(positions)  # newest first
    assert text.count("⛔") == 1 and "⚠️" not in text and "✅" not in text
    amounts_zh = "1,200 积分 · CNY 300.00 · USD 12.50"
    assert f"<at id={ADMIN}></at> 申请为 {owner_zh} 提取 {amounts_zh}（#1）" in zh
    assert f"<at id={APPROVER}></at> 批准了 {owner_zh} 的提取申请 #1：{amounts_zh}" in zh
    assert "申请人不能批准自己的申请" in zh and "own_request" not in zh

    pay.ask("/referral export audit")
    rows = exported_rows(emulator, "oc_hr")
    (request,) = [r for r in rows if r["action"] == "withdraw"]
    assert (request["outcome"], request["detail"]) == ("requested", "withdrawal #1")
    assert request["sentence"] == (
        f"{ADMIN} requested a withdrawal of {amounts} for Zhang San ({account_id}) (#1)"
    )


@pytest.mark.parametrize(
    ("overrides", "approver", "refused"),
    [
        ({}, ADMIN, "Someone other than the requester"),
        ({"withdraw_approvers": frozenset({"ou_cfo"})}, APPROVER, "Only the withdrawal approvers"),
        ({}, OUTSIDER, "not allowed"),
    ],
)
def test_a_refused_approval_says_why_and_changes_nothing(
    make_bot, emulator, overrides, approver, refused
):
    bot = make_bot(admins=ADMINS | {"ou_cfo"}, **overrides)
    pay = Feishu(bot, emulator)
    account_id = funded(emulator)
    message = requested(pay, account_id)
    body, _ = press(pay, message, "approve", approver)
    assert refused in body["toast"]["content"]
    assert emulator.calls_for("withdraw") == [] and emulator.account(account_id)["points"] == 1200
    assert bot.services.audit.entries()[-1]["outcome"] == "refused"


def test_self_approval_when_the_setting_allows_it(make_bot, emulator):
    bot = make_bot(admins=ADMINS, withdraw_self_approve=True)
    pay = Feishu(bot, emulator)
    message = requested(pay, funded(emulator))
    body, _ = press(pay, message, "approve", ADMIN)
    assert "Withdrawal receipt" in card_text(body["card"]["data"])


def test_cancel_by_the_requester_and_then_no_approval(pay, emulator, money_bot):
    message = requested(pay, funded(emulator))
    body, _ = press(pay, message, "cancel", ADMIN)
    assert "Withdrawal cancelled" in card_text(body["card"]["data"])
    assert buttons(body["card"]["data"]) == []
    again, _ = pay.press(message, {"action": "approve", "withdrawal": 1}, open_id=APPROVER)
    assert "already been decided" in again.body["toast"]["content"]
    assert emulator.calls_for("withdraw") == []


def test_an_expired_request_cannot_be_approved_and_its_card_says_so(pay, emulator, money_bot):
    message = requested(pay, funded(emulator))
    db = money_bot.database.db
    db.execute("UPDATE withdrawals SET expires_at = ?", [to_iso(utcnow() - timedelta(seconds=1))])
    body, _ = press(pay, message, "approve")
    assert "expired" in body["toast"]["content"]
    assert "expired" in card_text(body["card"]["data"])
    assert emulator.calls_for("withdraw") == []


def test_a_request_left_alone_expires_and_its_card_is_updated(pay, emulator, money_bot):
    message = requested(pay, funded(emulator))
    # The card is noted just after the reply is sent; expiring before that leaves no card to
    # update (in life the expiry comes a day later).
    wait_for(lambda: money_bot.services.withdrawals.get(1).message_id == message.message_id)
    db = money_bot.database.db
    db.execute("UPDATE withdrawals SET expires_at = ?", [to_iso(utcnow() - timedelta(seconds=1))])
    db.execute("UPDATE events SET not_before = NULL WHERE event_type = 'bot.expire_withdrawal'")
    money_bot.pool.notify()
    wait_for(lambda: "expired" in card_text(emulator.latest_card(message.message_id)))
    assert money_bot.services.audit.entries()[-1]["action"] == "expire"


def test_a_changed_balance_asks_for_approval_again(pay, emulator):
    account_id = funded(emulator)
    message = requested(pay, account_id)
    emulator.add_bonus(account_id, points=300)
    body, _ = press(pay, message, "approve")
    text = card_text(body["card"]["data"])
    assert "balance changed" in text and "1,500 points" in text
    assert emulator.calls_for("withdraw") == []
    body, _ = press(pay, message, "approve")
    assert "1,500 points" in card_text(body["card"]["data"])
    assert emulator.withdrawals()[0]["points"] == 1500


@pytest.mark.parametrize(
    "who", [(APPROVER, "ou_cfo"), (APPROVER, APPROVER)], ids=["two approvers", "double click"]
)
def test_presses_at_once_make_one_withdrawal(make_bot, emulator, who):
    bot = make_bot(admins=ADMINS | {"ou_cfo"})
    pay = Feishu(bot, emulator)
    message = requested(pay, funded(emulator))
    value = {"action": "approve", "withdrawal": 1}
    start = threading.Barrier(len(who))
    answers = []

    def approve(open_id: str) -> None:
        start.wait()
        answers.append(pay.press(message, value, open_id=open_id)[0].status)

    threads = [threading.Thread(target=approve, args=(p,)) for p in who]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200, 200]
    wait_for(lambda: "Withdrawal receipt" in card_text(emulator.latest_card(message.message_id)))
    calls = emulator.calls_for("withdraw")
    assert len(calls) == 1 and len({c.body["external_order_id"] for c in calls}) == 1


def test_a_redelivered_approval_withdraws_once(pay, emulator):
    message = requested(pay, funded(emulator))
    _, callback = press(pay, message, "approve")
    again = pay.push(callback, "/webhook/card")
    assert "Already done" in again.body["toast"]["content"]
    assert "Withdrawal receipt" in card_text(again.body["card"]["data"])
    assert len(emulator.calls_for("withdraw")) == 1


def test_a_lost_answer_is_retried_with_the_same_order_id_and_withdraws_once(
    pay, emulator, money_bot
):
    account_id = funded(emulator)
    message = requested(pay, account_id)
    emulator.set_latency("withdraw", 0.5)
    threading.Timer(
        0.25, lambda: emulator.outage(2, "refuse")
    ).start()  # Feishu acts, the answer is lost
    press(pay, message, "approve")
    wait_for(
        lambda: "Withdrawal receipt" in card_text(emulator.latest_card(message.message_id)), 30
    )
    (made,) = emulator.withdrawals()
    assert made["requests"] >= 2  # asked again, answered with the first withdrawal
    orders = {c.body["external_order_id"] for c in emulator.calls_for("withdraw")}
    assert orders == {made["external_order_id"]}
    assert emulator.account(account_id)["points"] == 0


def test_a_rate_limit_answer_is_waited_out(pay, emulator):
    message = requested(pay, funded(emulator))
    emulator.fail_next("withdraw", kind="ratelimit", reset_seconds=1)
    press(pay, message, "approve")
    wait_for(
        lambda: "Withdrawal receipt" in card_text(emulator.latest_card(message.message_id)), 15
    )
    assert len(emulator.withdrawals()) == 1


def test_withdraw_button_posts_a_request(pay, emulator):
    account_id = funded(emulator)
    shown = pay.ask(f"/referral show {account_id}")
    result, _ = pay.press(shown, {"action": "withdraw", "account_id": account_id})
    assert result.body["toast"]["type"] == "success"
    posted = wait_for(
        lambda: [m for m in emulator.messages if "Withdrawal request" in card_text(m.content)]
    )
    assert posted[0].chat_id == shown.chat_id


def test_withdrawals_lists_newest_first_and_per_account(pay, emulator, money_bot):
    first, second = funded(emulator), None
    message = requested(pay, first)
    press(pay, message, "approve")
    second = emulator.create_account("ou_other")
    emulator.add_bonus(second, points=5)
    requested(pay, second)
    card = pay.ask("/referral withdrawals").content
    text = card_text(card)
    assert text.index("#2") < text.index("#1") and "withdrawn" in text and "waiting" in text
    # Each account by its holder's name in the reader's language, the ID copyable beside it.
    assert f"#1 · **Zhang San** · `{first}` · withdrawn" in text
    assert f"#1 · **张三** · `{first}` · 已提取" in card_text_zh(card)
    assert "Times in Asia/Shanghai" in text and text.count("Asia/Shanghai") == 1
    only = pay.ask(f"/referral withdrawals {first}").content
    assert "#1" in card_text(only) and "#2" not in card_text(only)
    assert only["header"]["title"]["i18n_content"] == {
        "en_us": "Withdrawals · Zhang San",
        "zh_cn": "提取记录 · 张三",
    }


def test_a_5xx_after_feishu_acted_is_retried_with_the_same_order_id(pay, emulator):
    account_id = funded(emulator)
    message = requested(pay, account_id)
    emulator.fail_next("withdraw", kind="5xx_after")  # Feishu withdraws, then answers 500
    body, _ = press(pay, message, "approve")
    assert "Withdrawal receipt" in card_text(body["card"]["data"])
    (made,) = emulator.withdrawals()
    calls = emulator.calls_for("withdraw")
    assert [c.status for c in calls] == [500, 200] and made["requests"] == 2
    assert {c.body["external_order_id"] for c in calls} == {made["external_order_id"]}


def paid_in_console(emulator, account_id: str) -> None:
    """Someone pays the whole balance out in Feishu's console: Hire records it, it is gone."""
    account = emulator.account(account_id)
    cash = {cur: amount for cur, amount in account["cash"].items() if amount}
    emulator.record_withdrawal(account_id, account["points"], cash)
    emulator.add_bonus(
        account_id, points=-account["points"], cash={cur: -amount for cur, amount in cash.items()}
    )


@pytest.mark.parametrize("kind", ["", "points", "cash"])
def test_a_balance_paid_out_elsewhere_closes_the_request_at_approval_and_calls_nothing(
    pay, emulator, money_bot, kind
):
    account_id = funded(emulator)
    message = requested(pay, account_id, kind)
    paid_in_console(emulator, account_id)
    body, _ = press(pay, message, "approve")
    assert "no " in body["toast"]["content"] and "the request is closed" in body["toast"]["content"]
    card = body["card"]["data"]
    assert "Withdrawal closed: nothing paid out" in card_text(card)
    assert "Nothing was paid out: the balance was found empty" in card_text(card)
    assert buttons(card) == []  # no Approve for nothing, and nothing left to decide
    assert emulator.calls_for("withdraw") == []
    closed = money_bot.services.withdrawals.get(1)
    assert closed.state == "closed" and closed.order_id is None
    assert [
        e["outcome"] for e in money_bot.services.audit.entries() if e["action"] == "approve"
    ] == ["closed"]
    again, _ = pay.press(message, {"action": "approve", "withdrawal": 1}, open_id=APPROVER)
    assert "already been decided" in again.body["toast"]["content"]
    assert emulator.calls_for("withdraw") == [] and len(emulator.withdrawals()) == 1


def test_a_second_withdraw_answers_with_the_open_request(pay, emulator, money_bot):
    account_id = funded(emulator)
    first = requested(pay, account_id)
    second = pay.ask(f"/referral withdraw {account_id} points", open_id=APPROVER)
    text = card_text(second.content)
    assert f"Account {account_id} already has an open withdrawal request (#1)" in text
    assert "1,200 points · CNY 300.00 · USD 12.50" in text  # the open one, as it was asked
    assert {b["withdrawal"] for b in buttons(second.content)} == {1}
    assert money_bot.services.withdrawals.history()[1] == 1
    assert ("withdraw", "already open") in [
        (e["action"], e["outcome"]) for e in money_bot.services.audit.entries()
    ]
    # Once it is decided, the account may be asked for again.
    press(pay, first, "approve")
    wait_for(lambda: money_bot.services.withdrawals.get(1).state == "withdrawn")
    emulator.add_bonus(account_id, points=10)
    third = card_text(requested(pay, account_id).content)
    assert "Withdrawal request" in third and "#2" in third and "10 points" in third


def test_withdraws_at_once_open_one_request(pay, emulator, money_bot):
    account_id = funded(emulator)
    asked = [pay.say(f"/referral withdraw {account_id}", open_id=who) for who in (ADMIN, APPROVER)]
    replies = [pay.reply_to(message_id) for _, message_id in asked]
    assert money_bot.services.withdrawals.history()[1] == 1
    assert sorted("already has an open" in card_text(r.content) for r in replies) == [False, True]
    assert all({b["withdrawal"] for b in buttons(r.content)} == {1} for r in replies)


def test_the_withdraw_button_of_an_account_with_an_open_request_shows_that_one(
    pay, emulator, money_bot
):
    account_id = funded(emulator)
    shown = pay.ask(f"/referral show {account_id}")
    requested(pay, account_id)
    result, _ = pay.press(shown, {"action": "withdraw", "account_id": account_id})
    assert "already has an open withdrawal request (#1)" in result.body["toast"]["content"]
    assert money_bot.services.withdrawals.history()[1] == 1
