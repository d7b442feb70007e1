"""What every request that waits for a second admin keeps alike in the records (a withdrawal, a
reward): each change a compare-and-set on its state, with the work that must happen with it
(`then`: the audit, follow-up work queued) in the same transaction; approval writes the id the
one Feishu call will carry; a waiting request expires after its time; pages newest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import sqlalchemy as sa

from bot.records.store import Database, to_iso, utcnow

# Work done in the transaction of a state change (an audit entry, follow-up work queued with
# `notify=False`).
Then = Callable[[], object]
Request = TypeVar("Request")


class RequestBook(Generic[Request]):
    """A table of requests whose `state` moves only as `can_move` allows. A subclass names its
    `table`, `can_move` and how a row becomes a request (`_request`)."""

    table: sa.Table
    can_move: Callable[[str, str], bool]

    def __init__(self, database: Database) -> None:
        self._database = database

    @staticmethod
    def _request(row: sa.RowMapping) -> Request:
        raise NotImplementedError

    def get(self, request_id: int) -> Request | None:
        rows = self._database.rows(sa.select(self.table).where(self.table.c.id == request_id))
        return self._request(rows[0]) if rows else None

    def note_message(self, request_id: int, message_id: str) -> None:
        """The request card was sent as this message; it becomes the receipt."""
        self._set(request_id, message_id=message_id)

    def cancel(self, request_id: int, by: str) -> bool:
        return self._move(request_id, "requested", "cancelled", decided_by=by)

    def expire(self, request_id: int) -> bool:
        """Requested and past its time: expired. False when decided or not yet due."""
        now = to_iso(utcnow())
        table = self.table
        expired = self._database.run(
            table.update()
            .where(
                table.c.id == request_id, table.c.state == "requested", table.c.expires_at <= now
            )
            .values(state="expired", updated_at=now)
        )
        return expired.rowcount == 1

    def _set(self, request_id: int, **values: object) -> None:
        self._database.run(
            self.table.update().where(self.table.c.id == request_id).values(**values)
        )

    def _approve(
        self, request_id: int, approver: str, then: Callable[[str], None], **new_id: str
    ) -> str | None:
        """Approve a waiting request, writing its one new id (`order_id=…`, `external_id=…`),
        in one transaction with `then(id)` (which queues the call that carries it); the id, or
        None when the request was no longer waiting."""
        ((_, made),) = new_id.items()
        now = to_iso(utcnow())
        table = self.table
        with self._database.transaction() as db:
            cursor = db.execute(
                table.update()
                .where(
                    table.c.id == request_id,
                    table.c.state == "requested",
                    table.c.expires_at > now,
                )
                .values(
                    state="approved",
                    approved_by=approver,
                    approved_at=now,
                    updated_at=now,
                    **new_id,
                )
            )
            if cursor.rowcount != 1:
                return None
            then(made)
        return made

    def _move(
        self, request_id: int, current: str, to: str, *, then: Then | None = None, **changes: object
    ) -> bool:
        """Compare-and-set the state; `then()` runs in the same transaction, only when this call
        moved it."""
        assert type(self).can_move(current, to), (current, to)
        table = self.table
        with self._database.transaction() as db:
            cursor = db.execute(
                table.update()
                .where(table.c.id == request_id, table.c.state == current)
                .values(state=to, updated_at=to_iso(utcnow()), **changes)
            )
            if cursor.rowcount != 1:
                return False
            if then is not None:
                then()
        return True

    def _in_states(self, states: Sequence[str]) -> list[Request]:
        table = self.table
        rows = self._database.rows(
            sa.select(table).where(table.c.state.in_([str(s) for s in states])).order_by(table.c.id)
        )
        return [self._request(row) for row in rows]

    def _page(self, where: list, offset: int, limit: int) -> tuple[list[Request], int]:
        """Newest first, a page of them, and how many there are in all."""
        table = self.table
        total = self._database.scalar(sa.select(sa.func.count()).select_from(table).where(*where))
        rows = self._database.rows(
            sa.select(table).where(*where).order_by(table.c.id.desc()).limit(limit).offset(offset)
        )
        return [self._request(row) for row in rows], total
