"""The scheduled reconciliation report's records in SQLite: each run (one per fire time) and
each chat it posted to. Leases on these rows make the report run and post once across the
processes sharing the database, as the digest's do (`digests`): a lease is held by a process
(see `liveness`) and free once that process stops beating or lets go of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import sqlite_utils

from bot.records.liveness import live_cutoff, live_owners_sql
from bot.records.store import Database, from_iso, to_iso, utcnow

POSTING = "posting"
POSTED = "posted"
FAILED = "failed"


@dataclass(frozen=True)
class ReconcileRun:
    """A scheduled reconciliation as recorded."""

    id: int
    scheduled_for: datetime
    first_day: date
    last_day: date
    started_at: datetime
    finished_at: datetime | None
    accounts: int
    points: int
    mismatches: int
    error: str | None
    chats_posted: tuple[str, ...]
    chats_failed: tuple[str, ...]


class ReconcileRecords:
    """Runs and per-chat posts of the scheduled reconciliation report."""

    def __init__(self, database: Database) -> None:
        self._database = database
        db = database.db
        db["reconcile_runs"].create(
            {
                "id": int,
                "scheduled_for": str,
                "first_day": str,
                "last_day": str,
                "holder": str,
                "started_at": str,
                "finished_at": str,
                "accounts": int,
                "points": int,
                "mismatches": int,
                "error": str,
                "chats_posted": str,
                "chats_failed": str,
            },
            pk="id",
            if_not_exists=True,
        )
        # The run lease: one run per fire time.
        db["reconcile_runs"].create_index(["scheduled_for"], unique=True, if_not_exists=True)
        db["reconcile_posts"].create(
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

    # --- runs --------------------------------------------------------------------------------
    def lease_scheduled(
        self, scheduled_for: datetime, holder: str, first_day: date, last_day: date
    ) -> int | None:
        """Take the run of this fire time; None when it is finished or held by a live process
        (a holder that stopped beating loses it to whoever asks)."""
        key, now = to_iso(scheduled_for), to_iso(utcnow())
        with self._database.transaction() as db:
            row = db.execute(
                "SELECT id, finished_at, holder FROM reconcile_runs WHERE scheduled_for = ?",
                [key],
            ).fetchone()
            if row is None:
                table = db["reconcile_runs"]
                table.insert(
                    {
                        "scheduled_for": key,
                        "first_day": first_day.isoformat(),
                        "last_day": last_day.isoformat(),
                        "holder": holder,
                        "started_at": now,
                    }
                )
                return table.last_pk
            run_id, finished_at, held_by = row
            if finished_at or (held_by != holder and _alive(db, held_by)):
                return None
            db.execute(
                "UPDATE reconcile_runs SET holder = ?, started_at = ? WHERE id = ?",
                [holder, now, run_id],
            )
            return run_id

    def release(self, run_id: int) -> None:
        """Let go of an unfinished run (the process is stopping): the next start finishes it."""
        db = self._database.db
        db.execute(
            "UPDATE reconcile_runs SET holder = NULL WHERE id = ? AND finished_at IS NULL",
            [run_id],
        )
        db.execute(
            "UPDATE reconcile_posts SET holder = NULL WHERE run_id = ? AND status = ?",
            [run_id, POSTING],
        )

    def finish(
        self,
        run_id: int,
        *,
        accounts: int,
        points: int,
        mismatches: int,
        error: str | None,
        chats_posted: list[str],
        chats_failed: list[str],
    ) -> None:
        self._database.db["reconcile_runs"].update(
            run_id,
            {
                "finished_at": to_iso(utcnow()),
                "accounts": accounts,
                "points": points,
                "mismatches": mismatches,
                "error": error,
                "chats_posted": json.dumps(chats_posted),
                "chats_failed": json.dumps(chats_failed),
            },
        )

    def runs(self) -> list[ReconcileRun]:
        rows = self._database.db["reconcile_runs"].rows_where(order_by="id")
        return [_run(row) for row in rows]

    def last_scheduled_for(self) -> datetime | None:
        """The latest fire time whose run finished (a run cut off does not count, so the next
        start catches it up)."""
        row = self._database.db.execute(
            "SELECT MAX(scheduled_for) FROM reconcile_runs WHERE finished_at IS NOT NULL"
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    # --- per-chat posts ----------------------------------------------------------------------
    def lease_post(self, scheduled_for: datetime, chat_id: str, run_id: int, holder: str) -> bool:
        """Take the right to post this fire time's report to this chat; False if it is posted,
        failed for good, or being posted by a live holder."""
        key = to_iso(scheduled_for)
        with self._database.transaction() as db:
            row = db.execute(
                "SELECT status, holder FROM reconcile_posts WHERE scheduled_for = ?"
                " AND chat_id = ?",
                [key, chat_id],
            ).fetchone()
            if row is not None:
                status, held_by = row
                if status != POSTING or (held_by != holder and _alive(db, held_by)):
                    return False
            db["reconcile_posts"].upsert(
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
        self._database.db["reconcile_posts"].update(
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
            self._database.db["reconcile_posts"].rows_where(
                "scheduled_for = ?", [to_iso(scheduled_for)], order_by="chat_id"
            )
        )


def _alive(db: sqlite_utils.Database, holder: str | None) -> bool:
    if holder is None:
        return False
    row = db.execute(
        f"SELECT 1 FROM ({live_owners_sql()}) WHERE owner = ?", [live_cutoff(), holder]
    ).fetchone()
    return row is not None


def _run(row: dict) -> ReconcileRun:
    return ReconcileRun(
        id=row["id"],
        scheduled_for=from_iso(row["scheduled_for"]),
        first_day=date.fromisoformat(row["first_day"]),
        last_day=date.fromisoformat(row["last_day"]),
        started_at=from_iso(row["started_at"]),
        finished_at=from_iso(row["finished_at"]),
        accounts=row["accounts"] or 0,
        points=row["points"] or 0,
        mismatches=row["mismatches"] or 0,
        error=row["error"],
        chats_posted=tuple(json.loads(row["chats_posted"] or "[]")),
        chats_failed=tuple(json.loads(row["chats_failed"] or "[]")),
    )
