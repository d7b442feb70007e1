"""Baseline: the records as they were before schema versions were kept.

A new database gets every table. A SQLite file written by an earlier version (its tables made
one by one as the code met them, columns added on start) gains the tables and columns it lacks,
learns its accounts' contacts when it had none kept, and has its mobiles written with their
country code; nothing in it is lost.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.records import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from bot.records.store import learn_contacts_of_all, upgrade_mobiles

    conn = op.get_bind()
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    for table in schema.metadata.sorted_tables:
        if table.name not in tables:
            table.create(conn)
            if conn.dialect.name == "postgresql" and table.name in schema.ORDERED:
                # The order rows were written in (SQLite has its rowid).
                op.add_column(table.name, sa.Column("seq", sa.BigInteger, sa.Identity()))
                op.create_index(f"idx_{table.name}_seq", table.name, ["seq"])
            continue
        have = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                op.add_column(table.name, sa.Column(column.name, column.type))
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(conn)
    if "accounts" in tables:  # a file from an earlier version
        if "account_contacts" not in tables:
            learn_contacts_of_all(conn)
        upgrade_mobiles(conn)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone")
