"""Rewriting a person out of the records (for `referral-bot forget`, bot/ops/forget.py): every text
value of every table, whatever table it is in, so a table added later is covered too; the
money records and the keys that join them are never touched.

`Person` gathers what identifies someone; `pattern` matches every way the records write it
down; `scrub_all` puts one pseudonym in its place, deletes the person's contact links, and keeps
only the pseudonym of their accounts' contact and referrer. `empty_wal` then cuts SQLite's
`-wal` file to nothing, so no old page of theirs stays in it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot.domain.people import EMAIL, MOBILE, OPEN_ID
from bot.records.database import ERRORS, Tx

PSEUDONYM_PREFIX = "forgotten-"
# Columns whose values are never rewritten: the money records and the keys that join them.
KEPT = frozenset(
    {
        "account_id",
        "order_id",
        "external_id",
        "external_order_id",
        "event_id",
        "message_id",
        "run_id",
        "points",
        "cash",
        "points_delta",
        "cash_delta",
        "withdrawn_points",
        "withdrawn_cash",
        "amount",
        "currency",
        "trans_time",
        "forgotten_as",
    }
)
# Tables rewritten row by row rather than scrubbed: who holds which account is deleted.
HANDLED = frozenset({"account_contacts"})
CHECKPOINT_TRIES = 20


@dataclass
class Person:
    """Everything that identifies one person in the records."""

    accounts: set[str] = field(default_factory=set)
    open_ids: set[str] = field(default_factory=set)
    other_ids: set[str] = field(default_factory=set)  # union_id, user_id
    emails: set[str] = field(default_factory=set)  # as bot.domain.people keys them (lower case)
    mobiles: set[str] = field(default_factory=set)  # digits with the country code
    nationals: set[str] = field(default_factory=set)  # the number without its country code
    names: set[str] = field(default_factory=set)


def any_trace(person: Person) -> bool:
    return bool(
        person.open_ids or person.other_ids or person.emails or person.mobiles or person.names
    )


def pattern(person: Person) -> re.Pattern[str] | None:
    """One expression matching any way the records may write the person's details: emails in
    any case, mobiles with or without `+`, country code and separators, names as they are and
    JSON-escaped (once, or twice inside a message's `content`), IDs whole."""
    alternatives: list[str] = []
    for email in person.emails:
        alternatives += [f"(?i:{re.escape(form)})" for form in _escapes(email)]
    for digits in person.mobiles | person.nationals | _mainland(person.mobiles):
        if len(digits) < 7:  # too short to be told from other numbers
            continue
        spaced = r"[ \-]?".join(digits)
        alternatives.append(rf"(?<!\d)\+?{spaced}(?!\d)")
    for name in person.names:
        if len(name) >= 2:
            word = name.isascii()
            for form in _escapes(name):
                escaped = re.escape(form)
                alternatives.append(rf"(?<!\w){escaped}(?!\w)" if word else escaped)
    for identifier in person.open_ids | person.other_ids:
        if len(identifier) >= 4:
            alternatives.append(rf"(?<![\w-]){re.escape(identifier)}(?![\w-])")
    if not alternatives:
        return None
    # Longest first: "+86 18900001111" as a whole, not its national number inside it.
    alternatives.sort(key=len, reverse=True)
    return re.compile("|".join(alternatives))


def _mainland(keys: set[str]) -> set[str]:
    """The national numbers of mainland mobiles (86 and 11 digits), as cards show them."""
    return {key[2:] for key in keys if len(key) == 13 and key.startswith("861")}


def _escapes(text: str) -> list[str]:
    once = json.dumps(text)[1:-1]
    twice = json.dumps(once)[1:-1]
    return list(dict.fromkeys((text, once, twice)))


def scrub_all(tx: Tx, person: Person, pseudonym: str) -> dict[str, int]:
    """Rewrite the person out of every table; the number of values changed per table."""
    replaced: dict[str, int] = {}
    if person.accounts:
        replaced.update(_forget_accounts(tx, person, pseudonym))
    removed = _forget_contacts(tx, person)
    if removed:
        replaced["account_contacts"] = removed
    found = pattern(person)
    if found is None:
        return replaced
    for table, columns in _text_columns(tx):
        count = _scrub_table(tx, table, columns, found, pseudonym)
        if count:
            replaced[table] = replaced.get(table, 0) + count
    return replaced


def _forget_accounts(tx: Tx, person: Person, pseudonym: str) -> dict[str, int]:
    """An account keeps its ID, status and balance; its contact becomes the pseudonym, and of
    its referrer only the pseudonym stays, as the name (Feishu's is read again when needed)."""
    changed = 0
    for account_id in sorted(person.accounts):
        row = tx.execute(
            "SELECT contact, referrer, forgotten_as FROM accounts WHERE account_id = ?",
            [account_id],
        ).fetchone()
        if row is None:
            continue
        contact = pseudonym if row[0] else None
        referrer = json.dumps({"name_zh": pseudonym, "name_en": pseudonym}) if row[1] else None
        if (contact, referrer, pseudonym) != tuple(row):
            tx.execute(
                "UPDATE accounts SET contact = ?, referrer = ?, forgotten_as = ?"
                " WHERE account_id = ?",
                [contact, referrer, pseudonym, account_id],
            )
            changed += 1
    return {"accounts": changed} if changed else {}


def _forget_contacts(tx: Tx, person: Person) -> int:
    keys = [(OPEN_ID, v) for v in person.open_ids]
    keys += [(EMAIL, v) for v in person.emails] + [(MOBILE, v) for v in person.mobiles]
    removed = 0
    for account_id in person.accounts:
        removed += tx.execute(
            "DELETE FROM account_contacts WHERE account_id = ?", [account_id]
        ).rowcount
    for kind, value in keys:
        removed += tx.execute(
            "DELETE FROM account_contacts WHERE kind = ? AND value = ?", [kind, value]
        ).rowcount
    return removed


def _text_columns(tx: Tx) -> Iterable[tuple[str, list[str]]]:
    """Every table but those handled row by row, with its columns that may hold text."""
    for table in tx.table_names():
        if table in HANDLED or table.startswith("sqlite_") or table == "alembic_version":
            continue
        columns = [
            column.name
            for column in tx[table].columns
            if column.name not in KEPT and column.type.upper() in ("TEXT", "")
        ]
        if columns:
            yield table, columns


def _scrub_table(
    tx: Tx,
    table: str,
    columns: list[str],
    found: re.Pattern[str],
    pseudonym: str,
) -> int:
    key = _key(tx, table)
    selected = ", ".join(f'"{c}"' for c in [*key, *columns])
    where = " AND ".join(f'"{k}" = ?' for k in key)
    changes: list[tuple[tuple, str, str]] = []
    for row in tx.execute(f'SELECT {selected} FROM "{table}"'):
        keys, values = tuple(row[: len(key)]), row[len(key) :]
        for column, value in zip(columns, values, strict=True):
            if isinstance(value, str) and found.search(value):
                changes.append((keys, column, found.sub(pseudonym, value)))
    # A row's key changes last: the other changes find the row by the key it has.
    changes.sort(key=lambda change: change[1] in key)
    for keys, column, value in changes:
        if column in key:
            moved = [value if k == column else old for k, old in zip(key, keys, strict=True)]
            if tx.execute(f'SELECT 1 FROM "{table}" WHERE {where}', moved).fetchone():
                # A key column (the welcomed open_id) takes a value already there: that row
                # stands for this one.
                tx.execute(f'DELETE FROM "{table}" WHERE {where}', list(keys))
                continue
        tx.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE {where}', [value, *keys])
    return len(changes)


def _key(tx: Tx, table: str) -> list[str]:
    """The columns that find one row of the table (SQLite's rowid for a table without a key)."""
    bind = tx.conn if tx.conn is not None else tx._database.engine  # type: ignore[union-attr]
    return sa.inspect(bind).get_pk_constraint(table)["constrained_columns"] or ["rowid"]


def empty_wal(db: Tx) -> bool:
    """Copy SQLite's `-wal` file into the database and cut it to nothing, so no old page of the
    person's is left in it; False when readers kept it from finishing (tried for a while).
    PostgreSQL keeps its write-ahead log itself (recycled as it checkpoints): True."""
    if db.postgres:
        return True
    for _ in range(CHECKPOINT_TRIES):
        try:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except ERRORS:
            busy = 1
        if not busy:
            return True
        time.sleep(0.25)
    return False
