"""The digest's own records in SQLite: each run, the snapshots it took, and each chat it posted
to. Leases on these rows make a scheduled digest run and post once across processes: a lease
is held by a process (see `liveness`) and free once that process stops beating or lets go."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.accounts import Account, AccountStatus, Cash
from bot.records.liveness import live_cutoff, live_owners_sql
from bot.records.store import Database, from_iso, to_iso, utcnow

SCHEDULED = "scheduled"
ON_DEMAND = "on_demand"
# Snapshots older than this are pruned, but for those of the latest finished scheduled run,
# the baseline of the next one.
KEEP_SNAPSHOTS = timedelta(days=60)


@dataclass(frozen=True)
class Run:
    """A digest run as recorded."""

    id: int
    kind: str
    scheduled_for: datetime | None
    started_at: datetime
    finished_at: datetime | None
    fetched: int
    failed: int
    chats_posted: tuple[str, ...]
    chats_failed: tuple[tuple[str, ...], ...]  # (chat_id, reason in English, in Chinese)


class DigestRecords:
    """Runs, snapshots and per-chat posts of the status digest."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._create_schema()

    def _create_schema(self) -> None:
        db = self._database.db
        db["digest_runs"].create(
            {
                "id": int,
                "kind": str,
                "scheduled_for": str,
                "holder": str,
                "started_at": str,
                "heartbeat_at": str,
                "finished_at": str,
                "accounts": int,
                "fetched": int,
                "failed": int,
                "failures": str,
                "chats_posted": str,
                "chats_failed": str,
            },
            pk="id",
            if_not_exists=True,
        )
        # The run lease: one scheduled run per fire time. NULLs (on-demand runs) never clash.
        db["digest_runs"].create_index(["scheduled_for"], unique=True, if_not_exists=True)
        db["digest_snapshots"].create(
            {
                "run_id": int,
                "account_id": str,
                "status": int,
                "points": int,
                "cash": str,
                "taken_at": str,
            },
            pk=("run_id", "account_id"),
            if_not_exists=True,
        )
        db["digest_snapshots"].create_index(["account_id", "run_id"], if_not_exists=True)
        db["digest_posts"].create(
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
    def start_on_demand(self, holder: str) -> int:
        now = to_iso(utcnow())
        table = self._database.db["digest_runs"]
        table.insert({"kind": ON_DEMAND, "holder": holder, "started_at": now, "heartbeat_at": now})
        return table.last_pk

    def lease_scheduled(self, scheduled_for: datetime, holder: str) -> int | None:
        """Take the run for this fire time; None when it is done or held by a live process."""
        key, now = to_iso(scheduled_for), utcnow()
        with self._database.transaction() as db:
            row = db.execute(
                "SELECT id, finished_at, holder FROM digest_runs WHERE scheduled_for = ?",
                [key],
            ).fetchone()
            if row is None:
                table = db["digest_runs"]
                table.insert(
                    {
                        "kind": SCHEDULED,
                        "scheduled_for": key,
                        "holder": holder,
                        "started_at": to_iso(now),
                        "heartbeat_at": to_iso(now),
                    }
                )
                return table.last_pk
            run_id, finished_at, held_by = row
            if finished_at or (held_by != holder and self._alive(db, held_by)):
                return None
            db.execute(
                "UPDATE digest_runs SET holder = ?, started_at = ?, heartbeat_at = ? WHERE id = ?",
                [holder, to_iso(now), to_iso(now), run_id],
            )
            return run_id

    @staticmethod
    def _alive(db, holder: str | None) -> bool:
        if holder is None:
            return False
        row = db.execute(
            f"SELECT 1 FROM ({live_owners_sql()}) WHERE owner = ?", [live_cutoff(), holder]
        ).fetchone()
        return row is not None

    def release(self, run_id: int) -> None:
        """Let go of an unfinished run (the process is stopping): the next start finishes it."""
        self._database.db.execute(
            "UPDATE digest_runs SET holder = NULL WHERE id = ? AND finished_at IS NULL", [run_id]
        )
        self._database.db.execute(
            "UPDATE digest_posts SET holder = NULL WHERE run_id = ? AND status = 'posting'",
            [run_id],
        )

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
        self._database.db["digest_runs"].update(
            run_id,
            {
                "finished_at": to_iso(utcnow()),
                "accounts": accounts,
                "fetched": fetched,
                "failed": len(failures),
                "failures": json.dumps(failures),
                "chats_posted": json.dumps(chats_posted),
                "chats_failed": json.dumps(chats_failed),
            },
        )

    def run(self, run_id: int) -> Run:
        return _run(self._database.db["digest_runs"].get(run_id))

    def runs(self) -> list[Run]:
        return [_run(row) for row in self._database.db["digest_runs"].rows_where(order_by="id")]

    def last_scheduled_for(self) -> datetime | None:
        """The latest fire time whose scheduled run finished (a run cut off does not count, so
        it is caught up; on-demand runs never count)."""
        row = self._database.db.execute(
            "SELECT MAX(scheduled_for) FROM digest_runs WHERE kind = ? AND finished_at IS NOT NULL",
            [SCHEDULED],
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def previous_finished(self, before_run: int, kind: str | None = None) -> Run | None:
        """The most recent finished run older than `before_run`, of `kind` or of either."""
        where, params = _kind_filter("id < ? AND finished_at IS NOT NULL", [before_run], kind)
        rows = list(
            self._database.db["digest_runs"].rows_where(where, params, order_by="id DESC", limit=1)
        )
        return _run(rows[0]) if rows else None

    def undelivered_before(self, run_id: int) -> list[tuple[str, ...]]:
        """Chats the last finished scheduled run before this one could not post to, as
        (chat_id, reason in English, reason in Chinese)."""
        rows = list(
            self._database.db["digest_runs"].rows_where(
                "id < ? AND kind = ? AND finished_at IS NOT NULL",
                [run_id, SCHEDULED],
                order_by="id DESC",
                limit=1,
            )
        )
        return [tuple(pair) for pair in json.loads(rows[0]["chats_failed"] or "[]")] if rows else []

    # --- snapshots ---------------------------------------------------------------------------
    def save_snapshots(self, run_id: int, accounts: list[Account]) -> None:
        now = to_iso(utcnow())
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
            db["digest_snapshots"].upsert_all(rows, pk=("run_id", "account_id"))

    def latest_snapshots(self, before_run: int, kind: str | None = None) -> dict[str, Account]:
        """Each account's most recent snapshot taken by a finished run (of `kind`, or either)
        older than `before_run`, so an account that failed to fetch last time is compared with
        the time before."""
        runs, params = _kind_filter("id < ? AND finished_at IS NOT NULL", [before_run], kind)
        # SQLite returns the other columns of the row that holds MAX(run_id).
        rows = self._database.db.execute(
            "SELECT account_id, MAX(run_id), status, points, cash FROM digest_snapshots"
            f" WHERE run_id IN (SELECT id FROM digest_runs WHERE {runs}) GROUP BY account_id",
            params,
        ).fetchall()
        return {
            account_id: Account(
                account_id,
                AccountStatus(status),
                points=points or 0,
                cash=tuple(Cash(cur, Decimal(amount)) for cur, amount in json.loads(cash or "[]")),
            )
            for account_id, _, status, points, cash in rows
        }

    def prune_snapshots(self, older_than: timedelta = KEEP_SNAPSHOTS) -> int:
        """Forget snapshots no digest compares with any more."""
        cursor = self._database.db.execute(
            "DELETE FROM digest_snapshots WHERE run_id IN (SELECT id FROM digest_runs"
            " WHERE started_at < ? AND id IS NOT (SELECT MAX(id) FROM digest_runs"
            " WHERE kind = ? AND finished_at IS NOT NULL))",
            [to_iso(utcnow() - older_than), SCHEDULED],
        )
        return cursor.rowcount

    def snapshot_count(self, run_id: int) -> int:
        return self._database.db["digest_snapshots"].count_where("run_id = ?", [run_id])

    # --- per-chat posts ----------------------------------------------------------------------
    def lease_post(self, scheduled_for: datetime, chat_id: str, run_id: int, holder: str) -> bool:
        """Take the right to post this fire time's digest to this chat; False if it is posted,
        failed for good, or being posted by a live holder."""
        key, now = to_iso(scheduled_for), utcnow()
        with self._database.transaction() as db:
            row = db.execute(
                "SELECT status, holder FROM digest_posts WHERE scheduled_for = ? AND chat_id = ?",
                [key, chat_id],
            ).fetchone()
            if row is not None:
                status, held_by = row
                if status != "posting" or (held_by != holder and self._alive(db, held_by)):
                    return False
            db["digest_posts"].upsert(
                {
                    "scheduled_for": key,
                    "chat_id": chat_id,
                    "run_id": run_id,
                    "holder": holder,
                    "status": "posting",
                    "updated_at": to_iso(now),
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
        self._database.db["digest_posts"].update(
            (to_iso(scheduled_for), chat_id),
            {
                "status": "failed" if error else "posted",
                "message_id": message_id,
                "error": error,
                "updated_at": to_iso(utcnow()),
            },
        )

    def posts(self, scheduled_for: datetime) -> list[dict]:
        return list(
            self._database.db["digest_posts"].rows_where(
                "scheduled_for = ?", [to_iso(scheduled_for)], order_by="chat_id"
            )
        )


def _kind_filter(where: str, params: list, kind: str | None) -> tuple[str, list]:
    if kind is None:
        return where, params
    return f"{where} AND kind = ?", [*params, kind]


def _run(row: dict) -> Run:
    return Run(
        id=row["id"],
        kind=row["kind"],
        scheduled_for=from_iso(row["scheduled_for"]),
        started_at=from_iso(row["started_at"]),
        finished_at=from_iso(row["finished_at"]),
        fetched=row["fetched"] or 0,
        failed=row["failed"] or 0,
        chats_posted=tuple(json.loads(row["chats_posted"] or "[]")),
        chats_failed=tuple(tuple(p) for p in json.loads(row["chats_failed"] or "[]")),
    )
