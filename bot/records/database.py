"""The records' database, on either engine (`REFERRAL_BOT_DB`: a SQLite file, the default, or a
`postgresql://` URL; see `engines` for what differs). Opening it brings its schema up to date
(`migrate`); the records classes run their Core statements through `run` (one statement, in
autocommit) and `transaction` (several, as one).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.records import engines, schema

log = logging.getLogger(__name__)
# Alembic tells each plugin it sets up as it is imported; the bot says in one line what it
# migrated (bot/records/migrations).
logging.getLogger("alembic").setLevel(logging.WARNING)

# How long a statement waits for another connection's write lock before failing.
BUSY_TIMEOUT = 30.0
# The health probe must answer quickly, whatever holds the lock.
PROBE_TIMEOUT = 1.0
# Connections a process keeps: its inbox workers, the web server's threads, the schedulers.
POOL_SIZE = 8
# What a failing database raises, on either engine (handlers of trouble catch these).
ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, sa.exc.SQLAlchemyError)


class DatabaseUnavailable(sa.exc.SQLAlchemyError):
    """The database cannot be opened or written; the message is one line naming the path (or
    the URL without its password) and the cause."""


class DatabaseTooNew(DatabaseUnavailable):
    """The database was written by a newer version of the bot (its schema is unknown here)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def open_database(
    target: str, *, busy_timeout: float = BUSY_TIMEOUT, pool_size: int = POOL_SIZE
) -> Database:
    """The bot's database as `serve` opens it (and `doctor`, to check it): brought up to date,
    then written once, so a database that cannot take writes fails here and not at the first
    event. Raises DatabaseUnavailable (DatabaseTooNew for a newer schema)."""
    try:
        database = Database(target, busy_timeout=busy_timeout, pool_size=pool_size)
    except DatabaseUnavailable:
        raise
    except (OSError, *ERRORS) as exc:
        raise DatabaseUnavailable(
            f"cannot open the database {engines.shown(target)}: {_why(target, exc)}"
        ) from None
    try:
        database.run(_probe_write(database.engine))
    except ERRORS as exc:
        database.close()
        raise DatabaseUnavailable(
            f"cannot write the database {engines.shown(target)}: {_why(target, exc)}"
        ) from None
    return database


def _probe_write(bind: Engine | Connection) -> Any:
    return engines.upsert(bind, schema.health_probe, {"id": 1, "at": to_iso(utcnow())}, ["id"])


def _why(target: str, exc: BaseException) -> str:
    """What stops the database, in words a deployer can act on (SQLite's own is "unable to
    open database file" for most of these)."""
    if engines.is_postgres(target):
        return _first_line(exc)
    path = Path(target)
    if path.is_dir():
        return "it is a folder, not a file"
    folder = path.parent
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                return f"{above} is not a folder"
            break
    if not folder.exists():
        return f"the folder {folder} does not exist"
    uid = os.getuid()
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"uid {uid} may not write it (owned by uid {path.stat().st_uid})"
    if not os.access(folder, os.W_OK | os.X_OK):
        # SQLite writes its journal (-wal, -shm) beside the file, so the folder must be writable.
        return (
            f"uid {uid} may not write in the folder {folder} (owned by uid {folder.stat().st_uid})"
        )
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's statement and link lines."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return text[0] if text else type(inner).__name__


class Database:
    """The records' database on SQLite or PostgreSQL, with a pool of connections."""

    def __init__(
        self,
        target: str,
        *,
        busy_timeout: float = BUSY_TIMEOUT,
        pool_size: int = POOL_SIZE,
        migrate: bool = True,
    ) -> None:
        self.path = target  # what REFERRAL_BOT_DB says (a file, or a URL)
        self.busy_timeout = busy_timeout
        self.engine = engines.create(target, busy_timeout=busy_timeout, pool_size=pool_size)
        self.postgres = engines.is_postgres(target)
        self._probe: Engine | None = None
        self._probe_lock = threading.Lock()
        # The connection of the transaction this thread is in: what runs inside it (an audit
        # entry, follow-up work queued by a `then`) is part of it.
        self._local = threading.local()
        if not migrate:  # `db upgrade` migrates itself, to tell from what
            return
        try:
            from bot.records.migrations import migrate as to_head

            to_head(self)
        except BaseException:
            self.engine.dispose()
            raise

    # --- running statements ------------------------------------------------------------------
    def run(self, statement: Any, params: Any = None) -> Done:
        """One statement in its own transaction (autocommit; inside this thread's `transaction`,
        part of it); its rows are read before the connection goes back to the pool. A connection
        the server dropped is replaced and the statement tried once more."""
        inside = self.current()
        if inside is not None:
            return Done(inside.execute(statement, params))
        for attempt in (1, 2):
            try:
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    return Done(conn.execute(statement, params))
            except sa.exc.DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
                log.warning("database connection lost; trying again: %s", _first_line(exc))
        raise AssertionError("unreachable")

    def rows(self, statement: Any) -> list[sa.RowMapping]:
        return self.run(statement).mappings()

    def scalar(self, statement: Any) -> Any:
        return self.run(statement).scalar()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Several statements as one: on SQLite taken with the write lock before reading, so two
        processes cannot interleave; on PostgreSQL, `serialize` a read-then-write by its key."""
        inside = self.current()
        if inside is not None:  # already in one: this is part of it
            yield Tx(inside)
            return
        with self.engine.connect() as conn, conn.begin():
            self._local.conn = conn
            try:
                yield Tx(conn)
            finally:
                self._local.conn = None

    def current(self) -> Connection | None:
        """The connection of the transaction this thread is in, if any."""
        return getattr(self._local, "conn", None)

    def probe_write(self) -> str | None:
        """Write one row on a fresh connection with a short timeout; None when the database
        takes writes, else a short reason (locked, disk full, I/O error, server down)."""
        with self._probe_lock:
            if self._probe is None:
                self._probe = engines.create(self.path, busy_timeout=PROBE_TIMEOUT, probe=True)
        try:
            conn = self._probe.connect()
        except ERRORS as exc:
            return f"database cannot be opened: {_first_line(exc)}"
        try:
            with conn.execution_options(isolation_level="AUTOCOMMIT"):
                conn.execute(_probe_write(conn))
        except ERRORS as exc:
            return f"database cannot be written: {_first_line(exc)}"
        finally:
            conn.close()
        return None

    def close(self) -> None:
        self.engine.dispose()
        if self._probe is not None:
            self._probe.dispose()

    # --- plain SQL, for tests and the SQLite file's own tools ----------------------------------
    @property
    def db(self) -> Tx:
        """Plain SQL with `?` placeholders, each statement in autocommit: for tests and tools
        that look at the tables as they are (the records classes use Core)."""
        return Tx(None, self)


class Tx:
    """A transaction's connection (or, for `Database.db`, a fresh autocommit connection per
    statement): Core statements, plain `?` SQL, and a table's rows by name."""

    def __init__(self, conn: Connection | None, database: Database | None = None) -> None:
        self.conn = conn
        self._database = database
        self.dialect = (conn or database.engine).dialect  # type: ignore[union-attr]

    @property
    def postgres(self) -> bool:
        return self.dialect.name == "postgresql"

    def execute(self, statement: Any, params: Any = None) -> Any:
        if isinstance(statement, str):
            return self._plain(statement, params)
        if self.conn is None:
            assert self._database is not None
            return self._database.run(statement, params)
        return self.conn.execute(statement, params)

    def _plain(self, sql: str, params: Sequence | None) -> Plain:
        def go(conn: Connection) -> Plain:
            native = engines.native_params(conn, sql)
            result = conn.exec_driver_sql(native, tuple(params or ()))
            return Plain(result)

        if self.conn is not None:
            return go(self.conn)
        assert self._database is not None
        inside = self._database.current()
        if inside is not None:
            return go(inside)
        with self._database.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            return go(conn)

    def __getitem__(self, name: str) -> TableView:
        return TableView(self, name)

    def table_names(self) -> list[str]:
        bind = self.conn if self.conn is not None else self._database.engine  # type: ignore[union-attr]
        return sorted(sa.inspect(bind).get_table_names())


class Done:
    """What a statement did, read at once (the connection goes back to the pool): its rows,
    how many rows it changed, the key it inserted."""

    def __init__(self, result: sa.CursorResult) -> None:
        self.rowcount = result.rowcount
        self._rows = list(result.all()) if result.returns_rows else []
        try:
            self.inserted_primary_key = result.inserted_primary_key
        except sa.exc.InvalidRequestError:
            self.inserted_primary_key = None

    def all(self) -> list[sa.Row]:
        return self._rows

    def first(self) -> sa.Row | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]

    def mappings(self) -> Mappings:
        return Mappings(row._mapping for row in self._rows)


class Mappings(list):
    """Rows by column name, as a list (and as SQLAlchemy's MappingResult is read)."""

    def first(self) -> sa.RowMapping | None:
        return self[0] if self else None

    def all(self) -> list[sa.RowMapping]:
        return list(self)


class Plain:
    """The rows of a plain statement, read at once (the connection goes back to the pool)."""

    def __init__(self, result: sa.CursorResult) -> None:
        if result.returns_rows:
            self.description = [(name,) for name in result.keys()]  # noqa: SIM118 (not a dict)
            self._rows = [tuple(row) for row in result.fetchall()]
        else:
            self.description, self._rows = None, []
        self.rowcount = result.rowcount

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())


class TableView:
    """A table's rows by name, with plain SQL (tests, exports, forget)."""

    def __init__(self, tx: Tx, name: str) -> None:
        self._tx = tx
        self.name = name

    def _columns(self) -> list[dict]:
        bind = self._tx.conn if self._tx.conn is not None else self._tx._database.engine  # type: ignore[union-attr]
        return sa.inspect(bind).get_columns(self.name)

    def exists(self) -> bool:
        return self.name in self._tx.table_names()

    @property
    def columns(self) -> list[Column]:
        return [Column(c["name"], str(c["type"])) for c in self._columns()]

    @property
    def columns_dict(self) -> dict[str, type]:
        kinds = {"INTEGER": int, "BIGINT": int, "TEXT": str}
        return {c["name"]: kinds.get(str(c["type"]).upper(), str) for c in self._columns()}

    @property
    def count(self) -> int:
        return self.count_where()

    def count_where(self, where: str | None = None, params: Sequence = ()) -> int:
        sql = f'SELECT count(*) FROM "{self.name}"' + (f" WHERE {where}" if where else "")
        return self._tx.execute(sql, params).fetchone()[0]

    @property
    def rows(self) -> Iterator[dict]:
        return self.rows_where()

    def rows_where(
        self,
        where: str | None = None,
        params: Sequence = (),
        *,
        order_by: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Iterator[dict]:
        sql = f'SELECT * FROM "{self.name}"'
        if where:
            sql += f" WHERE {where}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        result = self._tx.execute(sql, params)
        names = [d[0] for d in result.description]
        return (dict(zip(names, row, strict=True)) for row in result.fetchall())

    def insert(self, row: dict) -> None:
        names = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        self._tx.execute(
            f'INSERT INTO "{self.name}" ({names}) VALUES ({marks})', list(row.values())
        )

    def insert_all(self, rows: Iterable[dict]) -> None:
        for row in rows:
            self.insert(row)

    def update(self, key: object, changes: dict) -> None:
        """Change the row whose (one-column) primary key is `key`."""
        bind = self._tx.conn if self._tx.conn is not None else self._tx._database.engine  # type: ignore[union-attr]
        (pk,) = sa.inspect(bind).get_pk_constraint(self.name)["constrained_columns"]
        sets = ", ".join(f'"{c}" = ?' for c in changes)
        sql = f'UPDATE "{self.name}" SET {sets} WHERE "{pk}" = ?'
        self._tx.execute(sql, [*changes.values(), key])


class Column:
    def __init__(self, name: str, type_: str) -> None:
        self.name = name
        self.type = type_
