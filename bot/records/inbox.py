"""The event inbox: verified events are written here before Feishu gets its 200.

Feishu delivers at least once and retries for hours, so an event is taken in once (by
`header.event_id`, and for messages also by `message_id`), and whatever was queued or in progress
when the process stopped is worked off after the next start. An event is claimed by one
process (its `owner`); a process that stops cleanly puts its unfinished claims back, and claims
left by a process that died are taken back once they are older than `STALE_CLAIM`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import timedelta

from bot.records.store import Database, to_iso, utcnow

QUEUED, WORKING, DONE, FAILED = "queued", "working", "done", "failed"
# Longer than any event's work can take (API timeouts times retries), so a live claim is never
# taken back from a process that is still working on it.
STALE_CLAIM = timedelta(minutes=5)


@dataclass(frozen=True)
class InboxEvent:
    event_id: str
    event_type: str
    payload: str
    attempts: int


class Inbox:
    def __init__(self, database: Database) -> None:
        self._database = database
        self.owner = uuid.uuid4().hex

    def accept(
        self, event_id: str, event_type: str, payload: str, message_id: str | None = None
    ) -> bool:
        """Store a new event; False when this event (or this message) was taken in before."""
        now = to_iso(utcnow())
        try:
            self._database.db.execute(
                "INSERT INTO events (event_id, event_type, message_id, payload, status, attempts,"
                " received_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                [event_id, event_type, message_id, payload, QUEUED, now, now],
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def mark_handled(self, event_id: str, event_type: str) -> bool:
        """Record an event handled inline (a card callback); False when it was seen before."""
        now = to_iso(utcnow())
        try:
            self._database.db.execute(
                "INSERT INTO events (event_id, event_type, status, attempts, received_at,"
                " updated_at) VALUES (?, ?, ?, 1, ?, ?)",
                [event_id, event_type, DONE, now, now],
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def claim(self) -> InboxEvent | None:
        """Take the oldest queued event for work, atomically across threads and processes."""
        row = self._database.db.execute(
            "UPDATE events SET status = ?, owner = ?, attempts = attempts + 1, updated_at = ?"
            " WHERE event_id = (SELECT event_id FROM events WHERE status = ?"
            " AND (not_before IS NULL OR not_before <= ?) ORDER BY rowid LIMIT 1)"
            " RETURNING event_id, event_type, payload, attempts",
            [WORKING, self.owner, to_iso(utcnow()), QUEUED, to_iso(utcnow())],
        ).fetchone()
        return InboxEvent(*row) if row else None

    def finish(self, event_id: str) -> None:
        self._set(event_id, DONE, None)

    def fail(self, event_id: str, reason: str) -> None:
        self._set(event_id, FAILED, reason)

    def retry_later(self, event_id: str, reason: str, delay: timedelta) -> None:
        """Back in the queue, but not to be claimed before `delay` has passed."""
        self._database.db.execute(
            "UPDATE events SET status = ?, error = ?, owner = NULL, not_before = ?, updated_at = ?"
            " WHERE event_id = ?",
            [QUEUED, reason, to_iso(utcnow() + delay), to_iso(utcnow()), event_id],
        )

    def release_own_claims(self) -> int:
        """On a clean stop: put this process's unfinished events back in the queue."""
        cursor = self._database.db.execute(
            "UPDATE events SET status = ?, owner = NULL, updated_at = ?"
            " WHERE status = ? AND owner = ?",
            [QUEUED, to_iso(utcnow()), WORKING, self.owner],
        )
        return cursor.rowcount

    def requeue_stale_claims(self) -> int:
        """Put events claimed by a process that died (claims older than STALE_CLAIM) back."""
        cutoff = to_iso(utcnow() - STALE_CLAIM)
        cursor = self._database.db.execute(
            "UPDATE events SET status = ?, owner = NULL, updated_at = ?"
            " WHERE status = ? AND updated_at < ?",
            [QUEUED, to_iso(utcnow()), WORKING, cutoff],
        )
        return cursor.rowcount

    def save_reply(self, event_id: str, reply: dict) -> None:
        """Keep the answer worked out for an event, so a retry only re-sends it."""
        self._database.db.execute(
            "UPDATE events SET reply = ? WHERE event_id = ?", [json.dumps(reply), event_id]
        )

    def saved_reply(self, event_id: str) -> dict | None:
        row = self._database.db.execute(
            "SELECT reply FROM events WHERE event_id = ?", [event_id]
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def counts(self) -> dict[str, int]:
        rows = self._database.db.execute(
            "SELECT status, count(*) FROM events GROUP BY status"
        ).fetchall()
        return dict(rows)

    def _set(self, event_id: str, status: str, error: str | None) -> None:
        self._database.db.execute(
            "UPDATE events SET status = ?, error = ?, updated_at = ? WHERE event_id = ?",
            [status, error, to_iso(utcnow()), event_id],
        )
