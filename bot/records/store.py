"""The bot's own records in SQLite (through sqlite-utils): known accounts and the audit trail.

The event inbox shares the database file; it lives in `bot/records/inbox.py`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlite_utils

from bot.accounts import Account, AccountRecord, AccountStatus, Cash, Referrer

# Feishu lets an app update the cards it sent for 14 days.
CARD_UPDATE_WINDOW = timedelta(days=13, hours=23)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Database:
    """One SQLite file in WAL mode; each thread gets its own connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._create_schema()

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            # Autocommit: every statement is its own transaction unless `transaction()` opens one.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
            conn.execute("PRAGMA busy_timeout=30000")
            db = self._local.db = sqlite_utils.Database(conn)
        return db

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
        db["accounts"].create(
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
            },
            pk="account_id",
            if_not_exists=True,
        )
        db["events"].create(
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
            },
            pk="event_id",
            if_not_exists=True,
        )
        # Feishu advises de-duplicating message events by message_id as well as event_id.
        db["events"].create_index(["message_id"], unique=True, if_not_exists=True)
        db["events"].create_index(["status"], if_not_exists=True)
        # Which sent messages show which account, so a change can update every such card.
        db["account_cards"].create(
            {"message_id": str, "account_id": str, "chat_id": str, "sent_at": str},
            pk="message_id",
            if_not_exists=True,
        )
        db["account_cards"].create_index(["account_id"], if_not_exists=True)
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
            "cash": json.dumps([[c.currency, str(c.amount)] for c in account.cash]),
            "referrer": json.dumps(asdict(account.referrer)) if account.referrer else None,
            "seen_at": to_iso(seen_at),
        }
        with self._database.transaction() as db:
            existing = db.execute(
                "SELECT contact, registered_by, registered_at FROM accounts WHERE account_id = ?",
                [account.account_id],
            ).fetchone()
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

    def cards_showing(self, account_id: str) -> list[str]:
        """Messages showing this account that Feishu still lets us update (under 14 days)."""
        cutoff = to_iso(utcnow() - CARD_UPDATE_WINDOW)
        rows = self._database.db.execute(
            "SELECT message_id FROM account_cards WHERE account_id = ? AND sent_at > ?"
            " ORDER BY sent_at DESC LIMIT 20",
            [account_id, cutoff],
        ).fetchall()
        return [row[0] for row in rows]


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
