"""Balance changes waiting to be told: each change a balance event brought, recorded in the same
transaction that applies the event, with the minute (the batch window) it fell in. A batch
takes every change not yet told up to its window's end, so a restart mid-window loses none and
a change is never told twice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlite_utils

from bot.accounts import Cash
from bot.records.store import Database, from_iso, to_iso, utcnow


@dataclass(frozen=True)
class Change:
    """How one account's balance moved, and what it is now."""

    id: int
    account_id: str
    points_delta: int
    cash_delta: tuple[Cash, ...]
    points: int
    cash: tuple[Cash, ...]
    at: datetime  # Feishu's modify_time

    @property
    def grew(self) -> bool:
        return self.points_delta > 0 or any(c.amount > 0 for c in self.cash_delta)


class NoticeBook:
    def __init__(self, database: Database) -> None:
        self._database = database
        database.db["balance_changes"].create(
            {
                "id": int,
                "account_id": str,
                "points_delta": int,
                "cash_delta": str,
                "points": int,
                "cash": str,
                "modify_time": str,
                "window": str,
                "recorded_at": str,
                "told": int,
            },
            pk="id",
            if_not_exists=True,
        )
        database.db["balance_changes"].create_index(["told", "window"], if_not_exists=True)

    @staticmethod
    def record(
        db: sqlite_utils.Database,
        account_id: str,
        before: tuple[int, tuple[Cash, ...]],
        after: tuple[int, tuple[Cash, ...]],
        at: datetime,
        window: datetime,
    ) -> int | None:
        """Inside the transaction that applies the balance: the change, or None when nothing
        moved."""
        points_delta = after[0] - before[0]
        old = {c.currency: c.amount for c in before[1]}
        new = {c.currency: c.amount for c in after[1]}
        cash_delta = tuple(
            Cash(cur, new.get(cur, Decimal(0)) - old.get(cur, Decimal(0)))
            for cur in sorted(old.keys() | new.keys())
            if new.get(cur, Decimal(0)) != old.get(cur, Decimal(0))
        )
        if not points_delta and not cash_delta:
            return None
        table = db["balance_changes"]
        table.insert(
            {
                "account_id": account_id,
                "points_delta": points_delta,
                "cash_delta": _cash_json(cash_delta),
                "points": after[0],
                "cash": _cash_json(after[1]),
                "modify_time": to_iso(at),
                "window": to_iso(window),
                "recorded_at": to_iso(utcnow()),
                "told": 0,
            }
        )
        return table.last_pk

    def untold(self, window: datetime) -> list[Change]:
        """The window's changes not yet in a notice, oldest first (each change belongs to the
        batch of its own window only, so two batches never tell one change)."""
        rows = self._database.db["balance_changes"].rows_where(
            "told = 0 AND window = ?", [to_iso(window)], order_by="id"
        )
        return [_change(row) for row in rows]

    def mark_told(self, ids: list[int]) -> None:
        with self._database.transaction() as db:
            db.conn.executemany(
                "UPDATE balance_changes SET told = 1 WHERE id = ?", [[i] for i in ids]
            )

    def get(self, change_id: int) -> Change | None:
        rows = list(self._database.db["balance_changes"].rows_where("id = ?", [change_id]))
        return _change(rows[0]) if rows else None


def _cash_json(cash: tuple[Cash, ...]) -> str:
    return json.dumps([[c.currency, str(c.amount)] for c in cash])


def _cash(text: str | None) -> tuple[Cash, ...]:
    return tuple(Cash(cur, Decimal(amount)) for cur, amount in json.loads(text or "[]"))


def _change(row: dict) -> Change:
    return Change(
        id=row["id"],
        account_id=row["account_id"],
        points_delta=row["points_delta"] or 0,
        cash_delta=_cash(row["cash_delta"]),
        points=row["points"] or 0,
        cash=_cash(row["cash"]),
        at=from_iso(row["modify_time"]),
    )
