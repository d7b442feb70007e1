"""`referral-bot db copy`: every record from one database into another, empty one (from the SQLite
file into PostgreSQL, when a second replica or a managed database is wanted).

Both are brought to the current schema first; the target must hold no record. Each table is
copied in the order its rows were written, in batches, each batch one transaction; the counts of
every table are compared at the end. The bot should be stopped meanwhile: what it wrote during
the copy might be missed (the counts would then differ, and say so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot.records import engines, schema
from bot.records.database import Database

BATCH = 500


class CopyRefused(Exception):
    """The copy cannot begin (the target holds records, or is the source); one line."""


@dataclass
class Copied:
    counts: dict[str, int] = field(default_factory=dict)  # rows per table, in the source
    mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)  # source, target

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def summary(self, target: str) -> str:
        if self.mismatches:
            wrong = ", ".join(f"{t} {s} → {d}" for t, (s, d) in sorted(self.mismatches.items()))
            return f"copied, but the counts differ: {wrong} (was the bot running?)"
        return (
            f"copied {self.rows} rows in {len(self.counts)} tables to {engines.shown(target)};"
            " every count matches"
        )


def counts(database: Database) -> dict[str, int]:
    """Rows per table of the schema."""
    return {
        table.name: database.scalar(sa.select(sa.func.count()).select_from(table))
        for table in schema.metadata.sorted_tables
    }


def refuse_unless_empty(source: Database, target: Database) -> None:
    """Raise CopyRefused when the target holds any record (or is the source)."""
    if engines.shown(source.path) == engines.shown(target.path):
        raise CopyRefused("the source and the target are the same database")
    held = {name: n for name, n in counts(target).items() if n and name != "health_probe"}
    if held:
        tables = ", ".join(f"{name} ({n})" for name, n in sorted(held.items()))
        raise CopyRefused(f"the target already holds records: {tables}; copy into an empty one")


def copy(
    source: Database,
    target: Database,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int, int], None] | None = None,
) -> Copied:
    """Copy every table of `source` into `target`; `progress(table, rows done, table's rows)`
    after each batch. Raises CopyRefused before anything is written."""
    refuse_unless_empty(source, target)
    result = Copied(counts=counts(source))
    for table in schema.metadata.sorted_tables:
        total = result.counts[table.name]
        order = (
            [engines.insertion_order(table, source.engine)]
            if table.name in schema.ORDERED
            else list(table.primary_key.columns)
        )
        done = 0
        with source.engine.connect() as reading:
            rows = reading.execution_options(yield_per=batch).execute(
                sa.select(table).order_by(*order)
            )
            for chunk in rows.mappings().partitions(batch):
                with target.transaction() as tx:
                    tx.execute(table.insert(), [dict(row) for row in chunk])
                done += len(chunk)
                if progress is not None:
                    progress(table.name, done, total)
        if progress is not None and total == 0:
            progress(table.name, 0, 0)
        with target.transaction() as tx:
            engines.after_copy(tx.conn, table)
    after = counts(target)
    result.mismatches = {
        name: (n, after[name])
        for name, n in result.counts.items()
        if after[name] != n and name != "health_probe"
    }
    return result
