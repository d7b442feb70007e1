"""Reward requests. Every change is a compare-and-set on the request's state (see
`bot.domain.rewards.TRANSITIONS`), so two approvers, a double click or a redelivered callback
move a request once. The `external_id` is written in the same transaction that approves,
together with the inbox event that imports the reward: a process killed at any point leaves
either a request still waiting, or an approved one whose import the next start makes with the
same id. A hire (an application rewarded through its hired card) has at most one reward
request that is not cancelled, expired or failed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from bot.domain.accounts import Cash
from bot.domain.rewards import RULE_HIRED, RULE_OTHER, Amount, Reward, State, can_move
from bot.records import engines
from bot.records.requests import RequestBook, Then
from bot.records.schema import rewards
from bot.records.store import Tx, from_iso, to_iso, utcnow

TTL = timedelta(hours=24)
# A hire's request that still stands (waiting, under way, or done).
_STANDING = (State.REQUESTED, State.APPROVED, State.UNCERTAIN, State.REWARDED)


class RewardBook(RequestBook[Reward]):
    table = rewards
    can_move = staticmethod(can_move)

    @staticmethod
    def _request(row: sa.RowMapping) -> Reward:
        return _reward(row)

    def create(
        self,
        *,
        account_id: str | None,
        referrer_open_id: str,
        amount: Amount,
        reason: str,
        requested_by: str,
        chat_id: str | None,
        application_id: str | None = None,
        job_id: str | None = None,
        rule_type: int = RULE_OTHER,
        asked_in: str | None = None,
        ttl: timedelta = TTL,
    ) -> Reward | None:
        """A new request; None when it is for a hire that has a standing one (`standing_for`).
        An asking (`asked_in`, its event id) run again gets the request it made the first time."""
        now = utcnow()
        with self._database.transaction() as db:
            if asked_in:
                engines.serialize(db.conn, f"reward-asked:{asked_in}")
                made = db.execute(sa.select(rewards).where(rewards.c.asked_in == asked_in))
                row = made.mappings().first()
                if row is not None:
                    return _reward(row)
            hire = rule_type == RULE_HIRED
            if hire and application_id:
                engines.serialize(db.conn, f"reward-hire:{application_id}")
                if _standing(db, application_id, to_iso(now)) is not None:
                    return None
            created = db.execute(
                rewards.insert()
                .values(
                    account_id=account_id,
                    referrer_open_id=referrer_open_id,
                    unit=amount.unit,
                    amount=str(amount.value),
                    reason=reason,
                    state=str(State.REQUESTED),
                    application_id=application_id,
                    job_id=job_id,
                    rule_type=rule_type,
                    asked_in=asked_in,
                    requested_by=requested_by,
                    requested_at=to_iso(now),
                    expires_at=to_iso(now + ttl),
                    chat_id=chat_id,
                    updated_at=to_iso(now),
                )
                .returning(rewards.c.id)
            ).scalar()
        return self.get(created)

    def standing_for(self, application_id: str) -> Reward | None:
        """The hire reward of the application that is waiting, under way or done."""
        row = _standing(self._database.db, application_id, to_iso(utcnow()))
        return _reward(row) if row is not None else None

    def approve(self, reward_id: int, approver: str, *, then: Callable[[str], None]) -> str | None:
        """Approve, with a new external_id, in one transaction with `then(external_id)`
        (which queues the import); the id, or None when the request was no longer waiting."""
        external_id = f"rb-reward-{reward_id}-{uuid.uuid4().hex[:20]}"
        return self._approve(reward_id, approver, then, external_id=external_id)

    def rewarded(self, reward_id: int, feishu_id: str, *, then: Then | None = None) -> bool:
        for current in (State.APPROVED, State.UNCERTAIN):
            if self._move(reward_id, current, State.REWARDED, then=then, reward_id=feishu_id):
                return True
        return False

    def note_balance(self, reward_id: int, points: int, cash: tuple[Cash, ...]) -> None:
        """The referrer's balance as read after the import."""
        cash_json = json.dumps([[c.currency, str(c.amount)] for c in cash])
        self._set(reward_id, balance_points=points, balance_cash=cash_json)

    def failed(self, reward_id: int, error: str, *, then: Then | None = None) -> bool:
        for current in (State.APPROVED, State.UNCERTAIN):
            if self._move(reward_id, current, State.FAILED, then=then, error=error):
                return True
        return False

    def uncertain(self, reward_id: int, reason: str, *, then: Then | None = None) -> bool:
        return self._move(reward_id, State.APPROVED, State.UNCERTAIN, then=then, error=reason)

    def in_states(self, *states: State) -> list[Reward]:
        return self._in_states(states)

    def history(
        self, referrer_open_id: str | None = None, *, offset: int = 0, limit: int = 20
    ) -> tuple[list[Reward], int]:
        """Newest first, a page of them, and how many there are in all."""
        where = [rewards.c.referrer_open_id == referrer_open_id] if referrer_open_id else []
        return self._page(where, offset, limit)


def _standing(db: Tx, application_id: str, now: str) -> sa.RowMapping | None:
    others = [str(s) for s in _STANDING if s is not State.REQUESTED]
    return (
        db.execute(
            sa.select(rewards)
            .where(
                rewards.c.application_id == application_id,
                rewards.c.rule_type == RULE_HIRED,
                sa.or_(
                    sa.and_(rewards.c.state == State.REQUESTED, rewards.c.expires_at > now),
                    rewards.c.state.in_(others),
                ),
            )
            .order_by(rewards.c.id)
            .limit(1)
        )
        .mappings()
        .first()
    )


def _reward(row: sa.RowMapping) -> Reward:
    return Reward(
        id=row["id"],
        account_id=row["account_id"],
        referrer_open_id=row["referrer_open_id"],
        amount=Amount(row["unit"], Decimal(row["amount"])),
        reason=row["reason"] or "",
        state=State(row["state"]),
        requested_by=row["requested_by"],
        requested_at=from_iso(row["requested_at"]),
        expires_at=from_iso(row["expires_at"]),
        application_id=row["application_id"],
        job_id=row["job_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        approved_by=row["approved_by"],
        approved_at=from_iso(row["approved_at"]),
        external_id=row["external_id"],
        reward_id=row["reward_id"],
        decided_by=row["decided_by"],
        error=row["error"],
        balance_points=row["balance_points"],
        balance_cash=row["balance_cash"],
        rule_type=row["rule_type"] or RULE_OTHER,
    )


def balance_cash(reward: Reward) -> tuple[Cash, ...]:
    return tuple(Cash(c, Decimal(a)) for c, a in json.loads(reward.balance_cash or "[]"))
