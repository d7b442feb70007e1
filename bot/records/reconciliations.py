"""The scheduled reconciliation report's records in SQLite: each run (one per fire time, with the
month it covers and what Feishu said of it) and each chat it posted to. The report runs and
posts once across the processes sharing the database by the leases every scheduled report takes
(`schedule_leases`), on tables of its own."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from bot.records.schedule_leases import ScheduleRecords
from bot.records.schema import reconcile_posts, reconcile_runs
from bot.records.store import Database, from_iso


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


class ReconcileRecords(ScheduleRecords):
    """Runs and per-chat posts of the scheduled reconciliation report."""

    def __init__(self, database: Database) -> None:
        super().__init__(database, reconcile_runs, reconcile_posts)

    def lease_scheduled(
        self,
        scheduled_for: datetime,
        holder: str,
        first_day: date,
        last_day: date,
        *,
        stopping: threading.Event | None = None,
    ) -> int | None:
        """Take the run of this fire time, which covers `first_day` to `last_day`; None when
        it is finished or held by a live process (with `stopping`: waiting while a live
        process holds it, see `lease_run`)."""
        return self.lease_run(
            scheduled_for,
            holder,
            stopping=stopping,
            first_day=first_day.isoformat(),
            last_day=last_day.isoformat(),
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
        self.finish_run(
            run_id,
            accounts=accounts,
            points=points,
            mismatches=mismatches,
            error=error,
            chats_posted=chats_posted,
            chats_failed=chats_failed,
        )

    def runs(self) -> list[ReconcileRun]:
        rows = self._database.rows(sa.select(reconcile_runs).order_by(reconcile_runs.c.id))
        return [_run(row) for row in rows]


def _run(row: sa.RowMapping) -> ReconcileRun:
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
