"""`referral-bot db backup FILE`: a consistent copy of the SQLite records while the bot runs.

SQLite's online backup API copies the database as one read transaction sees it: in WAL mode a
reader blocks no writer, so the bot keeps working, and the copy holds every transaction
committed before the copy began (those still in the `-wal` file too) and nothing of the ones
after. A plain `cp` of the `.db` file would miss what the `-wal` file holds, or catch a page
mid-write. The copy is one self-contained file (rollback journal, not WAL), checked with
`PRAGMA integrity_check` before it takes FILE's name, and readable by its owner only: it holds
the same personal data as the records.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class BackupError(Exception):
    """The copy could not be made; the message is one line saying why."""


@dataclass(frozen=True)
class Backup:
    """What was copied: the file, its size, and the rows of each table in it."""

    path: Path
    size: int
    rows: dict[str, int]

    def summary(self) -> str:
        total = sum(self.rows.values())
        return (
            f"backed up {total} rows in {len(self.rows)} tables to {self.path}"
            f" ({self.size / 1024:.0f} KiB, integrity ok)"
        )


def is_postgres(db: str) -> bool:
    return db.startswith(POSTGRES_SCHEMES)


def backup(db_path: str, target: str | os.PathLike) -> Backup:
    """Copy the SQLite database at `db_path` to `target`, replacing it only once the copy is
    complete and checked; raise BackupError otherwise (an existing `target` is then kept)."""
    source_path = Path(db_path)
    if not source_path.is_file():
        raise BackupError(f"{db_path} does not exist (REFERRAL_BOT_DB)")
    target_path = Path(target)
    if target_path.exists() and target_path.resolve() == source_path.resolve():
        raise BackupError(f"{target} is the database itself; name another file")
    if not target_path.parent.is_dir():
        raise BackupError(f"{target_path.parent} is not a directory")
    partial = target_path.with_name(f".{target_path.name}.partial-{os.getpid()}")
    try:
        _copy(source_path, partial)
        os.replace(partial, target_path)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {db_path}: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Backup(target_path, target_path.stat().st_size, _row_counts(target_path))


def _copy(source_path: Path, partial: Path) -> None:
    # Made before SQLite opens it, so the copy is never readable by others, even for a moment.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            # All pages in one step: one read transaction, so one consistent state. (In steps,
            # a write by the bot between them would restart the copy.)
            source.backup(copy)
            # The copy inherits WAL mode; a backup is better as one file with no `-wal` beside.
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"the copy fails its integrity check: {verdict}")
        finally:
            copy.close()
    finally:
        source.close()
    with open(partial, "rb") as written:  # on disk before it takes the target's name
        os.fsync(written.fileno())


def _row_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()
