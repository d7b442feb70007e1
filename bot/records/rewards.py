"""Reward requests in SQLite. Every change is a compare-and-set on the request's state (see
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

from bot.domain.accounts import Cash
from bot.domain.rewards import RULE_HIRED, RULE_OTHER, Amount, Reward, State, can_move
from bot.records.store import Database, create_table, from_iso, to_iso, utcnow

TTL = timedelta(hours=24)
Then = Callable[[], object]
# A hire's request that still stands (waiting, under way, or done).
_STANDING = (State.REQUESTED, State.APPROVED, State.UNCERTAIN, State.REWARDED)


class RewardBook:
    def __init__(self, database: Database) -> None:
        self._database = database
        create_table(
            database.db,
            "rewards",
            {
                "id": int,
                "account_id": str,
                "referrer_open_id": str,
                "unit": str,
                "amount": str,
                "reason": str,
                "state": str,
                "application_id": str,
                "job_id": str,
                "requested_by": str,
                "requested_at": str,
                "expires_at": str,
                "chat_id": str,
                "message_id": str,
                "approved_by": str,
                "approved_at": str,
                "external_id": str,
                "reward_id": str,
                "decided_by": str,
                "error": str,
                "balance_points": int,
                "balance_cash": str,
                "rule_type": int,
                "asked_in": str,  # the event (message or press) that asked: once per asking
                "updated_at": str,
            },
            pk="id",
        )
        db = database.db
        db["rewards"].create_index(["external_id"], unique=True, if_not_exists=True)
        db["rewards"].create_index(["application_id"], if_not_exists=True)
        db["rewards"].create_index(["asked_in"], unique=True, if_not_exists=True)

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
                made = db.execute("SELECT id FROM rewards WHERE asked_in = ?", [asked_in])
                row = made.fetchone()
                if row is not None:
                    return _reward(next(db["rewards"].rows_where("id = ?", [row[0]])))
            hire = rule_type == RULE_HIRED
            if hire and application_id and _standing(db, application_id, to_iso(now)) is not None:
                return None
            table = db["rewards"]
            table.insert(
                {
                    "account_id": account_id,
                    "referrer_open_id": referrer_open_id,
                    "unit": amount.unit,
                    "amount": str(amount.value),
                    "reason": reason,
                    "state": str(State.REQUESTED),
                    "application_id": application_id,
                    "job_id": job_id,
                    "rule_type": rule_type,
                    "asked_in": asked_in,
                    "requested_by": requested_by,
                    "requested_at": to_iso(now),
                    "expires_at": to_iso(now + ttl),
                    "chat_id": chat_id,
                    "updated_at": to_iso(now),
                }
            )
            created = table.last_pk
        return self.get(created)

    def standing_for(self, application_id: str) -> Reward | None:
        """The hire reward of the application that is waiting, under way or done."""
        row = _standing(self._database.db, application_id, to_iso(utcnow()))
        return _reward(row) if row is not None else None

    def get(self, reward_id: int) -> Reward | None:
        rows = list(self._database.db["rewards"].rows_where("id = ?", [reward_id]))
        return _reward(rows[0]) if rows else None

    def note_message(self, reward_id: int, message_id: str) -> None:
        """The request card was sent as this message; it becomes the receipt."""
        self._database.db.execute(
            "UPDATE rewards SET message_id = ? WHERE id = ?", [message_id, reward_id]
        )

    def approve(self, reward_id: int, approver: str, *, then: Callable[[str], None]) -> str | None:
        """Approve, with a new external_id, in one transaction with `then(external_id)`
        (which queues the import); the id, or None when the request was no longer waiting."""
        external_id = f"rb-reward-{reward_id}-{uuid.uuid4().hex[:20]}"
        now = to_iso(utcnow())
        with self._database.transaction() as db:
            cursor = db.execute(
                "UPDATE rewards SET state = ?, approved_by = ?, approved_at = ?,"
                " external_id = ?, updated_at = ? WHERE id = ? AND state = ? AND expires_at > ?",
                [State.APPROVED, approver, now, external_id, now, reward_id, State.REQUESTED, now],
            )
            if cursor.rowcount != 1:
                return None
            then(external_id)
        return external_id

    def rewarded(self, reward_id: int, feishu_id: str, *, then: Then | None = None) -> bool:
        for current in (State.APPROVED, State.UNCERTAIN):
            if self._move(reward_id, current, State.REWARDED, then=then, reward_id=feishu_id):
                return True
        return False

    def note_balance(self, reward_id: int, points: int, cash: tuple[Cash, ...]) -> None:
        """The referrer's balance as read after the import."""
        self._database.db.execute(
            "UPDATE rewards SET balance_points = ?, balance_cash = ? WHERE id = ?",
            [points, json.dumps([[c.currency, str(c.amount)] for c in cash]), reward_id],
        )

    def failed(self, reward_id: int, error: str, *, then: Then | None = None) -> bool:
        for current in (State.APPROVED, State.UNCERTAIN):
            if self._move(reward_id, current, State.FAILED, then=then, error=error):
                return True
        return False

    def uncertain(self, reward_id: int, reason: str, *, then: Then | None = None) -> bool:
        return self._move(reward_id, State.APPROVED, State.UNCERTAIN, then=then, error=reason)

    def cancel(self, reward_id: int, by: str) -> bool:
        return self._move(reward_id, State.REQUESTED, State.CANCELLED, decided_by=by)

    def expire(self, reward_id: int) -> bool:
        now = to_iso(utcnow())
        cursor = self._database.db.execute(
            "UPDATE rewards SET state = ?, updated_at = ? WHERE id = ? AND state = ?"
            " AND expires_at <= ?",
            [State.EXPIRED, now, reward_id, State.REQUESTED, now],
        )
        return cursor.rowcount == 1

    def in_states(self, *states: State) -> list[Reward]:
        marks = ", ".join("?" for _ in states)
        rows = self._database.db["rewards"].rows_where(
            f"state IN ({marks})", [str(s) for s in states], order_by="id"
        )
        return [_reward(row) for row in rows]

    def history(
        self, referrer_open_id: str | None = None, *, offset: int = 0, limit: int = 20
    ) -> tuple[list[Reward], int]:
        """Newest first, a page of them, and how many there are in all."""
        where, params = (
            ("referrer_open_id = ?", [referrer_open_id]) if referrer_open_id else (None, [])
        )
        table = self._database.db["rewards"]
        total = table.count_where(where or "1", params)
        rows = table.rows_where(where, params, order_by="id DESC", limit=limit, offset=offset)
        return [_reward(row) for row in rows], total

    def _move(
        self,
        row_id: int,
        current: State,
        to: State,
        *,
        then: Then | None = None,
        **changes: object,
    ) -> bool:
        """Compare-and-set the state; `then()` runs in the same transaction when this moved it."""
        assert can_move(current, to), (current, to)
        sets = "".join(f", {column} = ?" for column in changes)
        with self._database.transaction() as db:
            cursor = db.execute(
                f"UPDATE rewards SET state = ?, updated_at = ?{sets} WHERE id = ? AND state = ?",
                [to, to_iso(utcnow()), *changes.values(), row_id, current],
            )
            if cursor.rowcount != 1:
                return False
            if then is not None:
                then()
        return True


def _standing(db, application_id: str, now: str) -> dict | None:
    others = [str(s) for s in _STANDING if s is not State.REQUESTED]
    rows = list(
        db["rewards"].rows_where(
            f"application_id = ? AND rule_type = {RULE_HIRED} AND ((state = ? AND expires_at > ?)"
            f" OR state IN ({', '.join('?' for _ in others)}))",
            [application_id, State.REQUESTED, now, *others],
            order_by="id",
            limit=1,
        )
    )
    return rows[0] if rows else None


def _reward(row: dict) -> Reward:
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
