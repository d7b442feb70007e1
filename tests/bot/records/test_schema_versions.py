"""Schema versions and moving up: a referral-bot.db written before Alembic upgrades in place with
nothing lost, a database newer than the code stops start-up with one line, `db upgrade` brings
a database up to date, and `db copy` moves every record from the SQLite file into an empty
PostgreSQL database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.domain.accounts import Account, AccountStatus, Cash
from bot.domain.people import MOBILE
from bot.domain.withdrawals import Amounts, Kind
from bot.records.copy import CopyRefused, copy, counts
from bot.records.inbox import Inbox
from bot.records.migrations import head
from bot.records.store import AccountBook, AuditLog, Database, DatabaseTooNew, Welcomes
from bot.records.withdrawals import WithdrawalBook
from tests.postgres import create_database, drop_database

HERE = Path(__file__).parent
REQUIRED = {
    "LARK_APP_ID": "cli_1",
    "LARK_APP_SECRET": "s",
    "LARK_VERIFICATION_TOKEN": "t",
    "LARK_ENCRYPT_KEY": "k",
}


def file_before_alembic(path: Path) -> None:
    """A referral-bot.db as the records wrote it before schema versions, with a row in most
    tables."""
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript((HERE / "schema_before_alembic.sql").read_text())
        referrer = {"id": "ou_hire", "name_zh": "张三", "name_en": "Zhang San", "email": None}
        conn.execute(
            "INSERT INTO accounts (account_id, contact, status, points, cash, referrer, version)"
            " VALUES ('7', '+852 61234567', 1, 300, '[[\"CNY\", \"12.50\"]]', ?, 3)",
            [json.dumps({**referrer, "mobile": "61234567"})],
        )
        conn.execute(
            "INSERT INTO events (event_id, event_type, status, attempts, payload, received_at)"
            " VALUES ('ev1', 'im.message.receive_v1', 'queued', 0, '{}',"
            " '2026-12-01T00:00:00.000+00:00')"
        )
        conn.execute(
            "INSERT INTO audit (at, actor, action, outcome) VALUES"
            " ('2026-12-01T00:00:00.000+00:00', 'ou_admin', 'show', 'ok')"
        )
        conn.execute("INSERT INTO welcomed VALUES ('ou_1', 'ev0', '2026-12-01T00:00:00+00:00')")
        conn.execute(
            "INSERT INTO withdrawals (account_id, kind, state, points, cash, order_id)"
            " VALUES ('7', 'all', 'withdrawn', 100, '[]', 'rb-1-abc')"
        )
        conn.commit()


def test_a_file_from_before_schema_versions_upgrades_in_place_with_nothing_lost(tmp_path):
    path = tmp_path / "referral-bot.db"
    file_before_alembic(path)
    database = Database(str(path))
    try:
        record = AccountBook(database).get("7")
        # Its referrer's mobile gained its code, which the card shows: one change more.
        assert record.account.points == 300 and record.version == 4
        assert record.account.cash == (Cash("CNY", Decimal("12.50")),)
        assert record.account.referrer.mobile == "+852 61234567"  # learnt its code on the way
        assert AccountBook(database).find_by(MOBILE, "85261234567") == ["7"]
        assert Inbox(database).counts() == {"queued": 1}
        assert len(AuditLog(database).entries()) == 1
        assert not Welcomes(database).take("ou_1", "ev9")  # still welcomed
        assert WithdrawalBook(database).get(1).order_id == "rb-1-abc"
        with database.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == (
                head()
            )
    finally:
        database.close()


def test_a_database_newer_than_the_code_stops_start_up_with_one_line(tmp_path):
    path = tmp_path / "bot.db"
    Database(str(path)).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
        conn.commit()
    with pytest.raises(DatabaseTooNew, match="newer referral-bot"):
        Database(str(path))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", **REQUIRED, "REFERRAL_BOT_DB": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"referral-bot: the database {path} was written by a newer referral-bot (schema 9999;"
        f" this one knows up to {head()}): run the newer version"
    ]


def test_db_upgrade_brings_the_file_up_to_date_and_says_so(tmp_path):
    path = tmp_path / "bot.db"
    file_before_alembic(path)
    env = {"PATH": "/usr/bin:/bin", **REQUIRED, "REFERRAL_BOT_DB": str(path)}
    run = [sys.executable, "-m", "bot.cli", "db", "upgrade"]
    first = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"{path}: schema {head()} (up to date; it was at None)"
    again = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == f"{path}: schema {head()} (up to date; it was at {head()})"


@pytest.fixture
def postgres_target():
    url = create_database()
    yield url
    drop_database(url)


def test_db_copy_moves_every_record_into_an_empty_postgresql_and_checks_the_counts(
    tmp_path, postgres_target
):
    path = tmp_path / "referral-bot.db"
    file_before_alembic(path)
    source = Database(str(path))
    book = AccountBook(source)
    for n in range(30):  # more than one batch below
        book.remember(Account(f"a{n:02}", AccountStatus.ENABLED, points=n))
    source.close()

    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "100"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "copy", "--from", str(path)]
        + ["--to", postgres_target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("every count matches")
    assert "accounts" in result.stdout  # the progress bar names each table

    source, target = Database(str(path)), Database(postgres_target)
    try:
        assert counts(target) == counts(source)
        # In the order written (the records list accounts as they came), keys and all.
        assert [r.account_id for r in AccountBook(target).all()] == [
            r.account_id for r in AccountBook(source).all()
        ]
        # New rows take keys past the copied ones.
        AuditLog(target).record(actor="ou_admin", action="show", outcome="ok")
        made = WithdrawalBook(target).create(
            "a01", Kind.ALL, Amounts(1, ()), requested_by="ou_a", chat_id=None
        )
        assert made.id == 2
        assert [e["id"] for e in AuditLog(target).entries()] == [1, 2]
        with pytest.raises(CopyRefused, match="already holds records"):
            copy(source, target)
    finally:
        source.close()
        target.close()

    again = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "copy", "--from", str(path)]
        + ["--to", postgres_target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 2
    assert again.stderr.startswith("referral-bot: the target already holds records: account_")
    assert "Traceback" not in again.stderr and again.stdout == ""


def test_the_password_of_a_postgresql_url_is_never_shown():
    from bot.records.engines import shown

    assert (
        shown("postgresql://bot:s3cret@db:5432/records") == "postgresql://bot:***@db:5432/records"
    )
    assert "s3cret" not in str(os.environ.get("REFERRAL_BOT_DB", ""))
