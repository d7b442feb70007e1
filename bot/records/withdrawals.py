"""Withdrawal requests in SQLite. Every change is a compare-and-set on the request's state (see
`bot.domain.withdrawals.TRANSITIONS`), so two approvers, a double click or a redelivered
callback move a request once. The order id is written in the same transaction that approves,
together with the inbox event that carries the withdraw out: a process killed at any point
leaves either a request still waiting, or an approved one whose withdrawal the next start
finishes with the same id.
A new request is written only while the account has no open one, in the transaction that looks.
A database from an older version gains the new columns on start."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from bot.domain.accounts import Cash
from bot.domain.withdrawals import OPEN, Amounts, Kind, State, Withdrawal, can_move
from bot.records import engines
from bot.records.requests import RequestBook, Then
from bot.records.schema import withdrawals
from bot.records.store import Tx, from_iso, to_iso, utcnow

TTL = timedelta(hours=24)


class WithdrawalBook(RequestBook[Withdrawal]):
    table = withdrawals
    can_move = staticmethod(can_move)

    @staticmethod
    def _request(row: sa.RowMapping) -> Withdrawal:
        return _withdrawal(row)

    def create(
        self,
        account_id: str,
        kind: Kind,
        amounts: Amounts,
        *,
        requested_by: str,
        chat_id: str | None,
        ttl: timedelta = TTL,
    ) -> Withdrawal | None:
        """A new request; None when the account has an open one (`open_for` finds it)."""
        now = utcnow()
        with self._database.transaction() as db:
            engines.serialize(db.conn, f"withdrawal:{account_id}")
            if _open_row(db, account_id, to_iso(now)) is not None:
                return None
            created = db.execute(
                withdrawals.insert()
                .values(
                    account_id=account_id,
                    kind=str(kind),
                    state=str(State.REQUESTED),
                    points=amounts.points,
                    cash=_cash_json(amounts.cash),
                    requested_by=requested_by,
                    requested_at=to_iso(now),
                    expires_at=to_iso(now + ttl),
                    chat_id=chat_id,
                    reasked=0,
                    updated_at=to_iso(now),
                )
                .returning(withdrawals.c.id)
            ).scalar()
        return self.get(created)

    def open_for(self, account_id: str) -> Withdrawal | None:
        """The account's open request: waiting (and not past its time), paying out, or
        uncertain."""
        row = _open_row(self._database.db, account_id, to_iso(utcnow()))
        return _withdrawal(row) if row is not None else None

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
        return self._approve(withdrawal_id, approver, then, order_id=order_id)

    def withdrawn(
        self,
        withdrawal_id: int,
        trans_time: datetime | None,
        amounts: Amounts,
        *,
        settled_by: str | None = None,
        then: Then | None = None,
    ) -> bool:
        """Paid out, as Feishu reported it; `settled_by` when it had been uncertain (a
        settlement by reconciliation knows no `trans_time`)."""
        return self._move(
            withdrawal_id,
            State.UNCERTAIN if settled_by else State.APPROVED,
            State.WITHDRAWN,
            then=then,
            trans_time=to_iso(trans_time) if trans_time else None,
            withdrawn_points=amounts.points,
            withdrawn_cash=_cash_json(amounts.cash),
            settled_by=settled_by,
        )

    def failed(
        self,
        withdrawal_id: int,
        error: str,
        *,
        settled_by: str | None = None,
        then: Then | None = None,
    ) -> bool:
        """Certainly not paid out; `settled_by` when it had been uncertain."""
        current = State.UNCERTAIN if settled_by else State.APPROVED
        return self._move(
            withdrawal_id, current, State.FAILED, then=then, error=error, settled_by=settled_by
        )

    def close(
        self,
        withdrawal_id: int,
        reason: str,
        *,
        settled_by: str | None = None,
        then: Then | None = None,
    ) -> bool:
        """Nothing to pay out: a waiting request whose balance was found empty, or (settled) an
        uncertain one that paid nothing out."""
        current = State.UNCERTAIN if settled_by else State.REQUESTED
        return self._move(
            withdrawal_id, current, State.CLOSED, then=then, error=reason, settled_by=settled_by
        )

    def uncertain(self, withdrawal_id: int, reason: str, *, then: Then) -> bool:
        """Approved, but whether Feishu paid it out cannot be known now; False when it was no
        longer paying out."""
        return self._move(
            withdrawal_id,
            State.APPROVED,
            State.UNCERTAIN,
            then=then,
            error=reason,
            uncertain_at=to_iso(utcnow()),
        )

    def in_state(self, state: State) -> list[Withdrawal]:
        return self._in_states([state])

    def history(
        self, account_id: str | None = None, *, offset: int = 0, limit: int = 20
    ) -> tuple[list[Withdrawal], int]:
        """Newest first, a page of them, and how many there are in all."""
        where = [withdrawals.c.account_id == account_id] if account_id else []
        return self._page(where, offset, limit)

    def points_between(
        self, start: datetime, end: datetime, account_id: str | None = None
    ) -> dict[str, int]:
        """Points withdrawn through the bot per account, Feishu's trans_time in [start, end]
        (the approval's time for one settled by reconciliation, which tells no trans_time)."""
        when = sa.func.coalesce(withdrawals.c.trans_time, withdrawals.c.approved_at)
        where = [withdrawals.c.state == State.WITHDRAWN, when >= to_iso(start), when <= to_iso(end)]
        if account_id:
            where.append(withdrawals.c.account_id == account_id)
        rows = self._database.run(
            sa.select(withdrawals.c.account_id, sa.func.sum(withdrawals.c.withdrawn_points))
            .where(*where)
            .group_by(withdrawals.c.account_id)
            .order_by(withdrawals.c.account_id)
        ).all()
        return {account_id: int(points or 0) for account_id, points in rows}


def _open_row(db: Tx, account_id: str, now: str) -> sa.RowMapping | None:
    waiting = State.REQUESTED
    others = sorted(OPEN - {waiting})
    return (
        db.execute(
            sa.select(withdrawals)
            .where(
                withdrawals.c.account_id == account_id,
                sa.or_(
                    sa.and_(withdrawals.c.state == waiting, withdrawals.c.expires_at > now),
                    withdrawals.c.state.in_(others),
                ),
            )
            .order_by(withdrawals.c.id)
            .limit(1)
        )
        .mappings()
        .first()
    )


def _cash_json(cash: tuple[Cash, ...]) -> str:
    return json.dumps([[c.currency, str(c.amount)] for c in cash])


def _cash(text: str | None) -> tuple[Cash, ...]:
    return tuple(Cash(cur, Decimal(amount)) for cur, amount in json.loads(text or "[]"))


def _withdrawal(row: sa.RowMapping) -> Withdrawal:
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
        uncertain_at=from_iso(row["uncertain_at"]),
        settled_by=row["settled_by"],
    )
