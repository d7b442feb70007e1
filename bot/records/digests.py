"""The digest's own records in SQLite: each run, the snapshots it took, and each chat it posted
to. A scheduled digest runs and posts once across processes by the leases every scheduled report
takes (`schedule_leases`), on the digest's own tables; what is the digest's alone is here: runs
on demand beside the scheduled ones, the account snapshots the next digest compares with, and
the chats a run could not post to, which the next card names."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from bot.domain.accounts import Account, AccountStatus, Cash
from bot.domain.digest_model import Totals, totals
from bot.records import engines
from bot.records.schedule_leases import ScheduleRecords
from bot.records.schema import digest_posts, digest_runs, digest_snapshots
from bot.records.store import Database, from_iso, to_iso, utcnow

runs, snapshots = digest_runs, digest_snapshots

SCHEDULED = "scheduled"
ON_DEMAND = "on_demand"
# Snapshots older than this are pruned, but for those of the latest finished scheduled run,
# the baseline of the next one.
KEEP_SNAPSHOTS = timedelta(days=60)
# The digest's chart covers this many scheduled digests.
CHART_RUNS = 30


@dataclass(frozen=True)
class Run:
    """A digest run as recorded."""

    id: int
    kind: str
    scheduled_for: datetime | None
    started_at: datetime
    # The digest's one reading of the clock: its header, its snapshots and its chart point.
    # None for a run that took no snapshots yet, or recorded before the moment was kept.
    taken_at: datetime | None
    finished_at: datetime | None
    fetched: int
    failed: int
    chats_posted: tuple[str, ...]
    chats_failed: tuple[tuple[str, ...], ...]  # (chat_id, reason in English, in Chinese)

    @property
    def moment(self) -> datetime:
        """The moment its card named: when it read the accounts (for a run recorded before
        that was kept, its fire time or its start)."""
        return self.taken_at or self.scheduled_for or self.started_at


class DigestRecords(ScheduleRecords):
    """Runs, snapshots and per-chat posts of the status digest."""

    def __init__(self, database: Database) -> None:
        super().__init__(
            database,
            digest_runs,
            digest_posts,
            # Nothing reads heartbeat_at any more; it is stamped still, so rows stay as they were.
            stamped=("started_at", "heartbeat_at"),
        )

    # --- runs --------------------------------------------------------------------------------
    def start_on_demand(self, holder: str) -> int:
        now = to_iso(utcnow())
        return self._database.scalar(
            runs.insert()
            .values(kind=ON_DEMAND, holder=holder, started_at=now, heartbeat_at=now)
            .returning(runs.c.id)
        )

    def lease_scheduled(
        self, scheduled_for: datetime, holder: str, *, stopping: threading.Event | None = None
    ) -> int | None:
        """Take the run for this fire time; None when it is done or held by a live process
        (with `stopping`: waiting while a live process holds it, see `lease_run`)."""
        return self.lease_run(scheduled_for, holder, stopping=stopping, kind=SCHEDULED)

    def finish(
        self,
        run_id: int,
        *,
        accounts: int,
        fetched: int,
        failures: list[tuple[str, str]],
        chats_posted: list[str],
        chats_failed: list[tuple[str, str, str]],
    ) -> None:
        self.finish_run(
            run_id,
            accounts=accounts,
            fetched=fetched,
            failed=len(failures),
            failures=json.dumps(failures),
            chats_posted=chats_posted,
            chats_failed=chats_failed,
        )

    def run(self, run_id: int) -> Run:
        (row,) = self._database.rows(sa.select(runs).where(runs.c.id == run_id))
        return _run(row)

    def runs(self) -> list[Run]:
        return [_run(row) for row in self._database.rows(sa.select(runs).order_by(runs.c.id))]

    def previous_finished(self, before_run: int, kind: str | None = None) -> Run | None:
        """The most recent finished run older than `before_run`, of `kind` or of either."""
        rows = self._database.rows(
            sa.select(runs)
            .where(*_finished_before(before_run, kind))
            .order_by(runs.c.id.desc())
            .limit(1)
        )
        return _run(rows[0]) if rows else None

    def undelivered_before(self, run_id: int) -> list[tuple[str, ...]]:
        """Chats the last finished scheduled run before this one could not post to, as
        (chat_id, reason in English, reason in Chinese)."""
        failed = self._database.run(
            sa.select(runs.c.chats_failed)
            .where(*_finished_before(run_id, SCHEDULED))
            .order_by(runs.c.id.desc())
            .limit(1)
        ).all()
        return [tuple(pair) for pair in json.loads(failed[0][0] or "[]")] if failed else []

    # --- snapshots ---------------------------------------------------------------------------
    def save_snapshots(self, run_id: int, accounts: list[Account], taken_at: datetime) -> None:
        """The accounts as this run read them, and the run's moment, `taken_at`."""
        now = to_iso(taken_at)
        rows = [
            {
                "run_id": run_id,
                "account_id": a.account_id,
                "status": int(a.status),
                "points": a.points,
                "cash": json.dumps([[c.currency, str(c.amount)] for c in a.cash]),
                "taken_at": now,
            }
            for a in accounts
        ]
        with self._database.transaction() as db:
            for row in rows:
                db.execute(engines.upsert(db, snapshots, row, ["run_id", "account_id"]))
            db.execute(runs.update().where(runs.c.id == run_id).values(taken_at=now))

    def latest_snapshots(self, before_run: int, kind: str | None = None) -> dict[str, Account]:
        """Each account's most recent snapshot taken by a finished run (of `kind`, or either)
        older than `before_run`, so an account that failed to fetch last time is compared with
        the time before."""
        finished = sa.select(runs.c.id).where(*_finished_before(before_run, kind))
        latest = (
            sa.select(snapshots.c.account_id, sa.func.max(snapshots.c.run_id).label("run_id"))
            .where(snapshots.c.run_id.in_(finished))
            .group_by(snapshots.c.account_id)
            .subquery()
        )
        rows = self._database.run(
            sa.select(
                snapshots.c.account_id, snapshots.c.status, snapshots.c.points, snapshots.c.cash
            ).join(
                latest,
                sa.and_(
                    latest.c.account_id == snapshots.c.account_id,
                    latest.c.run_id == snapshots.c.run_id,
                ),
            )
        ).all()
        return {
            account_id: _snapshot(account_id, status, points, cash)
            for account_id, status, points, cash in rows
        }

    def scheduled_totals(
        self, before: datetime | None = None, limit: int = CHART_RUNS
    ) -> list[tuple[datetime, Totals]]:
        """The totals of the last `limit` finished scheduled runs (with fire times before
        `before`, when given), oldest first, each at its moment (its fire time when recorded
        before the moment was kept), summed from their snapshots. A run of no accounts is a
        point at zero; a run whose snapshots were pruned is left out rather than drawn as
        nothing."""
        where = [runs.c.kind == SCHEDULED, runs.c.finished_at.is_not(None)]
        if before is not None:
            where.append(runs.c.scheduled_for < to_iso(before))
        last = (
            sa.select(
                runs.c.id,
                runs.c.scheduled_for,
                sa.func.coalesce(runs.c.taken_at, runs.c.scheduled_for).label("moment"),
                (
                    sa.func.coalesce(runs.c.fetched, 0) + sa.func.coalesce(runs.c.failed, 0) == 0
                ).label("empty"),
            )
            .where(*where)
            .order_by(runs.c.scheduled_for.desc())
            .limit(limit)
            .subquery("r")
        )
        rows = self._database.run(
            sa.select(
                last.c.scheduled_for,
                last.c.moment,
                last.c.empty,
                snapshots.c.account_id,
                snapshots.c.status,
                snapshots.c.points,
                snapshots.c.cash,
            ).select_from(last.outerjoin(snapshots, snapshots.c.run_id == last.c.id))
        ).all()
        by_run: dict[tuple[str, str], list[Account]] = {}
        for scheduled_for, moment, empty, account_id, status, points, cash in rows:
            if account_id is not None:
                by_run.setdefault((scheduled_for, moment), []).append(
                    _snapshot(account_id, status, points, cash)
                )
            elif empty:
                by_run[(scheduled_for, moment)] = []
        return [
            (datetime.fromisoformat(moment), totals(accounts))
            for (_, moment), accounts in sorted(by_run.items())
        ]

    def prune_snapshots(self, older_than: timedelta = KEEP_SNAPSHOTS) -> int:
        """Forget snapshots no digest compares with any more."""
        baseline = sa.select(sa.func.max(runs.c.id)).where(
            runs.c.kind == SCHEDULED, runs.c.finished_at.is_not(None)
        )
        old = sa.select(runs.c.id).where(
            runs.c.started_at < to_iso(utcnow() - older_than),
            runs.c.id.is_distinct_from(baseline.scalar_subquery()),
        )
        return self._database.run(snapshots.delete().where(snapshots.c.run_id.in_(old))).rowcount

    def snapshot_count(self, run_id: int) -> int:
        return self._database.scalar(
            sa.select(sa.func.count()).select_from(snapshots).where(snapshots.c.run_id == run_id)
        )


def _finished_before(run_id: int, kind: str | None) -> list[sa.ColumnElement]:
    """Finished runs older than `run_id`, of `kind` (or either)."""
    where = [runs.c.id < run_id, runs.c.finished_at.is_not(None)]
    return where if kind is None else [*where, runs.c.kind == kind]


def _snapshot(account_id: str, status: int, points: int | None, cash: str | None) -> Account:
    return Account(
        account_id,
        AccountStatus(status),
        points=points or 0,
        cash=tuple(Cash(cur, Decimal(amount)) for cur, amount in json.loads(cash or "[]")),
    )


def _run(row: sa.RowMapping) -> Run:
    return Run(
        id=row["id"],
        kind=row["kind"],
        scheduled_for=from_iso(row["scheduled_for"]),
        started_at=from_iso(row["started_at"]),
        taken_at=from_iso(row["taken_at"]),
        finished_at=from_iso(row["finished_at"]),
        fetched=row["fetched"] or 0,
        failed=row["failed"] or 0,
        chats_posted=tuple(json.loads(row["chats_posted"] or "[]")),
        chats_failed=tuple(tuple(p) for p in json.loads(row["chats_failed"] or "[]")),
    )
