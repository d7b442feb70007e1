"""Schema versions (Alembic): every database, SQLite or PostgreSQL, is brought to the head
revision when it is opened (`migrate`, run by `Database`; `referral-bot db upgrade` runs it
alone). The processes starting at once take turns: the migration runs in one transaction that
first takes SQLite's write lock, or on PostgreSQL an advisory lock, so one migrates and the
others then find nothing to do. A database whose revision this version does not know was
written by a newer one: opening it stops with one line (`DatabaseTooNew`).

The baseline (0001) is the schema the records had before Alembic kept versions; it also
brings a file of any earlier version to it in place (tables and columns added, data upgraded),
so an existing referral-bot.db upgrades at start with nothing lost. A later change of
`bot/records/schema.py` comes with a revision of its own here.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.records import engines, schema

if TYPE_CHECKING:
    from bot.records.database import Database

LOCK = "referral-bot:migrate"
log = logging.getLogger(__name__)


@cache
def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return ScriptDirectory.from_config(config)


def head() -> str:
    return _script().get_current_head()


def known(revision: str) -> bool:
    return any(r.revision == revision for r in _script().walk_revisions())


def current(bind: sa.Engine | sa.Connection) -> str | None:
    """The revision the database is at (None: never migrated; a new or pre-Alembic file)."""
    if isinstance(bind, sa.Engine):
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return MigrationContext.configure(bind).get_current_revision()


def migrate(database: Database) -> str | None:
    """Bring the database to the head revision; the revision it was at before, or the head
    when there was nothing to do. Raises DatabaseTooNew."""
    target = head()
    before = current(database.engine)
    _check(database, before)
    if before == target:
        return before
    script = _script()
    with database.engine.connect() as conn, conn.begin():
        engines.serialize(conn, LOCK)  # SQLite: BEGIN IMMEDIATE holds the file already
        before = current(conn)  # another process may have migrated while this one waited
        _check(database, before)
        if before == target:
            return before

        def upgrade(revision, _context):
            return script._upgrade_revs(target, revision)

        with EnvironmentContext(
            Config(), script, fn=upgrade, destination_rev=target
        ) as environment:
            environment.configure(connection=conn, target_metadata=schema.metadata)
            with environment.begin_transaction():  # inside ours: nothing more is begun
                environment.run_migrations()
    log.info("database schema brought from %s to %s", before or "nothing", target)
    return before


def _check(database: Database, revision: str | None) -> None:
    if revision is not None and not known(revision):
        from bot.records.database import DatabaseTooNew

        raise DatabaseTooNew(
            f"the database {engines.shown(database.path)} was written by a newer referral-bot"
            f" (schema {revision}; this one knows up to {head()}): run the newer version"
        )
