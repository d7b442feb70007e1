"""Counts of what the records hold, for `/metrics` (read at scrape time, so they are right
across restarts and across processes sharing the database)."""

from __future__ import annotations

import sqlalchemy as sa

from bot.records.schema import balance_changes, digest_runs, withdrawals
from bot.records.store import Database


def _grouped(database: Database, column: sa.ColumnElement, *where: sa.ColumnElement) -> dict:
    query = sa.select(column, sa.func.count()).where(*where).group_by(column)
    return {str(key): float(count) for key, count in database.run(query).all()}


def digests_by_kind(database: Database) -> dict[str, float]:
    """Finished digest runs: scheduled and on demand."""
    return _grouped(database, digest_runs.c.kind, digest_runs.c.finished_at.is_not(None))


def withdrawals_by_state(database: Database) -> dict[str, float]:
    return _grouped(database, withdrawals.c.state)


def balance_changes_by_state(database: Database) -> dict[str, float]:
    """Balance changes told in a notice, and waiting for their window's card."""
    told = sa.case((balance_changes.c.told == 1, "told"), else_="waiting")
    return _grouped(database, told)
