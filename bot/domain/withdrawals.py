"""A withdrawal request as a small state machine, and the rules of who may decide it. Pure.

    requested ──approve──▶ approved ──▶ withdrawn ◀──────┐
        │  ▲                  │  └────▶ failed ◀───────┤ settled (bot/domain/settlement.py)
        │  │                  └──gave up──▶ uncertain ─┤
        │  │                                           └──▶ closed
        │  └─ re-asked (the balance changed: new amounts, approve again)
        ├──cancel──▶ cancelled
        ├──24 h────▶ expired
        └──empty───▶ closed (the balance was found empty at approval: nothing to pay out)

Nothing is withdrawn until someone other than the requester approves (only the configured
approvers when there are any; the requester too only when self-approval is on). The order id
that makes the withdraw call idempotent is chosen when the request moves to "approved", and
every retry uses that one id, the settling of an uncertain withdrawal included. An account has
at most one open request (requested, approved or uncertain).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.accounts import Account, Cash


class State(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # Ended without a payout because there was nothing to pay out (see `Withdrawal.error`).
    CLOSED = "closed"
    # Approved, but whether Feishu paid it out cannot be known yet: the withdraw call was given
    # up (hours of failures, or repeated errors) or its answer lacked `trans_time`.
    UNCERTAIN = "uncertain"


# requested → requested is the re-ask: new amounts, still waiting for an approval.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.REQUESTED: frozenset(
        {State.REQUESTED, State.APPROVED, State.CANCELLED, State.EXPIRED, State.CLOSED}
    ),
    State.APPROVED: frozenset({State.WITHDRAWN, State.FAILED, State.UNCERTAIN}),
    State.UNCERTAIN: frozenset({State.WITHDRAWN, State.FAILED, State.CLOSED}),
    State.WITHDRAWN: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELLED: frozenset(),
    State.EXPIRED: frozenset(),
    State.CLOSED: frozenset(),
}
FINAL = frozenset(state for state, onward in TRANSITIONS.items() if not onward)
# Not yet ended: an account has at most one of these.
OPEN = frozenset(TRANSITIONS) - FINAL


def can_move(current: State, to: State) -> bool:
    return to in TRANSITIONS[current]


class Kind(StrEnum):
    """What a request withdraws."""

    POINTS = "points"
    CASH = "cash"
    ALL = "all"

    @property
    def bonus_types(self) -> list[int]:
        """`withdraw_bonus_type` of the Open API: 1 points, 2 cash."""
        return {Kind.POINTS: [1], Kind.CASH: [2], Kind.ALL: [1, 2]}[self]


@dataclass(frozen=True)
class Amounts:
    """Points and cash per currency (two decimals), as withdrawn or to be withdrawn."""

    points: int = 0
    cash: tuple[Cash, ...] = ()

    @property
    def empty(self) -> bool:
        return self.points == 0 and all(c.amount == 0 for c in self.cash)


def amounts_of(account: Account, kind: Kind) -> Amounts:
    """What a withdrawal of `kind` would take from the account's balance now."""
    points = account.points if kind in (Kind.POINTS, Kind.ALL) else 0
    cash = tuple(c for c in account.cash if c.amount != 0) if kind in (Kind.CASH, Kind.ALL) else ()
    return Amounts(points, tuple(sorted(cash, key=lambda c: c.currency)))


@dataclass(frozen=True)
class Withdrawal:
    id: int
    account_id: str
    kind: Kind
    state: State
    amounts: Amounts  # what the request asks for (the latest re-ask)
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    chat_id: str | None = None
    message_id: str | None = None  # the request card, which becomes the receipt
    approved_by: str | None = None
    approved_at: datetime | None = None
    order_id: str | None = None
    trans_time: datetime | None = None  # when Feishu recorded the withdrawal
    withdrawn: Amounts | None = None  # as Feishu reported it
    decided_by: str | None = None  # who cancelled
    error: str | None = None  # why it failed, was closed, or is uncertain
    reasked: bool = False  # the amounts changed since the first request
    uncertain_at: datetime | None = None  # when the bot stopped knowing the outcome
    # How an uncertain outcome became known (bot/domain/settlement.py).
    settled_by: str | None = None

    @property
    def waiting(self) -> bool:
        """Waiting for a decision (the approval rule asks)."""
        return self.state is State.REQUESTED


class Decidable(Protocol):
    """A request someone must approve: a withdrawal, or a reward (bot/domain/rewards.py)."""

    requested_by: str
    expires_at: datetime

    @property
    def waiting(self) -> bool: ...


class Refusal(StrEnum):
    """Why an approval (or a cancellation) is refused."""

    NOT_ADMIN = "not_admin"
    NOT_APPROVER = "not_approver"
    OWN_REQUEST = "own_request"
    EXPIRED = "expired"
    DECIDED = "decided"  # no longer waiting for a decision


@dataclass(frozen=True)
class Policy:
    """Who may approve: admins, narrowed to `approvers` when set; the requester only with
    `self_approve`."""

    admins: frozenset[str]
    approvers: frozenset[str] = frozenset()
    self_approve: bool = False

    def is_approver(self, open_id: str | None) -> bool:
        if not open_id or open_id not in self.admins:
            return False
        return not self.approvers or open_id in self.approvers

    def refuse_approval(
        self, request: Decidable, open_id: str | None, now: datetime
    ) -> Refusal | None:
        if not open_id or open_id not in self.admins:
            return Refusal.NOT_ADMIN
        if not request.waiting:
            return Refusal.DECIDED
        if now >= request.expires_at:
            return Refusal.EXPIRED
        if self.approvers and open_id not in self.approvers:
            return Refusal.NOT_APPROVER
        if open_id == request.requested_by and not self.self_approve:
            return Refusal.OWN_REQUEST
        return None

    def refuse_cancel(self, request: Decidable, open_id: str | None) -> Refusal | None:
        if not open_id or open_id not in self.admins:
            return Refusal.NOT_ADMIN
        if not request.waiting:
            return Refusal.DECIDED
        if open_id != request.requested_by and not self.is_approver(open_id):
            return Refusal.NOT_APPROVER
        return None
