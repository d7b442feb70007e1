"""Withdrawal requests in SQLite. Every change is a compare-and-set on the request's state (see
`bot.withdrawals.TRANSITIONS`), so two approvers, a double click or a redelivered callback move a
request once. The order id is written in the same transaction that approves, together with the
inbox event that carries the withdraw out: a process killed at any point leaves either a request
still waiting, or an approved one whose withdrawal the next start finishes with the same id."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from bot.accounts import Cash
from bot.records.store import Database, from_iso, to_iso, utcnow
from bot.withdrawals import Amounts, Kind, State, Withdrawal, can_move

TTL = timedelta(hours=24)


class WithdrawalBook:
    def __init__(self, database: Database) -> None:
        self._database = database
        database.db["withdrawals"].create(
            {
                "id": int,
                "account_id": str,
                "kind": str,
                "state": str,
                "points": int,
                "cash": str,
                "requested_by": str,
                "requested_at": str,
                "expires_at": str,
                "chat_id": str,
                "message_id": str,
                "approved_by": str,
                "approved_at": str,
                "order_id": str,
                "trans_time": str,
                "withdrawn_points": int,
                "withdrawn_cash": str,
                "decided_by": str,
                "error": str,
                "reasked": int,
                "updated_at": str,
            },
            pk="id",
            if_not_exists=True,
        )
        db = database.db
        db["withdrawals"].create_index(["order_id"], unique=True, if_not_exists=True)
        db["withdrawals"].create_index(["account_id"], if_not_exists=True)

    def create(
        self,
        account_id: str,
        kind: Kind,
        amounts: Amounts,
        *,
        requested_by: str,
        chat_id: str | None,
        ttl: timedelta = TTL,
    ) -> Withdrawal:
        now = utcnow()
        table = self._database.db["withdrawals"]
        table.insert(
            {
                "account_id": account_id,
                "kind": str(kind),
                "state": str(State.REQUESTED),
                "points": amounts.points,
                "cash": _cash_json(amounts.cash),
                "requested_by": requested_by,
                "requested_at": to_iso(now),
                "expires_at": to_iso(now + ttl),
                "chat_id": chat_id,
                "reasked": 0,
                "updated_at": to_iso(now),
            }
        )
        return self.get(table.last_pk)

    def get(self, withdrawal_id: int) -> Withdrawal | None:
        rows = list(self._database.db["withdrawals"].rows_where("id = ?", [withdrawal_id]))
        return _withdrawal(rows[0]) if rows else None

    def note_message(self, withdrawal_id: int, message_id: str) -> None:
        """The request card was sent as this message; it becomes the receipt."""
        self._database.db.execute(
            "UPDATE withdrawals SET message_id = ? WHERE id = ?", [message_id, withdrawal_id]
        )

    def reask(self, withdrawal_id: int, amounts: Amounts) -> bool:
        """The balance changed since the request: ask for approval of the new amounts."""
        return self._move(
            withdrawal_id,
            State.REQUESTED,
            State.REQUESTED,
            points=amounts.points,
            cash=_cash_json(amounts.cash),
            reasked=1,
        )

    def approve(
        self, withdrawal_id: int, approver: str, *, then: Callable[[str], None]
    ) -> str | None:
        """Approve, with a new order id, in one transaction with `then(order_id)` (which queues
        the withdraw); the order id, or None when the request was no longer waiting."""
        order_id = f"rb-{withdrawal_id}-{uuid.uuid4().hex[:20]}"
        now = to_iso(utcnow())
        with self._database.transaction() as db:
            cursor = db.execute(
                "UPDATE withdrawals SET state = ?, approved_by = ?, approved_at = ?,"
                " order_id = ?, updated_at = ? WHERE id = ? AND state = ? AND expires_at > ?",
                [State.APPROVED, approver, now, order_id, now, withdrawal_id, State.REQUESTED, now],
            )
            if cursor.rowcount != 1:
                return None
            then(order_id)
        return order_id

    def withdrawn(self, withdrawal_id: int, trans_time: datetime, amounts: Amounts) -> bool:
        return self._move(
            withdrawal_id,
            State.APPROVED,
            State.WITHDRAWN,
            trans_time=to_iso(trans_time),
            withdrawn_points=amounts.points,
            withdrawn_cash=_cash_json(amounts.cash),
        )

    def failed(self, withdrawal_id: int, error: str) -> bool:
        return self._move(withdrawal_id, State.APPROVED, State.FAILED, error=error)

    def cancel(self, withdrawal_id: int, by: str) -> bool:
        return self._move(withdrawal_id, State.REQUESTED, State.CANCELLED, decided_by=by)

    def expire(self, withdrawal_id: int) -> bool:
        """Requested and past its time: expired. False when decided or not yet due."""
        now = to_iso(utcnow())
        cursor = self._database.db.execute(
            "UPDATE withdrawals SET state = ?, updated_at = ? WHERE id = ? AND state = ?"
            " AND expires_at <= ?",
            [State.EXPIRED, now, withdrawal_id, State.REQUESTED, now],
        )
        return cursor.rowcount == 1

    def approved_unfinished(self) -> list[Withdrawal]:
        rows = self._database.db["withdrawals"].rows_where("state = ?", [State.APPROVED])
        return [_withdrawal(row) for row in rows]

    def history(
        self, account_id: str | None = None, *, offset: int = 0, limit: int = 20
    ) -> tuple[list[Withdrawal], int]:
        """Newest first, a page of them, and how many there are in all."""
        where, params = ("account_id = ?", [account_id]) if account_id else (None, [])
        table = self._database.db["withdrawals"]
        total = table.count_where(where or "1", params)
        rows = table.rows_where(where, params, order_by="id DESC", limit=limit, offset=offset)
        return [_withdrawal(row) for row in rows], total

    def points_between(self, start: datetime, end: datetime) -> dict[str, int]:
        """Points withdrawn through the bot per account, Feishu's trans_time in [start, end]."""
        rows = self._database.db.execute(
            "SELECT account_id, SUM(withdrawn_points) FROM withdrawals WHERE state = ?"
            " AND trans_time >= ? AND trans_time <= ? GROUP BY account_id ORDER BY account_id",
            [State.WITHDRAWN, to_iso(start), to_iso(end)],
        ).fetchall()
        return {account_id: int(points or 0) for account_id, points in rows}

    def _move(self, withdrawal_id: int, current: State, to: State, **changes: object) -> bool:
        assert can_move(current, to), (current, to)
        sets = ", ".join(f"{column} = ?" for column in changes)
        cursor = self._database.db.execute(
            f"UPDATE withdrawals SET state = ?, updated_at = ?{', ' + sets if sets else ''}"
            " WHERE id = ? AND state = ?",
            [to, to_iso(utcnow()), *changes.values(), withdrawal_id, current],
        )
        return cursor.rowcount == 1


def _cash_json(cash: tuple[Cash, ...]) -> str:
    return json.dumps([[c.currency, str(c.amount)] for c in cash])


def _cash(text: str | None) -> tuple[Cash, ...]:
    return tuple(Cash(cur, Decimal(amount)) for cur, amount in json.loads(text or "[]"))


def _withdrawal(row: dict) -> Withdrawal:
    withdrawn = None
    if row["state"] == State.WITHDRAWN:
        withdrawn = Amounts(row["withdrawn_points"] or 0, _cash(row["withdrawn_cash"]))
    return Withdrawal(
        id=row["id"],
        account_id=row["account_id"],
        kind=Kind(row["kind"]),
        state=State(row["state"]),
        amounts=Amounts(row["points"] or 0, _cash(row["cash"])),
        requested_by=row["requested_by"],
        requested_at=from_iso(row["requested_at"]),
        expires_at=from_iso(row["expires_at"]),
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        approved_by=row["approved_by"],
        approved_at=from_iso(row["approved_at"]),
        order_id=row["order_id"],
        trans_time=from_iso(row["trans_time"]),
        withdrawn=withdrawn,
        decided_by=row["decided_by"],
        error=row["error"],
        reasked=bool(row["reasked"]),
    )
