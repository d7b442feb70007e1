"""What every scheduled report records alike, in tables of its own: a run per fire time and a
post per fire time and chat, each under a lease, so that the report runs and posts once across
the processes sharing the database. The status digest and the reconciliation report keep the
same columns and take the leases the same way, so that lives here once (`ScheduleRecords`,
`ChatPosts`). A lease is held by a process (see `liveness`): a live holder keeps it, a holder
that stopped beating loses it to whoever asks, and what is finished (a run, a chat posted to or
failed for good) is never taken again."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from bot.records import engines
from bot.records.liveness import BEAT_EVERY, live_owners
from bot.records.schema import owners
from bot.records.store import Database, Tx, from_iso, to_iso, utcnow

POSTING = "posting"
POSTED = "posted"
FAILED = "failed"


class ScheduleRecords:
    """What a scheduled report records as every other does; its own records class extends it.

    The run table `runs` (bot/records/schema.py) has a row per fire time: the run lease
    (`lease_run`, `release`), when it finished and the chats it posted to or could not, and the
    report's own columns, which its class writes. Taking a run stamps `stamped` with the time.
    The per-chat posts are in `chat_posts`, on the table `posts`."""

    def __init__(
        self,
        database: Database,
        runs: sa.Table,
        posts: sa.Table,
        *,
        stamped: tuple[str, ...] = ("started_at",),
    ) -> None:
        self._database = database
        self._runs = runs
        self._stamped = stamped
        self.chat_posts = ChatPosts(database, posts)

    def lease_run(
        self,
        scheduled_for: datetime,
        holder: str,
        *,
        stopping: threading.Event | None = None,
        **columns: object,
    ) -> int | None:
        """Take the run of this fire time, created with `columns` when it is new; None when it
        is finished or held by a live process (one that stopped beating loses it). With
        `stopping`: while another live process holds it unfinished, ask again every beat, so
        that a holder that dies has its run finished here within a liveness timeout; None
        once it is finished, or when `stopping` is set."""
        while True:
            run_id = self._lease_run_once(scheduled_for, holder, columns)
            if run_id is not None or stopping is None or self._finished(scheduled_for):
                return run_id
            if stopping.wait(BEAT_EVERY.total_seconds()):
                return None

    def _finished(self, scheduled_for: datetime) -> bool:
        runs = self._runs
        finished = self._database.scalar(
            sa.select(runs.c.finished_at).where(runs.c.scheduled_for == to_iso(scheduled_for))
        )
        return finished is not None

    def _lease_run_once(
        self, scheduled_for: datetime, holder: str, columns: dict[str, object]
    ) -> int | None:
        key, now = to_iso(scheduled_for), to_iso(utcnow())
        stamps = dict.fromkeys(self._stamped, now)
        runs = self._runs
        with self._database.transaction() as db:
            engines.serialize(db.conn, f"{runs.name}:{key}")
            row = db.execute(
                sa.select(runs.c.id, runs.c.finished_at, runs.c.holder).where(
                    runs.c.scheduled_for == key
                )
            ).first()
            if row is None:
                return db.execute(
                    runs.insert()
                    .values(**columns, scheduled_for=key, holder=holder, **stamps)
                    .returning(runs.c.id)
                ).scalar()
            run_id, finished_at, held_by = row
            if finished_at or (held_by != holder and _alive(db, held_by)):
                return None
            db.execute(runs.update().where(runs.c.id == run_id).values(holder=holder, **stamps))
            return run_id

    def release(self, run_id: int) -> None:
        """Let go of an unfinished run and its posts (the process is stopping): the next start
        finishes it."""
        runs = self._runs
        self._database.run(
            runs.update()
            .where(runs.c.id == run_id, runs.c.finished_at.is_(None))
            .values(holder=None)
        )
        self.chat_posts.release_posts(run_id)

    def finish_run(
        self,
        run_id: int,
        *,
        chats_posted: Sequence[object],
        chats_failed: Sequence[object],
        **columns: object,
    ) -> None:
        """Record the run finished, with the chats it posted to and could not, and `columns`."""
        self._database.run(
            self._runs.update()
            .where(self._runs.c.id == run_id)
            .values(
                finished_at=to_iso(utcnow()),
                **columns,
                chats_posted=json.dumps(list(chats_posted)),
                chats_failed=json.dumps(list(chats_failed)),
            )
        )

    def last_scheduled_for(self) -> datetime | None:
        """The latest fire time whose run finished (a run cut off does not count, so the next
        start catches it up; a digest on demand has no fire time)."""
        runs = self._runs
        return from_iso(
            self._database.scalar(
                sa.select(sa.func.max(runs.c.scheduled_for)).where(runs.c.finished_at.is_not(None))
            )
        )

    def posts(self, scheduled_for: datetime) -> list[dict]:
        return self.chat_posts.posts(scheduled_for)


class ChatPosts:
    """The per-chat post leases of one report, in `table`."""

    def __init__(self, database: Database, table: sa.Table) -> None:
        self._database = database
        self._table = table

    def lease_post(self, scheduled_for: datetime, chat_id: str, run_id: int, holder: str) -> bool:
        """Take the right to post this fire time's report to this chat; False if it is posted,
        failed for good, or being posted by a live holder."""
        key = to_iso(scheduled_for)
        posts = self._table
        with self._database.transaction() as db:
            engines.serialize(db.conn, f"{posts.name}:{key}:{chat_id}")
            row = db.execute(
                sa.select(posts.c.status, posts.c.holder).where(
                    posts.c.scheduled_for == key, posts.c.chat_id == chat_id
                )
            ).first()
            if row is not None:
                status, held_by = row
                if status != POSTING or (held_by != holder and _alive(db, held_by)):
                    return False
            values = {
                "scheduled_for": key,
                "chat_id": chat_id,
                "run_id": run_id,
                "holder": holder,
                "status": POSTING,
                "updated_at": to_iso(utcnow()),
            }
            db.execute(engines.upsert(db, posts, values, ["scheduled_for", "chat_id"]))
            return True

    def end_post(
        self,
        scheduled_for: datetime,
        chat_id: str,
        *,
        message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        posts = self._table
        self._database.run(
            posts.update()
            .where(posts.c.scheduled_for == to_iso(scheduled_for), posts.c.chat_id == chat_id)
            .values(
                status=FAILED if error else POSTED,
                message_id=message_id,
                error=error,
                updated_at=to_iso(utcnow()),
            )
        )

    def posts(self, scheduled_for: datetime) -> list[dict]:
        posts = self._table
        rows = self._database.rows(
            sa.select(posts)
            .where(posts.c.scheduled_for == to_iso(scheduled_for))
            .order_by(posts.c.chat_id)
        )
        return [dict(row) for row in rows]

    def release_posts(self, run_id: int) -> None:
        """Let go of the posts of a run cut off before it could make them."""
        posts = self._table
        self._database.run(
            posts.update()
            .where(posts.c.run_id == run_id, posts.c.status == POSTING)
            .values(holder=None)
        )


def _alive(db: Tx, holder: str | None) -> bool:
    if holder is None:
        return False
    live = live_owners().where(owners.c.owner == holder)
    return db.execute(live).first() is not None
