"""The bot's own records in SQLite (through sqlite-utils): known accounts and the audit trail.

The event inbox shares the database file; it lives in `bot/records/inbox.py`. Every table is
declared here, in one schema, so a database written by an older version gains the new columns
on start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlite_utils

from bot.accounts import Account, AccountRecord, AccountStatus, Cash, Referrer
from bot.people import OPEN_ID, contact_keys

# Feishu lets an app update the cards it sent for 14 days.
CARD_UPDATE_WINDOW = timedelta(days=13, hours=23)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# How long a statement waits for another connection's write lock before failing.
BUSY_TIMEOUT = 30.0
# The health probe must answer quickly, whatever holds the lock.
PROBE_TIMEOUT = 1.0


class Database:
    """One SQLite file in WAL mode; each thread gets its own connection."""

    def __init__(self, path: str, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._create_schema()

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = self._connect(self.busy_timeout)
            db = self._local.db = sqlite_utils.Database(conn)
        return db

    def _connect(self, timeout: float) -> sqlite3.Connection:
        # Autocommit: every statement is its own transaction unless `transaction()` opens one.
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
        return conn

    def probe_write(self) -> str | None:
        """Write one row on a fresh connection with a short timeout; None when the database
        takes writes, else a short reason (locked, disk full, I/O error)."""
        try:
            conn = sqlite3.connect(self.path, timeout=PROBE_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            return f"database cannot be opened: {exc}"
        try:
            conn.execute(f"PRAGMA busy_timeout={int(PROBE_TIMEOUT * 1000)}")
            conn.execute(
                "INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)", [to_iso(utcnow())]
            )
        except sqlite3.Error as exc:
            return f"database cannot be written: {exc}"
        finally:
            conn.close()
        return None

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """An IMMEDIATE transaction: taken before reading, so two processes cannot interleave."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def _create_schema(self) -> None:
        db = self.db
        _create(
            db,
            "accounts",
            {
                "account_id": str,
                "contact": str,
                "registered_by": str,
                "registered_at": str,
                "status": int,
                "points": int,
                "cash": str,
                "referrer": str,
                "seen_at": str,
                # The pseudonym of the owner `referral-bot forget` forgot (bot/forget.py): what
                # Feishu reports of them again is not written back.
                "forgotten_as": str,
            },
            pk="account_id",
        )
        _create(
            db,
            "events",
            {
                "event_id": str,
                "event_type": str,
                "message_id": str,
                "payload": str,
                "status": str,
                "attempts": int,
                "owner": str,
                "not_before": str,
                "reply": str,
                "error": str,
                "received_at": str,
                "updated_at": str,
                # When work that must not run twice (a create) was begun; see Inbox.begin_once.
                "once_started_at": str,
            },
            pk="event_id",
        )
        # Feishu advises de-duplicating message events by message_id as well as event_id.
        db["events"].create_index(["message_id"], unique=True, if_not_exists=True)
        db["events"].create_index(["status"], if_not_exists=True)
        db["events"].create_index(["updated_at"], if_not_exists=True)
        # Each live process beats here; a claim or lease whose owner stopped beating is free.
        db["owners"].create(
            {"owner": str, "host": str, "pid": int, "started_at": str, "beat_at": str},
            pk="owner",
            if_not_exists=True,
        )
        db["health_probe"].create({"id": int, "at": str}, pk="id", if_not_exists=True)
        # Who has had the welcome (the usage card on first opening the chat with the bot).
        db["welcomed"].create(
            {"open_id": str, "event_id": str, "at": str}, pk="open_id", if_not_exists=True
        )
        # Which sent messages show which account, so a change can update every such card.
        db["account_cards"].create(
            {"message_id": str, "account_id": str, "chat_id": str, "sent_at": str},
            pk="message_id",
            if_not_exists=True,
        )
        db["account_cards"].create_index(["account_id"], if_not_exists=True)
        db["account_cards"].create_index(["sent_at"], if_not_exists=True)
        # Every contact the records learned for an account (see bot/people.py), to find it by.
        backfill = not db["account_contacts"].exists()
        db["account_contacts"].create(
            {"kind": str, "value": str, "account_id": str},
            pk=("kind", "value", "account_id"),
            if_not_exists=True,
        )
        db["account_contacts"].create_index(["account_id"], if_not_exists=True)
        if backfill:  # a database from before contacts were kept: learn them from its rows
            for row in db["accounts"].rows:
                _link(db, row["account_id"], _row_keys(row))
        db["audit"].create(
            {
                "id": int,
                "at": str,
                "actor": str,
                "action": str,
                "account_id": str,
                "outcome": str,
                "detail": str,
                "via": str,
                "chat_id": str,
            },
            pk="id",
            if_not_exists=True,
        )


def _create(db: sqlite_utils.Database, name: str, columns: dict, pk: str) -> None:
    """Create a table, or add the columns a database from an older version lacks."""
    table = db[name]
    if not table.exists():
        table.create(columns, pk=pk)
        return
    for column, kind in columns.items():
        if column not in table.columns_dict:
            table.add_column(column, kind)


class AccountBook:
    """Known referral accounts: who registered them and their last known state."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def remember(
        self,
        account: Account,
        *,
        seen_at: datetime | None = None,
        contact: str | None = None,
        registered_by: str | None = None,
    ) -> None:
        """Record an account's state as just read from the Open API."""
        seen_at = seen_at or utcnow()
        row = {
            "account_id": account.account_id,
            "status": int(account.status),
            "points": account.points,
            "cash": _cash_json(account.cash),
            "referrer": json.dumps(asdict(account.referrer)) if account.referrer else None,
            "seen_at": to_iso(seen_at),
        }
        with self._database.transaction() as db:
            existing = db.execute(
                "SELECT contact, registered_by, registered_at, referrer, forgotten_as"
                " FROM accounts WHERE account_id = ?",
                [account.account_id],
            ).fetchone()
            forgotten = existing is not None and existing[4] is not None
            if existing is not None and (row["referrer"] is None or forgotten):
                # enable and deactivate answer without the referrer: keep the one we know. A
                # forgotten owner's details, read from Feishu again, are not kept either.
                row["referrer"] = existing[3]
            if existing is None:
                row.update(
                    contact=contact, registered_by=registered_by, registered_at=row["seen_at"]
                )
            else:
                row.update(
                    contact=existing[0] or contact,
                    registered_by=existing[1] or registered_by,
                    registered_at=existing[2],
                )
            db["accounts"].upsert(row, pk="account_id")
            if not forgotten:
                _link(db, account.account_id, _row_keys(row))

    def link(self, account_id: str, kind: str, value: str) -> None:
        """Remember that this person (an open_id, email or mobile key) holds this account."""
        with self._database.transaction() as db:
            _link(db, account_id, [(kind, value)])

    def find_by(self, kind: str, value: str) -> list[str]:
        """Accounts linked to this contact (`value` as bot.people keys it), oldest first."""
        rows = self._database.db.execute(
            "SELECT c.account_id FROM account_contacts c JOIN accounts a USING (account_id)"
            " WHERE c.kind = ? AND c.value = ? ORDER BY a.rowid",
            [kind, value],
        ).fetchall()
        return [row[0] for row in rows]

    def apply_balance(
        self,
        account_id: str,
        points: int,
        cash: tuple[Cash, ...],
        as_of: datetime,
        *,
        then: Callable[[sqlite_utils.Database, tuple[int, tuple[Cash, ...]]], None] | None = None,
    ) -> bool:
        """Take a balance Feishu reported as true at `as_of` (a balance event's modify_time),
        unless the records already hold a balance as of that moment or later (a late
        redelivery of an older event, or a read made since). False when ignored or unknown.
        `then(db, (points, cash) before)` runs in the same transaction (recording the change)."""
        with self._database.transaction() as db:
            row = db.execute(
                "SELECT seen_at, points, cash FROM accounts WHERE account_id = ?"
                " AND status IS NOT NULL",
                [account_id],
            ).fetchone()
            if row is None or (row[0] and from_iso(row[0]) >= as_of):
                return False
            db.execute(
                "UPDATE accounts SET points = ?, cash = ?, seen_at = ? WHERE account_id = ?",
                [points, _cash_json(cash), to_iso(as_of), account_id],
            )
            if then is not None:
                before = tuple(
                    Cash(cur, Decimal(amount)) for cur, amount in json.loads(row[2] or "[]")
                )
                then(db, (row[1] or 0, before))
            return True

    def get(self, account_id: str) -> AccountRecord | None:
        rows = list(self._database.db["accounts"].rows_where("account_id = ?", [account_id]))
        return _record(rows[0]) if rows else None

    def all(self) -> list[AccountRecord]:
        return [_record(row) for row in self._database.db["accounts"].rows_where(order_by="rowid")]

    def count(self) -> int:
        return self._database.db["accounts"].count

    def note_card(self, message_id: str, account_id: str, chat_id: str | None) -> None:
        """A card showing this account was sent as `message_id`."""
        self._database.db["account_cards"].upsert(
            {
                "message_id": message_id,
                "account_id": account_id,
                "chat_id": chat_id,
                "sent_at": to_iso(utcnow()),
            },
            pk="message_id",
        )

    def forget_old_cards(self) -> int:
        """Drop the note of cards Feishu no longer lets us update."""
        cutoff = to_iso(utcnow() - CARD_UPDATE_WINDOW)
        return self._database.db.execute(
            "DELETE FROM account_cards WHERE sent_at <= ?", [cutoff]
        ).rowcount

    def cards_showing(self, account_id: str) -> list[str]:
        """Messages showing this account that Feishu still lets us update (under 14 days)."""
        cutoff = to_iso(utcnow() - CARD_UPDATE_WINDOW)
        rows = self._database.db.execute(
            "SELECT message_id FROM account_cards WHERE account_id = ? AND sent_at > ?"
            " ORDER BY sent_at DESC LIMIT 20",
            [account_id, cutoff],
        ).fetchall()
        return [row[0] for row in rows]


def _link(db: sqlite_utils.Database, account_id: str, keys: list[tuple[str, str]]) -> None:
    for kind, value in keys:
        if value:
            db.execute(
                "INSERT OR IGNORE INTO account_contacts (kind, value, account_id) VALUES (?, ?, ?)",
                [kind, value, account_id],
            )


def _row_keys(row: dict) -> list[tuple[str, str]]:
    """The contacts an accounts row holds: registered with, and the referrer's."""
    keys = contact_keys(row.get("contact"))
    referrer = json.loads(row["referrer"]) if row.get("referrer") else {}
    if referrer.get("id"):
        keys.append((OPEN_ID, referrer["id"]))
    return keys + contact_keys(referrer.get("email")) + contact_keys(referrer.get("mobile"))


def _cash_json(cash: tuple[Cash, ...]) -> str:
    return json.dumps([[c.currency, str(c.amount)] for c in cash])


def _record(row: dict) -> AccountRecord:
    account = None
    if row["status"] is not None:
        referrer = json.loads(row["referrer"]) if row["referrer"] else None
        account = Account(
            account_id=row["account_id"],
            status=AccountStatus(row["status"]),
            points=row["points"] or 0,
            cash=tuple(
                Cash(cur, Decimal(amount)) for cur, amount in json.loads(row["cash"] or "[]")
            ),
            referrer=Referrer(**referrer) if referrer else None,
        )
    return AccountRecord(
        account_id=row["account_id"],
        contact=row["contact"],
        registered_by=row["registered_by"],
        account=account,
        seen_at=from_iso(row["seen_at"]),
    )


class AuditLog:
    """Every attempted action, allowed or refused: who, when, what, which account, outcome."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def record(
        self,
        *,
        actor: str | None,
        action: str,
        outcome: str,
        account_id: str | None = None,
        detail: str | None = None,
        via: str = "command",
        chat_id: str | None = None,
    ) -> None:
        self._database.db["audit"].insert(
            {
                "at": to_iso(utcnow()),
                "actor": actor,
                "action": action,
                "account_id": account_id,
                "outcome": outcome,
                "detail": detail,
                "via": via,
                "chat_id": chat_id,
            }
        )

    def entries(self) -> list[dict]:
        return list(self._database.db["audit"].rows_where(order_by="id"))


class Welcomes:
    """The usage card goes to each person once, the first time they open the chat."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def take(self, open_id: str, event_id: str) -> bool:
        """True when this event is the one that welcomes the person (first, or its retry)."""
        self._database.db.execute(
            "INSERT OR IGNORE INTO welcomed (open_id, event_id, at) VALUES (?, ?, ?)",
            [open_id, event_id, to_iso(utcnow())],
        )
        row = self._database.db.execute(
            "SELECT event_id FROM welcomed WHERE open_id = ?", [open_id]
        ).fetchone()
        return row is not None and row[0] == event_id
