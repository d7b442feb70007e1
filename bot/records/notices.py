"""Balance changes waiting to be told: each change the records learn (see `AccountBook`: from
an event, a command, a button, the digest or an import), recorded in the same transaction that
applies the balance, with the minute (the batch window) it fell in, and the inbox events that
will tell it: the window's batch (`BATCH`, keyed by the window, so every process sharing the
database queues it once, due at the window's end) and, for a referrer whose balance grew,
`TELL_REFERRER` keyed by the change. A batch takes every change not yet told in its window,
so a restart mid-window loses none and a change is never told twice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from bot.domain.accounts import Cash
from bot.records.inbox import Inbox
from bot.records.schema import balance_changes
from bot.records.store import Balance, Database, Tx, from_iso, to_iso, utcnow

BATCH = "bot.notice_batch"
TELL_REFERRER = "bot.tell_referrer"
WINDOW = timedelta(minutes=1)


def window_start(moment: datetime, window: timedelta) -> datetime:
    seconds = window.total_seconds()
    return datetime.fromtimestamp(moment.timestamp() // seconds * seconds, UTC)


@dataclass(frozen=True)
class Change:
    """How one account's balance moved, and what it is now."""

    id: int
    account_id: str
    points_delta: int
    cash_delta: tuple[Cash, ...]
    points: int
    cash: tuple[Cash, ...]
    at: datetime  # when the balance was true: an event's modify_time, or the read's time


class NoticeBook:
    """The changes to tell, and (as the account book's teller) recording each one."""

    def __init__(
        self,
        database: Database,
        inbox: Inbox | None = None,
        *,
        window: timedelta = WINDOW,
        chats: bool = False,
        referrers: bool = False,
    ) -> None:
        self._database = database
        self._inbox = inbox
        # A window's changes make one card (tests and the sandbox shorten it).
        self.window = window
        # Who is to be told: the notice chats (any configured), referrers (when asked for).
        self._chats = chats and inbox is not None
        self._referrers = referrers and inbox is not None

    def changed(
        self,
        db: Tx,
        account_id: str,
        before: Balance,
        after: Balance,
        as_of: datetime,
    ) -> bool:
        """Inside the transaction that applies `after`: the change, and the inbox events that
        will tell it. Nobody to tell: nothing recorded (the balance still counts as told)."""
        if not self._chats and not self._referrers:
            return False
        assert self._inbox is not None
        now = utcnow()
        window = window_start(now, self.window)
        change_id = self.record(db, account_id, before, after, as_of, window)
        if change_id is None:
            return False
        key = to_iso(window)
        if self._chats:
            due = window + self.window - now
            self._inbox.enqueue(BATCH, {"window": key}, key=key, delay=due, notify=False)
        if self._referrers and _grew(before, after):
            self._inbox.enqueue(
                TELL_REFERRER, {"change": change_id}, key=str(change_id), notify=False
            )
        return True

    def wake(self) -> None:
        if self._inbox is not None:
            self._inbox.notify()

    @staticmethod
    def record(
        db: Tx,
        account_id: str,
        before: Balance,
        after: Balance,
        at: datetime,
        window: datetime,
    ) -> int | None:
        """Inside the transaction that applies the balance: the change, or None when nothing
        moved."""
        points_delta, cash_delta = _delta(before, after)
        if not points_delta and not cash_delta:
            return None
        return db.execute(
            balance_changes.insert()
            .values(
                account_id=account_id,
                points_delta=points_delta,
                cash_delta=_cash_json(cash_delta),
                points=after[0],
                cash=_cash_json(after[1]),
                modify_time=to_iso(at),
                window=to_iso(window),
                recorded_at=to_iso(utcnow()),
                told=0,
            )
            .returning(balance_changes.c.id)
        ).scalar()

    def untold(self, window: datetime) -> list[Change]:
        """The window's changes not yet in a notice, oldest first (each change belongs to the
        batch of its own window only, so two batches never tell one change)."""
        rows = self._database.rows(
            sa.select(balance_changes)
            .where(balance_changes.c.told == 0, balance_changes.c.window == to_iso(window))
            .order_by(balance_changes.c.id)
        )
        return [_change(row) for row in rows]

    def mark_told(self, ids: list[int]) -> None:
        if ids:
            self._database.run(
                balance_changes.update().where(balance_changes.c.id.in_(ids)).values(told=1)
            )

    def get(self, change_id: int) -> Change | None:
        rows = self._database.rows(
            sa.select(balance_changes).where(balance_changes.c.id == change_id)
        )
        return _change(rows[0]) if rows else None


def _delta(before: Balance, after: Balance) -> tuple[int, tuple[Cash, ...]]:
    """Points moved, and each currency that moved (a currency not listed is at zero)."""
    old = {c.currency: c.amount for c in before[1]}
    new = {c.currency: c.amount for c in after[1]}
    cash = tuple(
        Cash(cur, new.get(cur, Decimal(0)) - old.get(cur, Decimal(0)))
        for cur in sorted(old.keys() | new.keys())
        if new.get(cur, Decimal(0)) != old.get(cur, Decimal(0))
    )
    return after[0] - before[0], cash


def _grew(before: Balance, after: Balance) -> bool:
    points, cash = _delta(before, after)
    return points > 0 or any(c.amount > 0 for c in cash)


def _cash_json(cash: tuple[Cash, ...]) -> str:
    return json.dumps([[c.currency, str(c.amount)] for c in cash])


def _cash(text: str | None) -> tuple[Cash, ...]:
    return tuple(Cash(cur, Decimal(amount)) for cur, amount in json.loads(text or "[]"))


def _change(row: sa.RowMapping) -> Change:
    return Change(
        id=row["id"],
        account_id=row["account_id"],
        points_delta=row["points_delta"] or 0,
        cash_delta=_cash(row["cash_delta"]),
        points=row["points"] or 0,
        cash=_cash(row["cash"]),
        at=from_iso(row["modify_time"]),
    )
