"""`referral-bot db backup FILE` while a `referral-bot serve` process writes: the copy is one
consistent, self-contained SQLite file holding every row committed before it began."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.emulator import Emulator
from bot.ops.backup import BackupError, backup
from tests.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN
from tests.scenarios.test_crash_recovery import Children


@pytest.fixture
def children(emulator: Emulator, tmp_path: Path) -> Iterator[Children]:
    kids = Children(emulator, tmp_path)
    try:
        yield kids
    finally:
        kids.kill_all()


def count(path: Path, table: str) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def cli(workdir: Path, db_path: Path | str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "REFERRAL_BOT_"))}
    env.update(
        LARK_APP_ID="cli_backup",
        LARK_APP_SECRET="secret",
        LARK_ENCRYPT_KEY=ENCRYPT_KEY,
        LARK_VERIFICATION_TOKEN=VERIFICATION_TOKEN,
        REFERRAL_BOT_DB=str(db_path),
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_backup_taken_while_the_bot_writes_opens_and_holds_the_rows(
    children: Children, tmp_path: Path
):
    child = children.start()
    stop = threading.Event()
    pushed: list[int] = []

    def write() -> None:  # commands keep arriving: each one an event and an audit row
        while not stop.is_set():
            event, _, _ = children.message("/referral list")
            pushed.append(child.push(event))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        children.wait_for(lambda: count(children.db_path, "audit") >= 20, 60, "rows to copy")
        events_before = count(children.db_path, "events")
        audit_before = count(children.db_path, "audit")
        copy = tmp_path / "backups" / "referral-bot.db"
        copy.parent.mkdir()
        result = cli(tmp_path, children.db_path, "db", "backup", str(copy))
        events_after = count(children.db_path, "events")
    finally:
        stop.set()
        writer.join(30)
    assert result.returncode == 0, result.stderr
    assert f"to {copy}" in result.stdout and "integrity ok" in result.stdout
    assert set(pushed) == {200}  # the bot took every push while it was copied

    # One file, not in WAL mode, nothing beside it; only its owner may read it.
    assert sorted(p.name for p in copy.parent.iterdir()) == ["referral-bot.db"]
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        audit = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        done = conn.execute("SELECT count(*) FROM events WHERE status = 'done'").fetchone()[0]
    # Everything committed before the copy began is in it, and no more than existed after it.
    assert events_before <= events <= events_after
    assert audit >= audit_before and done >= 1
    children.assert_clean()


def test_the_copy_of_a_quiet_database_is_exact_and_replaces_an_older_copy(tmp_path: Path):
    db_path = tmp_path / "bot.db"
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(500)])
        conn.commit()
        # Still in the -wal file, not yet in the .db file: a plain copy of the .db would miss it.
        assert Path(f"{db_path}-wal").stat().st_size > 0
        target = tmp_path / "copy.db"
        target.write_text("an older copy")
        made = backup(str(db_path), target)
    assert made.rows == {"t": 500}
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("SELECT sum(n) FROM t").fetchone()[0] == sum(range(500))


@pytest.mark.parametrize(
    ("db", "target", "says"),
    [
        ("missing.db", "copy.db", "does not exist"),
        ("bot.db", "bot.db", "is the database itself"),
        ("bot.db", "no-such-dir/copy.db", "is not a directory"),
    ],
)
def test_a_backup_that_cannot_be_made_says_why_and_keeps_what_was_there(tmp_path, db, target, says):
    with closing(sqlite3.connect(tmp_path / "bot.db")) as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
    with pytest.raises(BackupError, match=says):
        backup(str(tmp_path / db), tmp_path / target)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_cli_points_postgresql_to_pg_dump_and_refuses_a_missing_database(tmp_path: Path):
    result = cli(tmp_path, "postgresql://bot@db.internal:5432/referral", "db", "backup", "x.db")
    assert result.returncode == 2 and "pg_dump" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli(tmp_path, tmp_path / "nothing.db", "db", "backup", "x.db")
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "nothing.db").exists()  # not created by looking
