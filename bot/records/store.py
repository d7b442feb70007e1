"""The bot's own records in SQLite (through sqlite-utils): known accounts and the audit trail.

The event inbox shares the database file; it lives in `bot/records/inbox.py`. Every table is
declared here, in one schema, so a database written by an older version gains the new columns
on start.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import sqlite_utils

from bot.domain.accounts import Account, AccountRecord, AccountStatus, Cash, Referrer
from bot.domain.mobiles import Mobile, split_code, with_code
from bot.domain.people import MOBILE, OPEN_ID, contact_keys

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
PROBE_WRITE = "INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)"


class DatabaseUnavailable(sqlite3.Error):
    """The database cannot be opened or written; the message is one line naming the path and
    the cause."""


def open_database(path: str, *, busy_timeout: float = BUSY_TIMEOUT) -> Database:
    """The bot's database as `serve` opens it (and `doctor`, to check it): created with its
    schema when new, then written once, so a file SQLite opens read-only fails here and not at
    the first event. Raises DatabaseUnavailable."""
    try:
        database = Database(path, busy_timeout=busy_timeout)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseUnavailable(f"cannot open the database {path}: {_why(path, exc)}") from None
    try:
        database.db.execute(PROBE_WRITE, [to_iso(utcnow())])
    except sqlite3.Error as exc:
        database.close()
        raise DatabaseUnavailable(f"cannot write the database {path}: {_why(path, exc)}") from None
    return database


def _why(path: str, exc: Exception) -> str:
    """What stops SQLite, in words a deployer can act on (its own is "unable to open database
    file" for most of these)."""
    target = Path(path)
    if target.is_dir():
        return "it is a folder, not a file"
    folder = target.parent
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                return f"{above} is not a folder"
            break
    if not folder.exists():
        return f"the folder {folder} does not exist"
    uid = os.getuid()
    if target.exists() and not os.access(target, os.R_OK | os.W_OK):
        return f"uid {uid} may not write it (owned by uid {target.stat().st_uid})"
    if not os.access(folder, os.W_OK | os.X_OK):
        # SQLite writes its journal (-wal, -shm) beside the file, so the folder must be writable.
        return (
            f"uid {uid} may not write in the folder {folder} (owned by uid {folder.stat().st_uid})"
        )
    return str(exc)


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
            conn.execute(PROBE_WRITE, [to_iso(utcnow())])
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
        create_table(
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
                # The balance last told to the notice chats and the referrer (see AccountBook);
                # NULL in a row from before it was kept: its recorded balance stands for it.
                "told_points": int,
                "told_cash": str,
                # Counts the changes of what a card shows, so a card can tell it fell behind.
                "version": int,
                # The pseudonym of the owner `referral-bot forget` forgot (bot/ops/forget.py): what
                # Feishu reports of them again is not written back.
                "forgotten_as": str,
            },
            pk="account_id",
        )
        create_table(
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
                # How a message event is answered ("interim" or "reply"), decided once, and the
                # message that answers it; see Inbox.claim_answer.
                "answer_via": str,
                "answer_message_id": str,
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
        # Every contact the records learned for an account (see bot/domain/people.py), to find
        # it by.
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
        _upgrade_mobiles(db)
        create_table(
            db,
            "audit",
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
                # What the entry's sentence tells, as JSON (amounts, request number, the owner's
                # name at the time); NULL in a row from before it was kept.
                "facts": str,
            },
            pk="id",
        )
        db["audit"].create_index(["at"], if_not_exists=True)


def create_table(
    db: sqlite_utils.Database, name: str, columns: dict, pk: str | tuple[str, ...]
) -> None:
    """Create a table, or add the columns a database from an older version lacks."""
    table = db[name]
    if not table.exists():
        table.create(columns, pk=pk)
        return
    for column, kind in columns.items():
        if column not in table.columns_dict:
            table.add_column(column, kind)


Balance = tuple[int, tuple[Cash, ...]]  # points, and cash per currency
NOTHING: Balance = (0, ())


class BalanceTeller(Protocol):
    """Who hears of balance changes (`bot.records.notices.NoticeBook`)."""

    def changed(
        self,
        db: sqlite_utils.Database,
        account_id: str,
        before: Balance,
        after: Balance,
        as_of: datetime,
    ) -> bool:
        """Inside the transaction that applies `after`: record the move from `before` (what
        was last told), if any, and queue its telling; True when work was queued."""
        ...

    def wake(self) -> None:
        """After the commit: the telling that was queued may start."""
        ...


class AccountBook:
    """Known referral accounts: who registered them and their last known state.

    Every balance the records take, read (`remember`: a command, a button, the digest, an
    import) or announced by a balance event (`apply_balance`), passes through `_learn`, which
    compares it with the balance last told and has the teller tell the difference in the same
    transaction. So a change is told once whichever way it is learnt first: a read between a
    bonus and its event tells it, and the event, older than that read, changes nothing more.
    An account the records had not seen is told from nothing when a balance event announces
    it; a first read of one (register, import, a lookup) only sets what counts as told, so
    importing 300 existing accounts posts nothing. One baseline serves the notice chats and
    the referrer: both are told from the one recorded change (the referrer only when it grew),
    and a decrease has to lower the referrer's baseline as much as the chats'.
    """

    def __init__(self, database: Database, *, teller: BalanceTeller | None = None) -> None:
        self._database = database
        # Without one (tests, tools that only read), balances are taken and nothing is told.
        self._teller = teller

    def remember(
        self,
        account: Account,
        *,
        seen_at: datetime | None = None,
        contact: str | None = None,
        registered_by: str | None = None,
        announced: bool = False,
    ) -> None:
        """Record an account's state as just read from the Open API. `announced`: a balance
        event named the account, so one the records had not seen is told from nothing."""
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
                "SELECT contact, registered_by, registered_at, referrer, status, points, cash,"
                " told_points, told_cash, version, forgotten_as FROM accounts WHERE account_id = ?",
                [account.account_id],
            ).fetchone()
            forgotten = existing is not None and existing[10] is not None
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
            # A mobile with its code wherever the code can be told (see bot/domain/mobiles.py).
            if not forgotten:
                _link(db, account.account_id, contact_keys(row["contact"]))
            row["contact"] = _coded_contact(row["contact"])
            row["referrer"] = _coded_referrer(db, account.account_id, row["referrer"])
            shown = _shown(
                row["status"], row["points"], row["cash"], row["referrer"], row["contact"]
            )
            if existing is None:
                row["version"] = 1
            else:
                before = _shown(existing[4], existing[5], existing[6], existing[3], existing[0])
                row["version"] = (existing[9] or 0) + (shown != before)
            told = _told(*existing[4:9]) if existing is not None else None
            balance = (account.points, account.cash)
            columns, queued = self._learn(
                db, account.account_id, told, balance, seen_at, announced=announced
            )
            row.update(columns)
            db["accounts"].upsert(row, pk="account_id")
            if not forgotten:
                _link(db, account.account_id, _row_keys(row))
        if queued:
            self._wake()

    def link(self, account_id: str, kind: str, value: str) -> None:
        """Remember that this person (an open_id, email or mobile key) holds this account."""
        with self._database.transaction() as db:
            _link(db, account_id, [(kind, value)])

    def find_by(self, kind: str, value: str) -> list[str]:
        """Accounts linked to this contact (`value` as bot.domain.people keys it), oldest first."""
        rows = self._database.db.execute(
            "SELECT c.account_id FROM account_contacts c JOIN accounts a USING (account_id)"
            " WHERE c.kind = ? AND c.value = ? ORDER BY a.rowid",
            [kind, value],
        ).fetchall()
        return [row[0] for row in rows]

    def apply_balance(
        self, account_id: str, points: int, cash: tuple[Cash, ...], as_of: datetime
    ) -> bool:
        """Take a balance Feishu reported as true at `as_of` (a balance event's modify_time),
        unless the records already hold a balance as of that moment or later (a late
        redelivery of an older event, or a read made since, which told the change already).
        False when ignored, or when the records do not know the account."""
        with self._database.transaction() as db:
            row = db.execute(
                "SELECT seen_at, status, points, cash, told_points, told_cash, version"
                " FROM accounts WHERE account_id = ? AND status IS NOT NULL",
                [account_id],
            ).fetchone()
            if row is None or (row[0] and from_iso(row[0]) >= as_of):
                return False
            columns, queued = self._learn(
                db, account_id, _told(*row[1:6]), (points, cash), as_of, announced=True
            )
            changed = int((points, _cash_json(cash)) != (row[2], row[3]))
            columns["version"] = (row[6] or 0) + changed
            db["accounts"].update(
                account_id,
                {"points": points, "cash": _cash_json(cash), "seen_at": to_iso(as_of), **columns},
            )
        if queued:
            self._wake()
        return True

    def _learn(
        self,
        db: sqlite_utils.Database,
        account_id: str,
        told: Balance | None,
        after: Balance,
        as_of: datetime,
        *,
        announced: bool,
    ) -> tuple[dict, bool]:
        """The one place a balance taken into the records is told: compared with what was
        last told (None: an account not seen before), the difference handed to the teller.
        Returns the told columns to write with the balance, and whether telling was queued."""
        if self._teller is None:
            return {}, False  # nobody to tell: what was told stays as it was
        columns = {"told_points": after[0], "told_cash": _cash_json(after[1])}
        if told is None and not announced:
            return columns, False  # a first read: from now on, what counts as told
        before = told if told is not None else NOTHING
        return columns, self._teller.changed(db, account_id, before, after, as_of)

    def _wake(self) -> None:
        if self._teller is not None:
            self._teller.wake()

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


def _shown(status, points, cash, referrer: str | None, contact: str | None) -> tuple:
    """What an account card shows of a row, to tell whether a write changed it."""
    return (status, points or 0, json.loads(cash or "[]"), json.loads(referrer or "null"), contact)


def _known_mobiles(db: sqlite_utils.Database, account_id: str) -> list[Mobile]:
    """The mobiles with a code the records link to this account."""
    rows = db.execute(
        "SELECT value FROM account_contacts WHERE account_id = ? AND kind = ?",
        [account_id, MOBILE],
    ).fetchall()
    return [m for m in (split_code(row[0]) for row in rows) if m is not None]


def _coded_contact(contact: str | None) -> str | None:
    """A mobile contact as "+<code> <number>"; an email as it is."""
    if not contact or "@" in contact:
        return contact
    return with_code(contact)


def _coded_referrer(db: sqlite_utils.Database, account_id: str, referrer: str | None) -> str | None:
    """The referrer's JSON with its mobile as "+<code> <number>": the code as Feishu wrote it,
    86 for a bare mainland number, or that of a mobile the records link to the account with
    the same number (Feishu may give the number alone)."""
    data = json.loads(referrer) if referrer else None
    if not data or not data.get("mobile"):
        return referrer
    coded = with_code(data["mobile"], _known_mobiles(db, account_id))
    if coded == data["mobile"]:
        return referrer
    return json.dumps({**data, "mobile": coded})


def _upgrade_mobiles(db: sqlite_utils.Database) -> None:
    """Rows written before mobiles kept their code gain it where it can be told (not those of
    a forgotten person: their contact is a pseudonym, and nothing may link to it again)."""
    rows = db.execute(
        "SELECT account_id, contact, referrer FROM accounts WHERE forgotten_as IS NULL"
    ).fetchall()
    for account_id, contact, referrer in rows:
        _link(db, account_id, contact_keys(contact))
        coded_contact = _coded_contact(contact)
        coded_referrer = _coded_referrer(db, account_id, referrer)
        if (coded_contact, coded_referrer) == (contact, referrer):
            continue
        db.execute(
            "UPDATE accounts SET contact = ?, referrer = ?, version = COALESCE(version, 0) + 1"
            " WHERE account_id = ?",
            [coded_contact, coded_referrer, account_id],
        )
        _link(db, account_id, _row_keys({"contact": coded_contact, "referrer": coded_referrer}))


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


def _cash(text: str | None) -> tuple[Cash, ...]:
    return tuple(Cash(cur, Decimal(amount)) for cur, amount in json.loads(text or "[]"))


def _told(
    status: int | None,
    points: int | None,
    cash: str | None,
    told_points: int | None,
    told_cash: str | None,
) -> Balance | None:
    """What was last told of an account; None when its balance was never known. A row from
    before the told balance was kept counts its recorded balance as told."""
    if told_points is not None:
        return told_points, _cash(told_cash)
    if status is None:
        return None
    return points or 0, _cash(cash)


def _record(row: dict) -> AccountRecord:
    account = None
    if row["status"] is not None:
        referrer = json.loads(row["referrer"]) if row["referrer"] else None
        account = Account(
            account_id=row["account_id"],
            status=AccountStatus(row["status"]),
            points=row["points"] or 0,
            cash=_cash(row["cash"]),
            referrer=Referrer(**referrer) if referrer else None,
        )
    return AccountRecord(
        account_id=row["account_id"],
        contact=row["contact"],
        registered_by=row["registered_by"],
        account=account,
        seen_at=from_iso(row["seen_at"]),
        version=row.get("version") or 0,
    )


# Entries in the order their acts began (an entry can be written after a later act's).
AUDIT_ORDER = "at, id"


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
        facts: Mapping[str, object] | None = None,
        at: datetime | None = None,
    ) -> None:
        """One entry: `action`, `outcome` and `detail` are codes for machines; `facts` what its
        sentence tells; `at` when the act began (now when not given; the audit is read in this
        order). The account's owner, as the records name them now, is kept with it."""
        facts = dict(facts or {})
        if account_id and "owner" not in facts:
            owner = self._owner(account_id)
            if owner is not None:
                facts["owner"] = owner
        self._database.db["audit"].insert(
            {
                "at": to_iso(at or utcnow()),
                "actor": actor,
                "action": action,
                "account_id": account_id,
                "outcome": outcome,
                "detail": detail,
                "via": via,
                "chat_id": chat_id,
                "facts": json.dumps(facts, ensure_ascii=False, default=str) if facts else None,
            }
        )

    def _owner(self, account_id: str) -> dict[str, str] | None:
        """The referrer's names (each language, the other when one is missing), else the
        contact the account was registered with; None when the records know neither."""
        row = self._database.db.execute(
            "SELECT referrer, contact FROM accounts WHERE account_id = ?", [account_id]
        ).fetchone()
        if row is None:
            return None
        referrer = json.loads(row[0]) if row[0] else {}
        en, zh = referrer.get("name_en"), referrer.get("name_zh")
        if en or zh:
            return {"en": en or zh, "zh": zh or en}
        return {"en": row[1], "zh": row[1]} if row[1] else None

    def entries(self) -> list[dict]:
        """Every entry, in the order of their acts."""
        return list(self._database.db["audit"].rows_where(order_by=AUDIT_ORDER))


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
