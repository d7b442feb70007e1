"""Counts of what the records hold, for `/metrics` (read at scrape time, so they are right
across restarts and across processes sharing the database)."""

from __future__ import annotations

from bot.records.store import Database


def _grouped(database: Database, sql: str) -> dict[str, float]:
    return {str(key): float(count) for key, count in database.db.execute(sql).fetchall()}


def digests_by_kind(database: Database) -> dict[str, float]:
    """Finished digest runs: scheduled and on demand."""
    return _grouped(
        database,
        "SELECT kind, count(*) FROM digest_runs WHERE finished_at IS NOT NULL GROUP BY kind",
    )


def withdrawals_by_state(database: Database) -> dict[str, float]:
    return _grouped(database, "SELECT state, count(*) FROM withdrawals GROUP BY state")


def balance_changes_by_state(database: Database) -> dict[str, float]:
    """Balance changes told in a notice, and waiting for their window's card."""
    return _grouped(
        database,
        "SELECT CASE told WHEN 1 THEN 'told' ELSE 'waiting' END, count(*)"
        " FROM balance_changes GROUP BY told",
    )
