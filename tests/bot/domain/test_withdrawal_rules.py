"""The withdrawal state machine and who may decide a request, without a server."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain.accounts import Account, AccountStatus, Cash
from bot.domain.settlement import (
    CLOCK_MARGIN,
    Balance,
    Verdict,
    read_balance,
    reconciliation_verdict,
    reconciliation_window,
)
from bot.domain.withdrawals import (
    FINAL,
    OPEN,
    TRANSITIONS,
    Amounts,
    Kind,
    Policy,
    Refusal,
    State,
    Withdrawal,
    amounts_of,
    can_move,
)

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def request(**changes) -> Withdrawal:
    values = dict(
        id=1,
        account_id="42",
        kind=Kind.ALL,
        state=State.REQUESTED,
        amounts=Amounts(100),
        requested_by="ou_a",
        requested_at=NOW - timedelta(hours=1),
        expires_at=NOW + timedelta(hours=23),
    )
    return Withdrawal(**{**values, **changes})


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        (State.REQUESTED, State.APPROVED, True),
        (State.REQUESTED, State.REQUESTED, True),  # re-asked
        (State.REQUESTED, State.CANCELLED, True),
        (State.REQUESTED, State.EXPIRED, True),
        (State.REQUESTED, State.WITHDRAWN, False),  # never without an approval
        (State.APPROVED, State.WITHDRAWN, True),
        (State.APPROVED, State.FAILED, True),
        (State.APPROVED, State.CANCELLED, False),  # approved money is on its way
        (State.APPROVED, State.REQUESTED, False),
        (State.WITHDRAWN, State.APPROVED, False),
        (State.CANCELLED, State.APPROVED, False),
        (State.EXPIRED, State.APPROVED, False),
        (State.REQUESTED, State.CLOSED, True),  # found empty at approval
        (State.APPROVED, State.UNCERTAIN, True),  # the withdraw was given up
        (State.UNCERTAIN, State.WITHDRAWN, True),  # settled: paid
        (State.UNCERTAIN, State.FAILED, True),  # settled: not paid
        (State.UNCERTAIN, State.CLOSED, True),  # settled: nothing to pay
        (State.UNCERTAIN, State.APPROVED, False),  # never a second order id
        (State.UNCERTAIN, State.CANCELLED, False),
        (State.REQUESTED, State.UNCERTAIN, False),
    ],
)
def test_transitions(current, to, allowed):
    assert can_move(current, to) is allowed


def test_final_states_go_nowhere():
    assert {State.WITHDRAWN, State.FAILED, State.CANCELLED, State.EXPIRED, State.CLOSED} == FINAL
    assert all(not TRANSITIONS[state] for state in FINAL)
    assert {State.REQUESTED, State.APPROVED, State.UNCERTAIN} == OPEN


APPROVED = Amounts(100, (Cash("CNY", Decimal("20")),))


@pytest.mark.parametrize(
    ("now", "sign"),
    [
        (Amounts(100, (Cash("CNY", Decimal("20.00")),)), Balance.UNCHANGED),
        (Amounts(), Balance.EMPTY),
        (Amounts(0, (Cash("CNY", Decimal("0")),)), Balance.EMPTY),
        (Amounts(150, (Cash("CNY", Decimal("20")),)), Balance.GREW),  # a bonus since
        (Amounts(100, (Cash("CNY", Decimal("20")), Cash("USD", Decimal("1")))), Balance.GREW),
        (Amounts(5), Balance.DROPPED),  # paid, then a small bonus (or paid in the console)
        (Amounts(5, (Cash("CNY", Decimal("1")), Cash("USD", Decimal("9")))), Balance.DROPPED),
        (Amounts(500, (Cash("CNY", Decimal("1")),)), Balance.MIXED),
    ],
)
def test_a_balance_read_against_the_approved_amounts(now, sign):
    assert read_balance(APPROVED, now) is sign
    # Asking again with the order id can only pay out what was approved, or nothing.
    assert sign.may_ask_again is (sign in (Balance.UNCHANGED, Balance.EMPTY))


def test_what_a_moved_balance_alone_says():
    assert Balance.DROPPED.verdict is Verdict.PAID  # the approved money has left the account
    assert Balance.GREW.verdict is Verdict.NOT_PAID  # it is all still there
    assert Balance.MIXED.verdict is Verdict.UNKNOWN
    # A disabled account is not asked again: its balance alone speaks then.
    assert Balance.EMPTY.verdict is Verdict.PAID and Balance.UNCHANGED.verdict is Verdict.NOT_PAID
    assert read_balance(Amounts(100), Amounts(0, (Cash("CNY", Decimal("5")),))) is Balance.DROPPED


@pytest.mark.parametrize(
    ("approved", "feishu", "bot", "verdict"),
    [
        (100, 130, 30, Verdict.PAID),  # Feishu recorded the approved points more than the bot
        (100, None, 30, Verdict.NOT_PAID),  # no mismatch: Feishu recorded what the bot did
        (100, 170, 30, Verdict.UNKNOWN),  # someone else withdrew meanwhile
        (100, 0, 30, Verdict.UNKNOWN),
        (0, 130, 30, Verdict.UNKNOWN),  # cash only: reconciliation compares points
    ],
)
def test_a_reconciliation_verdict(approved, feishu, bot, verdict):
    assert reconciliation_verdict(approved, feishu, bot) is verdict


def test_the_reconciliation_window_spans_approval_to_giving_up():
    start, end = reconciliation_window(NOW, NOW + timedelta(hours=6))
    assert (start, end) == (NOW - CLOCK_MARGIN, NOW + timedelta(hours=6) + CLOCK_MARGIN)


def test_amounts_of_each_kind():
    account = Account(
        "42",
        AccountStatus.ENABLED,
        points=300,
        cash=(Cash("USD", Decimal("1.5")), Cash("CNY", Decimal("0")), Cash("CNY", Decimal("20"))),
    )
    assert amounts_of(account, Kind.POINTS) == Amounts(300)
    cash = amounts_of(account, Kind.CASH)
    assert cash.points == 0 and [c.currency for c in cash.cash] == ["CNY", "USD"]
    assert amounts_of(account, Kind.ALL) == Amounts(300, cash.cash)
    assert amounts_of(Account("1", AccountStatus.ENABLED), Kind.ALL).empty
    assert Kind.POINTS.bonus_types == [1] and Kind.ALL.bonus_types == [1, 2]


ADMINS = frozenset({"ou_a", "ou_b", "ou_c"})


@pytest.mark.parametrize(
    ("policy", "approver", "state", "expires_in", "refusal"),
    [
        (Policy(ADMINS), "ou_b", State.REQUESTED, 1, None),
        (Policy(ADMINS), "ou_a", State.REQUESTED, 1, Refusal.OWN_REQUEST),
        (Policy(ADMINS, self_approve=True), "ou_a", State.REQUESTED, 1, None),
        (Policy(ADMINS), "ou_x", State.REQUESTED, 1, Refusal.NOT_ADMIN),
        (Policy(ADMINS), None, State.REQUESTED, 1, Refusal.NOT_ADMIN),
        (Policy(ADMINS, frozenset({"ou_c"})), "ou_b", State.REQUESTED, 1, Refusal.NOT_APPROVER),
        (Policy(ADMINS, frozenset({"ou_c"})), "ou_c", State.REQUESTED, 1, None),
        (Policy(ADMINS), "ou_b", State.REQUESTED, -1, Refusal.EXPIRED),
        (Policy(ADMINS), "ou_b", State.APPROVED, 1, Refusal.DECIDED),
        (Policy(ADMINS), "ou_b", State.CANCELLED, 1, Refusal.DECIDED),
    ],
)
def test_who_may_approve(policy, approver, state, expires_in, refusal):
    pending = request(state=state, expires_at=NOW + timedelta(hours=expires_in))
    assert policy.refuse_approval(pending, approver, NOW) == refusal


@pytest.mark.parametrize(
    ("policy", "who", "refusal"),
    [
        (Policy(ADMINS), "ou_a", None),  # the requester
        (Policy(ADMINS), "ou_b", None),  # an approver (any admin, when none are named)
        (Policy(ADMINS, frozenset({"ou_c"})), "ou_b", Refusal.NOT_APPROVER),
        (Policy(ADMINS, frozenset({"ou_c"})), "ou_c", None),
        (Policy(ADMINS), "ou_x", Refusal.NOT_ADMIN),
    ],
)
def test_who_may_cancel(policy, who, refusal):
    assert policy.refuse_cancel(request(), who) == refusal
    decided = Refusal.NOT_ADMIN if refusal is Refusal.NOT_ADMIN else Refusal.DECIDED
    assert policy.refuse_cancel(request(state=State.WITHDRAWN), who) == decided
