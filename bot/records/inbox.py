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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import sqlalchemy as sa

from bot.records import engines
from bot.records.liveness import dead
from bot.records.schema import events
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
        row = {
            "event_id": event_id,
            "event_type": event_type,
            "message_id": message_id,
            "payload": payload,
            "status": QUEUED,
            "attempts": 0,
            "not_before": not_before,
            "received_at": now,
            "updated_at": now,
        }
        database = self._database
        return database.run(engines.insert_ignore(database.engine, events, row)).first() is not None

    def _queue_again(self, event_id: str, not_before: str | None) -> bool:
        now = to_iso(utcnow())
        return _one(
            self._database,
            events.update()
            .where(events.c.event_id == event_id, events.c.status.in_((DONE, FAILED)))
            .values(
                status=QUEUED,
                owner=None,
                attempts=0,
                error=None,
                not_before=not_before,
                received_at=now,
                updated_at=now,
            ),
        )

    def _notify(self) -> None:
        if self.on_new is not None:
            self.on_new()

    # --- working them off --------------------------------------------------------------------
    def claim(self) -> InboxEvent | None:
        """Take the oldest due event for work, atomically across threads and processes."""
        now = to_iso(utcnow())
        engine = self._database.engine
        due = engines.claimable(
            sa.select(events.c.event_id)
            .where(
                events.c.status == QUEUED,
                sa.or_(events.c.not_before.is_(None), events.c.not_before <= now),
            )
            .order_by(engines.insertion_order(events, engine))
            .limit(1),
            engine,
        )
        row = self._database.run(
            events.update()
            .where(events.c.event_id == due.scalar_subquery(), events.c.status == QUEUED)
            .values(
                status=WORKING, owner=self.owner, attempts=events.c.attempts + 1, updated_at=now
            )
            .returning(
                events.c.event_id,
                events.c.event_type,
                events.c.payload,
                events.c.attempts,
                events.c.received_at,
            )
        ).first()
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
        return _one(
            self._database,
            events.update()
            .where(*self._mine(event_id))
            .values(
                status=QUEUED,
                owner=None,
                attempts=sa.case((events.c.attempts > 1, events.c.attempts - 1), else_=0),
                updated_at=to_iso(utcnow()),
            ),
        )

    def _mine(self, event_id: str) -> tuple[sa.ColumnElement, ...]:
        """The event, while it is our claim."""
        return (
            events.c.event_id == event_id,
            events.c.status == WORKING,
            events.c.owner == self.owner,
        )

    def _settle(
        self, event_id: str, status: str, error: str | None, *, not_before: str | None = None
    ) -> bool:
        """Move one of our claims on; False when it is no longer ours (taken back)."""
        return _one(
            self._database,
            events.update()
            .where(*self._mine(event_id))
            .values(
                status=status,
                error=error,
                owner=None,
                not_before=not_before,
                updated_at=to_iso(utcnow()),
            ),
        )

    def requeue_orphans(self) -> int:
        """Put claims back whose owner has stopped beating (it died, or stopped uncleanly)."""
        count = self._database.run(
            events.update()
            .where(events.c.status == WORKING, dead(events.c.owner))
            .values(status=QUEUED, owner=None, updated_at=to_iso(utcnow()))
        ).rowcount
        if count:
            self._notify()
        return count

    def wake_waiting(self) -> int:
        """Feishu answers again: make everything waiting out a backoff due now. Work queued
        for a later time and not yet tried (an interim answer, a withdrawal's expiry) keeps
        its time."""
        count = self._database.run(
            events.update()
            .where(
                events.c.status == QUEUED,
                events.c.not_before > to_iso(utcnow()),
                events.c.attempts > 0,
            )
            .values(not_before=None)
        ).rowcount
        if count:
            self._notify()
        return count

    # --- what a command left behind ----------------------------------------------------------
    def save_reply(self, event_id: str, reply: dict) -> None:
        """Keep the answer worked out for an event, so a retry only re-sends it."""
        self._set(event_id, reply=json.dumps(reply))

    def saved_reply(self, event_id: str) -> dict | None:
        reply = self._database.scalar(
            sa.select(events.c.reply).where(events.c.event_id == event_id)
        )
        return json.loads(reply) if reply else None

    def _set(self, event_id: str, *conditions: sa.ColumnElement, **values: object) -> bool:
        """Set columns of one event (when `conditions` hold); whether it changed."""
        return _one(
            self._database,
            events.update().where(events.c.event_id == event_id, *conditions).values(**values),
        )

    def begin_once(self, event_id: str) -> bool:
        """Mark that work which must not run twice (a create) begins now; False when an
        earlier attempt began it and was cut off before its outcome was known."""
        return self._set(
            event_id, events.c.once_started_at.is_(None), once_started_at=to_iso(utcnow())
        )

    def clear_once(self, event_id: str) -> None:
        """The once-only work certainly did not take effect: a later attempt may begin it."""
        self._set(event_id, once_started_at=None)

    def claim_answer(self, event_id: str, via: str) -> tuple[str | None, str | None]:
        """Decide, once, how an event is answered (`ANSWER_INTERIM`: a "still trying" message
        that the result later replaces; `ANSWER_REPLY`: a reply with the result). Returns the
        way decided first, here or by another worker, and the message noted for it."""
        self._set(event_id, events.c.answer_via.is_(None), answer_via=via)
        row = self._database.run(
            sa.select(events.c.answer_via, events.c.answer_message_id).where(
                events.c.event_id == event_id
            )
        ).first()
        return (row[0], row[1]) if row else (None, None)

    def note_answer(self, event_id: str, message_id: str) -> None:
        """The message that answers the event (for an interim: the one the result replaces)."""
        self._set(event_id, answer_message_id=message_id)

    def event(self, event_id: str) -> dict | None:
        rows = self._database.rows(sa.select(events).where(events.c.event_id == event_id))
        return dict(rows[0]) if rows else None

    # --- card callbacks, handled inline ------------------------------------------------------
    def begin_press(self, event_id: str, event_type: str) -> Press:
        """Record a card callback as pending before its work; redeliveries find it."""
        now = to_iso(utcnow())
        database = self._database
        row = {
            "event_id": event_id,
            "event_type": event_type,
            "status": PENDING,
            "owner": self.owner,
            "attempts": 1,
            "received_at": now,
            "updated_at": now,
        }
        if database.run(engines.insert_ignore(database.engine, events, row)).first() is not None:
            return Press.NEW
        retaken = self._set(
            event_id,
            sa.or_(
                events.c.status == FAILED,
                sa.and_(events.c.status == PENDING, dead(events.c.owner)),
            ),
            status=PENDING,
            owner=self.owner,
            attempts=events.c.attempts + 1,
            updated_at=now,
        )
        if retaken:
            return Press.RETAKEN
        status = database.scalar(sa.select(events.c.status).where(events.c.event_id == event_id))
        return Press.DONE if status == DONE else Press.BUSY

    def end_press(self, event_id: str, *, ok: bool, error: str | None = None) -> None:
        self._set(
            event_id,
            events.c.owner == self.owner,
            status=DONE if ok else FAILED,
            owner=None,
            error=error,
            updated_at=to_iso(utcnow()),
        )

    # --- looking on --------------------------------------------------------------------------
    def counts(self, *, internal: bool = False) -> dict[str, int]:
        """Events by status: Feishu's, or with `internal` the bot's own follow-up work too."""
        query = sa.select(events.c.status, sa.func.count()).group_by(events.c.status)
        if not internal:
            query = query.where(events.c.event_type.not_like(f"{INTERNAL}%"))
        return {status: count for status, count in self._database.run(query).all()}

    def oldest_queued(self) -> datetime | None:
        """When the longest-waiting queued event was received."""
        oldest = self._database.scalar(
            sa.select(sa.func.min(events.c.received_at)).where(events.c.status == QUEUED)
        )
        return from_iso(oldest)

    def prune(self, older_than: timedelta = KEEP_FINISHED) -> int:
        """Forget finished events (and the command texts they hold) past their use."""
        return self._database.run(
            events.delete().where(
                events.c.status.in_((DONE, FAILED)),
                events.c.updated_at < to_iso(utcnow() - older_than),
            )
        ).rowcount


def _one(database: Database, statement: sa.Update) -> bool:
    """Run an UPDATE of one event; whether it changed it (its conditions held)."""
    return database.run(statement).rowcount == 1
