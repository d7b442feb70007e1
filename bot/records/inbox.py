"""The event inbox: verified events are written here before Feishu gets its 200.

Feishu delivers at least once and retries for hours, so an event is taken in once (by
`header.event_id`, and for messages also by `message_id`), and whatever was queued or in progress
when the process stopped is worked off after the next start. An event is claimed by one
process (its `owner`, see `liveness`); a claim is taken back only when its owner has stopped
beating, never while the owner lives, however long the work takes. Every change to a claimed
event names its owner, so a process whose claim was taken back cannot overwrite the new
owner's outcome.

The bot also queues its own follow-up work here (`enqueue`: refreshing older cards, telling a
person the truth after an outage), under event types starting with `bot.`, so that it shares
the same durability and retries.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from bot.records.liveness import live_cutoff, live_owners_sql
from bot.records.store import Database, from_iso, to_iso, utcnow

QUEUED, WORKING, DONE, FAILED, PENDING = "queued", "working", "done", "failed", "pending"
INTERNAL = "bot."  # event types of the bot's own follow-up work
ANSWER_INTERIM, ANSWER_REPLY = "interim", "reply"  # how a message event is answered
# Well past Feishu's redelivery window (about 7 hours): a redelivery is still recognised, and
# command texts (emails, mobiles) are not kept for ever.
KEEP_FINISHED = timedelta(days=30)


@dataclass(frozen=True)
class InboxEvent:
    event_id: str
    event_type: str
    payload: str
    attempts: int
    received_at: datetime


class Press(Enum):
    """What `begin_press` found for a card callback."""

    NEW = "new"  # first delivery: carry it out
    RETAKEN = "retaken"  # begun by a process that died (or failed): carry it out now
    BUSY = "busy"  # being carried out by a live process
    DONE = "done"  # carried out already


class Inbox:
    def __init__(self, database: Database, owner: str | None = None) -> None:
        self._database = database
        self.owner = owner or uuid.uuid4().hex
        # Called after an event is queued, to wake the workers.
        self.on_new: Callable[[], None] | None = None

    # --- taking events in --------------------------------------------------------------------
    def accept(
        self, event_id: str, event_type: str, payload: str, message_id: str | None = None
    ) -> bool:
        """Store a new event; False when this event (or this message) was taken in before."""
        if not self._insert(event_id, event_type, payload, message_id, None):
            return False
        self._notify()
        return True

    def enqueue(
        self,
        event_type: str,
        payload: dict,
        *,
        key: str | None = None,
        delay: timedelta | None = None,
        notify: bool = True,
        again: bool = False,
    ) -> bool:
        """Queue the bot's own follow-up work; `key` makes it once-only (False: queued before).
        With `again`, work of that key that has ended (done, or failed after its retries) is
        queued once more, with a fresh retry window; work still queued or under way is left as
        it is. Inside a transaction pass `notify=False` and call `notify()` after the commit."""
        assert event_type.startswith(INTERNAL), event_type
        event_id = f"{event_type}:{key or uuid.uuid4().hex}"
        not_before = to_iso(utcnow() + delay) if delay else None
        if not self._insert(event_id, event_type, json.dumps(payload), None, not_before) and not (
            again and self._queue_again(event_id, not_before)
        ):
            return False
        if notify:
            self._notify()
        return True

    def notify(self) -> None:
        """Wake the workers: something was queued."""
        self._notify()

    def _insert(
        self,
        event_id: str,
        event_type: str,
        payload: str,
        message_id: str | None,
        not_before: str | None,
    ) -> bool:
        now = to_iso(utcnow())
        try:
            self._database.db.execute(
                "INSERT INTO events (event_id, event_type, message_id, payload, status, attempts,"
                " not_before, received_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                [event_id, event_type, message_id, payload, QUEUED, not_before, now, now],
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def _queue_again(self, event_id: str, not_before: str | None) -> bool:
        now = to_iso(utcnow())
        cursor = self._database.db.execute(
            "UPDATE events SET status = ?, owner = NULL, attempts = 0, error = NULL,"
            " not_before = ?, received_at = ?, updated_at = ? WHERE event_id = ?"
            " AND status IN (?, ?)",
            [QUEUED, not_before, now, now, event_id, DONE, FAILED],
        )
        return cursor.rowcount == 1

    def _notify(self) -> None:
        if self.on_new is not None:
            self.on_new()

    # --- working them off --------------------------------------------------------------------
    def claim(self) -> InboxEvent | None:
        """Take the oldest due event for work, atomically across threads and processes."""
        now = to_iso(utcnow())
        row = self._database.db.execute(
            "UPDATE events SET status = ?, owner = ?, attempts = attempts + 1, updated_at = ?"
            " WHERE event_id = (SELECT event_id FROM events WHERE status = ?"
            " AND (not_before IS NULL OR not_before <= ?) ORDER BY rowid LIMIT 1)"
            " RETURNING event_id, event_type, payload, attempts, received_at",
            [WORKING, self.owner, now, QUEUED, now],
        ).fetchone()
        if row is None:
            return None
        event_id, event_type, payload, attempts, received_at = row
        return InboxEvent(event_id, event_type, payload, attempts, from_iso(received_at))

    def finish(self, event_id: str) -> bool:
        return self._settle(event_id, DONE, None)

    def fail(self, event_id: str, reason: str) -> bool:
        return self._settle(event_id, FAILED, reason)

    def retry_later(self, event_id: str, reason: str, delay: timedelta) -> bool:
        """Back in the queue, but not to be claimed before `delay` has passed."""
        return self._settle(event_id, QUEUED, reason, not_before=to_iso(utcnow() + delay))

    def release(self, event_id: str) -> bool:
        """Back in the queue at once, this attempt not counted (the process is stopping)."""
        cursor = self._database.db.execute(
            "UPDATE events SET status = ?, owner = NULL, attempts = MAX(attempts - 1, 0),"
            " updated_at = ? WHERE event_id = ? AND status = ? AND owner = ?",
            [QUEUED, to_iso(utcnow()), event_id, WORKING, self.owner],
        )
        return cursor.rowcount == 1

    def _settle(
        self, event_id: str, status: str, error: str | None, *, not_before: str | None = None
    ) -> bool:
        """Move one of our claims on; False when it is no longer ours (taken back)."""
        cursor = self._database.db.execute(
            "UPDATE events SET status = ?, error = ?, owner = NULL, not_before = ?, updated_at = ?"
            " WHERE event_id = ? AND status = ? AND owner = ?",
            [status, error, not_before, to_iso(utcnow()), event_id, WORKING, self.owner],
        )
        return cursor.rowcount == 1

    def requeue_orphans(self) -> int:
        """Put claims back whose owner has stopped beating (it died, or stopped uncleanly)."""
        cursor = self._database.db.execute(
            "UPDATE events SET status = ?, owner = NULL, updated_at = ?"
            f" WHERE status = ? AND (owner IS NULL OR owner NOT IN ({live_owners_sql()}))",
            [QUEUED, to_iso(utcnow()), WORKING, live_cutoff()],
        )
        if cursor.rowcount:
            self._notify()
        return cursor.rowcount

    def wake_waiting(self) -> int:
        """Feishu answers again: make everything waiting out a backoff due now. Work queued
        for a later time and not yet tried (an interim answer, a withdrawal's expiry) keeps
        its time."""
        cursor = self._database.db.execute(
            "UPDATE events SET not_before = NULL WHERE status = ? AND not_before > ?"
            " AND attempts > 0",
            [QUEUED, to_iso(utcnow())],
        )
        if cursor.rowcount:
            self._notify()
        return cursor.rowcount

    # --- what a command left behind ----------------------------------------------------------
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

    def begin_once(self, event_id: str) -> bool:
        """Mark that work which must not run twice (a create) begins now; False when an
        earlier attempt began it and was cut off before its outcome was known."""
        cursor = self._database.db.execute(
            "UPDATE events SET once_started_at = ? WHERE event_id = ? AND once_started_at IS NULL",
            [to_iso(utcnow()), event_id],
        )
        return cursor.rowcount == 1

    def clear_once(self, event_id: str) -> None:
        """The once-only work certainly did not take effect: a later attempt may begin it."""
        self._database.db.execute(
            "UPDATE events SET once_started_at = NULL WHERE event_id = ?", [event_id]
        )

    def claim_answer(self, event_id: str, via: str) -> tuple[str | None, str | None]:
        """Decide, once, how an event is answered (`ANSWER_INTERIM`: a "still trying" message
        that the result later replaces; `ANSWER_REPLY`: a reply with the result). Returns the
        way decided first, here or by another worker, and the message noted for it."""
        db = self._database.db
        db.execute(
            "UPDATE events SET answer_via = ? WHERE event_id = ? AND answer_via IS NULL",
            [via, event_id],
        )
        row = db.execute(
            "SELECT answer_via, answer_message_id FROM events WHERE event_id = ?", [event_id]
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def note_answer(self, event_id: str, message_id: str) -> None:
        """The message that answers the event (for an interim: the one the result replaces)."""
        self._database.db.execute(
            "UPDATE events SET answer_message_id = ? WHERE event_id = ?", [message_id, event_id]
        )

    def event(self, event_id: str) -> dict | None:
        rows = list(self._database.db["events"].rows_where("event_id = ?", [event_id]))
        return rows[0] if rows else None

    # --- card callbacks, handled inline ------------------------------------------------------
    def begin_press(self, event_id: str, event_type: str) -> Press:
        """Record a card callback as pending before its work; redeliveries find it."""
        now = to_iso(utcnow())
        db = self._database.db
        try:
            db.execute(
                "INSERT INTO events (event_id, event_type, status, owner, attempts, received_at,"
                " updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
                [event_id, event_type, PENDING, self.owner, now, now],
            )
            return Press.NEW
        except sqlite3.IntegrityError:
            pass
        cursor = db.execute(
            "UPDATE events SET status = ?, owner = ?, attempts = attempts + 1, updated_at = ?"
            " WHERE event_id = ? AND (status = ? OR (status = ? AND (owner IS NULL"
            f" OR owner NOT IN ({live_owners_sql()}))))",
            [PENDING, self.owner, now, event_id, FAILED, PENDING, live_cutoff()],
        )
        if cursor.rowcount == 1:
            return Press.RETAKEN
        status = db.execute("SELECT status FROM events WHERE event_id = ?", [event_id]).fetchone()
        return Press.DONE if status and status[0] == DONE else Press.BUSY

    def end_press(self, event_id: str, *, ok: bool, error: str | None = None) -> None:
        self._database.db.execute(
            "UPDATE events SET status = ?, owner = NULL, error = ?, updated_at = ?"
            " WHERE event_id = ? AND owner = ?",
            [DONE if ok else FAILED, error, to_iso(utcnow()), event_id, self.owner],
        )

    # --- looking on --------------------------------------------------------------------------
    def counts(self, *, internal: bool = False) -> dict[str, int]:
        """Events by status: Feishu's, or with `internal` the bot's own follow-up work too."""
        where = "" if internal else f" WHERE event_type NOT LIKE '{INTERNAL}%'"
        rows = self._database.db.execute(
            f"SELECT status, count(*) FROM events{where} GROUP BY status"
        ).fetchall()
        return dict(rows)

    def oldest_queued(self) -> datetime | None:
        """When the longest-waiting queued event was received."""
        row = self._database.db.execute(
            "SELECT MIN(received_at) FROM events WHERE status = ?", [QUEUED]
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def prune(self, older_than: timedelta = KEEP_FINISHED) -> int:
        """Forget finished events (and the command texts they hold) past their use."""
        cursor = self._database.db.execute(
            "DELETE FROM events WHERE status IN (?, ?) AND updated_at < ?",
            [DONE, FAILED, to_iso(utcnow() - older_than)],
        )
        return cursor.rowcount
