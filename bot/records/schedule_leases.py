"""What every scheduled report records alike, in tables of its own: a run per fire time and a
post per fire time and chat, each under a lease, so that the report runs and posts once across
the processes sharing the database. The status digest and the reconciliation report keep the
same columns and take the leases the same way, so that lives here once (`ScheduleRecords`,
`ChatPosts`). A lease is held by a process (see `liveness`): a live holder keeps it, a holder
that stopped beating loses it to whoever asks, and what is finished (a run, a chat posted to or
failed for good) is never taken again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import sqlite_utils

from bot.records.liveness import live_cutoff, live_owners_sql
from bot.records.store import Database, create_table, from_iso, to_iso, utcnow

POSTING = "posting"
POSTED = "posted"
FAILED = "failed"


class ScheduleRecords:
    """What a scheduled report records as every other does; its own records class extends it.

    The run table `runs` has a row per fire time: the run lease (`lease_run`, `release`), when
    it finished and the chats it posted to or could not, and the report's own `columns`, which
    its class writes. Taking a run stamps `stamped` with the time. The per-chat posts are in
    `chat_posts`, on the table `posts`."""

    def __init__(
        self,
        database: Database,
        runs: str,
        posts: str,
        columns: dict[str, type],
        *,
        stamped: tuple[str, ...] = ("started_at",),
    ) -> None:
        self._database = database
        self._runs = runs
        self._stamped = stamped
        lease = {"scheduled_for": str, "holder": str, **dict.fromkeys(stamped, str)}
        # A database from an older version gains the report's new columns in place.
        create_table(
            database.db,
            runs,
            {
                "id": int,
                **lease,
                "finished_at": str,
                **columns,
                "chats_posted": str,
                "chats_failed": str,
            },
            pk="id",
        )
        # The run lease: one run per fire time. NULLs (a digest on demand) never clash.
        database.db[runs].create_index(["scheduled_for"], unique=True, if_not_exists=True)
        self.chat_posts = ChatPosts(database, posts)

    def lease_run(self, scheduled_for: datetime, holder: str, **columns: object) -> int | None:
        """Take the run of this fire time, created with `columns` when it is new; None when it
        is finished or held by a live process (one that stopped beating loses it)."""
        key, now = to_iso(scheduled_for), to_iso(utcnow())
        stamps = dict.fromkeys(self._stamped, now)
        with self._database.transaction() as db:
            row = db.execute(
                f"SELECT id, finished_at, holder FROM {self._runs} WHERE scheduled_for = ?",
                [key],
            ).fetchone()
            if row is None:
                table = db[self._runs]
                table.insert({**columns, "scheduled_for": key, "holder": holder, **stamps})
                return table.last_pk
            run_id, finished_at, held_by = row
            if finished_at or (held_by != holder and _alive(db, held_by)):
                return None
            assignments = ", ".join(f"{column} = ?" for column in ("holder", *stamps))
            db.execute(
                f"UPDATE {self._runs} SET {assignments} WHERE id = ?",
                [holder, *stamps.values(), run_id],
            )
            return run_id

    def release(self, run_id: int) -> None:
        """Let go of an unfinished run and its posts (the process is stopping): the next start
        finishes it."""
        self._database.db.execute(
            f"UPDATE {self._runs} SET holder = NULL WHERE id = ? AND finished_at IS NULL",
            [run_id],
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
        self._database.db[self._runs].update(
            run_id,
            {
                "finished_at": to_iso(utcnow()),
                **columns,
                "chats_posted": json.dumps(list(chats_posted)),
                "chats_failed": json.dumps(list(chats_failed)),
            },
        )

    def last_scheduled_for(self) -> datetime | None:
        """The latest fire time whose run finished (a run cut off does not count, so the next
        start catches it up; a digest on demand has no fire time)."""
        row = self._database.db.execute(
            f"SELECT MAX(scheduled_for) FROM {self._runs} WHERE finished_at IS NOT NULL"
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def posts(self, scheduled_for: datetime) -> list[dict]:
        return self.chat_posts.posts(scheduled_for)


class ChatPosts:
    """The per-chat post leases of one report, in `table` (created here)."""

    def __init__(self, database: Database, table: str) -> None:
        self._database = database
        self._table = table
        database.db[table].create(
            {
                "scheduled_for": str,
                "chat_id": str,
                "run_id": int,
                "holder": str,
                "status": str,  # posting | posted | failed
                "message_id": str,
                "error": str,
                "updated_at": str,
            },
            pk=("scheduled_for", "chat_id"),
            if_not_exists=True,
        )

    def lease_post(self, scheduled_for: datetime, chat_id: str, run_id: int, holder: str) -> bool:
        """Take the right to post this fire time's report to this chat; False if it is posted,
        failed for good, or being posted by a live holder."""
        key = to_iso(scheduled_for)
        with self._database.transaction() as db:
            row = db.execute(
                f"SELECT status, holder FROM {self._table} WHERE scheduled_for = ? AND chat_id = ?",
                [key, chat_id],
            ).fetchone()
            if row is not None:
                status, held_by = row
                if status != POSTING or (held_by != holder and _alive(db, held_by)):
                    return False
            db[self._table].upsert(
                {
                    "scheduled_for": key,
                    "chat_id": chat_id,
                    "run_id": run_id,
                    "holder": holder,
                    "status": POSTING,
                    "updated_at": to_iso(utcnow()),
                },
                pk=("scheduled_for", "chat_id"),
            )
            return True

    def end_post(
        self,
        scheduled_for: datetime,
        chat_id: str,
        *,
        message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        self._database.db[self._table].update(
            (to_iso(scheduled_for), chat_id),
            {
                "status": FAILED if error else POSTED,
                "message_id": message_id,
                "error": error,
                "updated_at": to_iso(utcnow()),
            },
        )

    def posts(self, scheduled_for: datetime) -> list[dict]:
        return list(
            self._database.db[self._table].rows_where(
                "scheduled_for = ?", [to_iso(scheduled_for)], order_by="chat_id"
            )
        )

    def release_posts(self, run_id: int) -> None:
        """Let go of the posts of a run cut off before it could make them."""
        self._database.db.execute(
            f"UPDATE {self._table} SET holder = NULL WHERE run_id = ? AND status = ?",
            [run_id, POSTING],
        )


def _alive(db: sqlite_utils.Database, holder: str | None) -> bool:
    if holder is None:
        return False
    row = db.execute(
        f"SELECT 1 FROM ({live_owners_sql()}) WHERE owner = ?", [live_cutoff(), holder]
    ).fetchone()
    return row is not None
