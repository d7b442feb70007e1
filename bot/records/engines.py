"""What differs between the two engines the records run on, in one place; every table and query
is written once, in SQLAlchemy Core, elsewhere in `bot.records`.

- SQLite (a file path, the default): one file shared by the processes of one host. A write
  transaction starts `BEGIN IMMEDIATE`, taking the file's one write lock before it reads, so
  two processes never interleave; a statement waits `busy_timeout` for that lock.
- PostgreSQL (a `postgresql://` URL): any number of processes on any hosts. Claims skip rows
  another transaction holds (`FOR UPDATE SKIP LOCKED`); a transaction that reads and then
  writes serializes on a transaction-scoped advisory lock of its own key (`serialize`), which
  dies with its holder; connections come from a pool sized for the workers, checked before use.

Single statements run in autocommit on both, as the records have always run them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
# Connections a process may hold beyond its pool when every pooled one is busy.
POOL_OVERFLOW = 4


def is_postgres(target: str) -> bool:
    """Whether `REFERRAL_BOT_DB` names a PostgreSQL database rather than a SQLite file."""
    return target.startswith(POSTGRES_SCHEMES)


def url_of(target: str) -> URL:
    """The SQLAlchemy URL of a `REFERRAL_BOT_DB` value (psycopg 3 for PostgreSQL)."""
    if is_postgres(target):
        return make_url(target).set(drivername="postgresql+psycopg")
    return URL.create("sqlite", database=target)


def shown(target: str) -> str:
    """The target as it may be printed or logged: a URL without its password."""
    if not is_postgres(target):
        return target
    return make_url(target).render_as_string(hide_password=True)


def create(target: str, *, busy_timeout: float, pool_size: int = 5, probe: bool = False) -> Engine:
    """An engine for the records at `target`. `probe`: one connection per use, nothing pooled
    (the health probe must see the database as a new process would)."""
    if is_postgres(target):
        connect_args: dict[str, Any] = {"connect_timeout": max(1, int(busy_timeout))}
        if probe:  # the probe answers within its timeout, whatever holds a lock
            ms = int(busy_timeout * 1000)
            connect_args["options"] = f"-c statement_timeout={ms} -c lock_timeout={ms}"
            return sa.create_engine(url_of(target), poolclass=NullPool, connect_args=connect_args)
        return sa.create_engine(
            url_of(target),
            pool_size=pool_size,
            max_overflow=POOL_OVERFLOW,
            pool_pre_ping=True,  # a connection the server dropped is replaced, not fatal
            pool_timeout=busy_timeout,
            connect_args=connect_args,
        )
    pooling: dict[str, Any] = (
        {"poolclass": NullPool}
        if probe
        else {"pool_size": pool_size, "max_overflow": POOL_OVERFLOW, "pool_timeout": busy_timeout}
    )
    engine = sa.create_engine(
        url_of(target),
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
        **pooling,
    )

    @sa.event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record) -> None:
        # The driver's own transaction handling off: BEGIN is ours (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # Deleted content is overwritten with zeros (`referral-bot forget` relies on it).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA temp_store=MEMORY")
        if not probe:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            # Taken before reading, so two processes cannot interleave a read and a write.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def insert(table: sa.Table, conn: Connection | Engine) -> Any:
    """The dialect's INSERT for `table` (it knows ON CONFLICT)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection | Engine, table: sa.Table, values: dict) -> Any:
    """INSERT that does nothing when a row with the same key (or unique column) is there; the
    statement returns the inserted key, no row when ignored (psycopg counts no rows here)."""
    stmt = insert(table, conn).values(values).on_conflict_do_nothing()
    return stmt.returning(*table.primary_key.columns)


def upsert(
    conn: Connection | Engine,
    table: sa.Table,
    values: dict,
    keys: list[str],
    update: list[str] | None = None,
) -> Any:
    """INSERT, or on a clash of `keys` UPDATE the other columns given (or those in `update`)."""
    stmt = insert(table, conn).values(values)
    columns = update if update is not None else [c for c in values if c not in keys]
    if not columns:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in columns}
    )


def claimable(select: sa.Select, conn: Connection | Engine) -> sa.Select:
    """A SELECT of rows to claim: on PostgreSQL rows another transaction holds are skipped and
    those chosen locked; SQLite's write lock already makes the claim one at a time."""
    if conn.dialect.name == "postgresql":
        return select.with_for_update(skip_locked=True)
    return select


def locked(select: sa.Select, conn: Connection | Engine) -> sa.Select:
    """A SELECT whose rows the transaction holds until it ends (SQLite: the write lock)."""
    if conn.dialect.name == "postgresql":
        return select.with_for_update()
    return select


def serialize(conn: Connection, key: str) -> None:
    """Inside a transaction: wait until no other transaction holds `key`, and hold it to the
    end of this one (SQLite: BEGIN IMMEDIATE held the whole file already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_id(key))))


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def insertion_order(table: sa.Table, conn: Connection | Engine) -> sa.ColumnElement:
    """The order rows of `events` or `accounts` were written in: SQLite's rowid; on PostgreSQL
    the identity column `seq` the schema adds there (see migrations)."""
    name = "seq" if conn.dialect.name == "postgresql" else "rowid"
    return sa.literal_column(f'"{table.name}".{name}')


def native_params(conn: Connection, sql: str) -> str:
    """SQL written with `?` placeholders (tests, tools) in the driver's own style."""
    if conn.dialect.paramstyle == "qmark":
        return sql
    return sql.replace("%", "%%").replace("?", "%s")


def after_copy(conn: Connection, table: sa.Table) -> None:
    """After rows were copied in with their keys (`db copy`): PostgreSQL's sequence of an
    integer key starts past the largest copied, so the next row does not clash with one."""
    if conn.dialect.name != "postgresql":
        return
    key = [c for c in table.primary_key.columns if c.autoincrement is True]
    if not key:
        return
    column = key[0]
    conn.execute(
        sa.select(
            sa.func.setval(
                sa.func.pg_get_serial_sequence(table.name, column.name),
                sa.func.coalesce(sa.select(sa.func.max(column)).scalar_subquery(), 1),
                sa.select(sa.func.max(column)).scalar_subquery().is_not(None),
            )
        )
    )
